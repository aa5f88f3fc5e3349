// Type tests, checked by `tsc -p tsconfig.json` (npm run typecheck); never executed.
import { describe, expectTypeOf, it } from 'vitest'
import type {
  CloseInfo,
  ConnectionState,
  Envelope,
  ReconnectingSocket,
  SocketSnapshot,
} from '../../src/index.ts'
import { heartbeat } from '../../src/index.ts'
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
    const s = useSocket<ChatSchema>('ws://x', { heartbeat: heartbeat() }, [1])
    expectTypeOf(s).toEqualTypeOf<ReconnectingSocket<ChatSchema>>()
    s.send('chat', { text: 'hi' })
    // @ts-expect-error: not an outgoing type
    s.send('presence', { online: [] })
    // @ts-expect-error: wrong payload
    s.send('chat', { text: 1 })
  })

  it('useSocket takes the hook option transferQueue besides the socket options', () => {
    useSocket<ChatSchema>('ws://x', { transferQueue: false, autoConnect: false }, ['room'])
    // @ts-expect-error: a boolean
    useSocket('ws://x', { transferQueue: 'no' })
    // @ts-expect-error: not an option
    useSocket('ws://x', { transferQueues: false })
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
    expectTypeOf(useSocketState(socket, (s) => s.state)).toEqualTypeOf<ConnectionState>()
    expectTypeOf(useSocketState(socket, (s) => s.lastClose)).toEqualTypeOf<CloseInfo | null>()
    // @ts-expect-error: not a field of the snapshot
    useSocketState(socket, (s) => s.status)
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
