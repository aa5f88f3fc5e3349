import { expect, vi } from 'vitest'
import {
  ReconnectingSocket,
  type ReliableOptions,
  reliable,
  type SocketOptions,
} from '../../src/index.ts'
import {
  type FakeWebSocket,
  type FakeWebSocketFactory,
  fakeWebSocketFactory,
} from './fake-websocket.ts'
import type { unitHarness } from './unit-harness.ts'

// A scripted reliable-mode server for unit tests: the fake socket plays the server, the fake
// clock the time, so every frame the client writes and every decision it makes is exact.

export const RELIABLE_URL = 'ws://reliable.test/'

/** A frame the client wrote, parsed. */
export interface Sent {
  type: string
  seq?: number
  ack?: number
  id?: string
  data?: unknown
}

/** The envelopes the client wrote on `ws`, parsed (binary frames and plain text left out). */
export function sent(ws: FakeWebSocket): Sent[] {
  return ws.sent
    .filter((frame): frame is string => typeof frame === 'string' && frame.startsWith('{'))
    .map((frame) => JSON.parse(frame) as Sent)
}

/** The application frames written on `ws` (everything but `$` frames). */
export function appFrames(ws: FakeWebSocket): Sent[] {
  return sent(ws).filter((frame) => !frame.type.startsWith('$'))
}

/** The `$ack` frames written on `ws`. */
export function acks(ws: FakeWebSocket): Sent[] {
  return sent(ws).filter((frame) => frame.type === '$ack')
}

/** The server's `$session` answer. */
export function session(ws: FakeWebSocket, data: Record<string, unknown>): void {
  ws.receive({ type: '$session', data })
}

export type Harness = ReturnType<typeof unitHarness>

/** A socket in the reliable mode on fake sockets, not connected yet; retries after 100 ms. */
export function setupReliable(
  harness: Harness,
  rel: ReliableOptions = {},
  options: SocketOptions = {},
): { fake: FakeWebSocketFactory; socket: ReconnectingSocket } {
  const fake = fakeWebSocketFactory()
  const socket = harness.track(
    new ReconnectingSocket(RELIABLE_URL, {
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      retry: () => 100,
      reliable: reliable(rel),
      ...options,
    }),
  )
  return { fake, socket }
}

/** Connects, opens, and answers `$hello` with a new session `sid`. */
export function startReliable(
  harness: Harness,
  rel: ReliableOptions = {},
  options: SocketOptions = {},
  sid = 's1',
): { fake: FakeWebSocketFactory; socket: ReconnectingSocket; ws: FakeWebSocket } {
  const { fake, socket } = setupReliable(harness, rel, options)
  socket.connect()
  fake.last().open()
  session(fake.last(), { sid, resumed: false, in: 0, out: 0 })
  expect(socket.state).toBe('open')
  return { fake, socket, ws: fake.last() }
}

/** Cuts the connection (1006) and lets the retry (100 ms) open the next one. */
export function cutAndReopen(fake: FakeWebSocketFactory): FakeWebSocket {
  const old = fake.last()
  if (old.readyState < 2) old.serverClose(1006)
  vi.advanceTimersByTime(100)
  const next = fake.last()
  expect(next).not.toBe(old)
  next.open()
  return next
}

/** Lets promise chains (token providers, request outcomes) run under fake timers. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}
