// @vitest-environment node
// A server has no `window` and no `location`: a path URL cannot be resolved, and nothing
// may connect or throw while rendering.
import { StrictMode } from 'react'
import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { useSocket, useSocketState } from '../../src/react/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'

describe('server-side rendering', () => {
  it("renders useSocket('/ws') + useSocketState as an idle socket, opening nothing", () => {
    expect(typeof (globalThis as { location?: unknown }).location).toBe('undefined')
    const fake = fakeWebSocketFactory()
    function Status() {
      const socket = useSocket('/ws', { WebSocket: fake.WebSocket })
      const snapshot = useSocketState(socket)
      const state = useSocketState(socket, (s) => s.state)
      const { attempt, online, queuedMessages } = snapshot
      return (
        <p>{`${state} · attempt ${attempt} · ${online ? 'online' : 'offline'} · queued ${queuedMessages}`}</p>
      )
    }
    const html = renderToString(
      <StrictMode>
        <Status />
      </StrictMode>,
    )
    expect(html).toBe('<p>idle · attempt 0 · online · queued 0</p>')
    expect(fake.sockets).toHaveLength(0)
  })
})
