// Type tests, checked by `tsc -p tsconfig.json` (npm run typecheck); never executed.
import { describe, expectTypeOf, it } from 'vitest'
import type { Envelope, ReconnectingSocket, SocketSnapshot } from '../../src/index.ts'
import {
  useMessage,
  useSocket,
  useSocketContext,
  useSocketEvent,
  useSocketState,
} from '../../src/react/index.ts'

interface ChatSchema {
  incoming: { chat: { from: string; text: string }; presence: { online: string[] } }
  outgoing: { chat: { text: string } }
  requests: { history: { request: { room: string }; response: { text: string }[] } }
}

declare const socket: ReconnectingSocket<ChatSchema>

describe('react hooks types', () => {
  it('useSocket carries the schema', () => {
    const s = useSocket<ChatSchema>('ws://x', { heartbeat: true }, [1])
    expectTypeOf(s).toEqualTypeOf<ReconnectingSocket<ChatSchema>>()
    s.send('chat', { text: 'hi' })
    // @ts-expect-error: not an outgoing type
    s.send('presence', { online: [] })
    // @ts-expect-error: wrong payload
    s.send('chat', { text: 1 })
  })

  it('useMessage infers the payload from the socket and the type name', () => {
    useMessage(socket, 'chat', (data, envelope) => {
      expectTypeOf(data).toEqualTypeOf<{ from: string; text: string }>()
      expectTypeOf(envelope).toEqualTypeOf<Envelope>()
    })
    useMessage(socket, 'presence', (data) => {
      expectTypeOf(data.online).toEqualTypeOf<string[]>()
    })
    // @ts-expect-error: not an incoming type
    useMessage(socket, 'typing', () => {})
    // @ts-expect-error: the handler expects the wrong payload
    useMessage(socket, 'chat', (data: { text: number }) => data)
  })

  it('useSocketState returns the snapshot; useSocketEvent types the payload', () => {
    expectTypeOf(useSocketState(socket)).toEqualTypeOf<SocketSnapshot>()
    useSocketEvent(socket, 'close', (event) => {
      expectTypeOf(event.code).toEqualTypeOf<number>()
      expectTypeOf(event.willReconnect).toEqualTypeOf<boolean>()
    })
    useSocketEvent(socket, 'reconnecting', (event) => {
      expectTypeOf(event.delayMs).toEqualTypeOf<number | null>()
    })
    // @ts-expect-error: no such event
    useSocketEvent(socket, 'opened', () => {})
  })

  it('useSocketContext takes the schema by name', () => {
    expectTypeOf(useSocketContext<ChatSchema>()).toEqualTypeOf<ReconnectingSocket<ChatSchema>>()
  })
})
