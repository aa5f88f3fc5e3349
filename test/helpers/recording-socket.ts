import {
  type Envelope,
  ReconnectingSocket,
  requests,
  type SocketError,
  type SocketEvents,
  type SocketOptions,
} from '../../src/index.ts'
import { type FakeWebSocket, fakeWebSocketFactory } from './fake-websocket.ts'

/**
 * A socket on the fake WebSocket, not yet connected, that records its `error`, `message` and
 * `unhandled` events; `open()` connects it and opens the native socket.
 */
export function recordingSocket(url: string, options: SocketOptions = {}) {
  const fake = fakeWebSocketFactory()
  const socket = new ReconnectingSocket(url, {
    WebSocket: fake.WebSocket,
    network: false,
    autoConnect: false,
    retry: () => 100,
    requests: requests(),
    ...options,
  })
  const errors: SocketError[] = []
  const messages: SocketEvents['message'][] = []
  const unhandled: Envelope[] = []
  socket.on('error', (error) => errors.push(error))
  socket.on('message', (event) => messages.push(event))
  socket.on('unhandled', (envelope) => unhandled.push(envelope))
  /** Connects and opens; returns the open native socket. */
  const open = (): FakeWebSocket => {
    socket.connect()
    fake.last().open()
    return fake.last()
  }
  return { fake, socket, errors, messages, unhandled, open }
}

/** The id of the request of `type` that went out on `ws`. */
export function idOf(ws: FakeWebSocket, type: string): string {
  const id = ws.sentEnvelopes.find((e) => e.type === type && e.id !== undefined)?.id
  if (id === undefined) throw new Error(`no "${type}" request was sent`)
  return id
}
