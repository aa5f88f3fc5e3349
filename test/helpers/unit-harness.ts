import { afterEach, beforeEach, expect, vi } from 'vitest'
import { type ReconnectingSocket, SocketError, type SocketEventName } from '../../src/index.ts'

/**
 * Fake timers for each test, every socket closed after it, and the test failed on any
 * `error` event nobody expected. That last part matters: an `expect` that throws inside
 * an event listener is caught by the socket and reported as `error`, so without this
 * check a failing assertion in a listener would pass silently.
 */
export function unitHarness(): {
  /** Registers a socket: closed after the test, its `error` events collected. */
  track<T extends ReconnectingSocket>(socket: T): T
  /** The errors so far; a test that expects some removes them with `expectErrors`. */
  errors(): SocketError[]
  /** Removes and returns the collected errors that match, so the final check passes. */
  expectErrors(match: (error: SocketError) => boolean): SocketError[]
} {
  let errors: SocketError[] = []
  let sockets: ReconnectingSocket[] = []
  beforeEach(() => {
    vi.useFakeTimers()
    errors = []
    sockets = []
  })
  afterEach(() => {
    for (const socket of sockets) socket.close()
    vi.useRealTimers()
    expect(errors).toEqual([])
  })
  return {
    track(socket) {
      sockets.push(socket)
      socket.on('error', (error) => errors.push(error))
      return socket
    },
    errors: () => errors,
    expectErrors(match) {
      const matched = errors.filter(match)
      errors = errors.filter((error) => !match(error))
      return matched
    },
  }
}

/** Every lifecycle event of a socket, for tests that record all of them. */
export const EVENT_NAMES: readonly SocketEventName[] = [
  'state',
  'open',
  'close',
  'reconnecting',
  'error',
  'message',
  'unhandled',
  'drop',
  'heartbeat',
]

/** Runs `fn` and asserts it threw a `SocketError` with this code (and message, if given). */
export function expectSocketError(
  fn: () => unknown,
  code: SocketError['code'],
  message?: string | RegExp,
): SocketError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(SocketError)
  const error = caught as SocketError
  expect(error.code).toBe(code)
  if (message !== undefined) expect(error.message).toMatch(message)
  return error
}

/** mulberry32: a tiny seeded PRNG, so jitter in tests is exact and reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), state | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
