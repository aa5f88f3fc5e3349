import { describe, expect, it, vi } from 'vitest'
import { systemClock, TimerSlot } from '../../src/clock.ts'
import {
  type AuthOptions,
  auth,
  heartbeat,
  ReconnectingSocket,
  requests,
  type SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { expectSocketError, unitHarness } from '../helpers/unit-harness.ts'

// Host timers (and vitest's fake ones, which copy them) take a signed 32-bit delay: anything
// from 2^31 ms (24.8 days) up, and Infinity, fires after 1 ms instead.
const MAX_TIMER_MS = 2 ** 31 - 1
const DAY_MS = 86_400_000
const ENDPOINT = 'wss://api.example.test/live'

const h = unitHarness()

/** The token flow is a chain of promises; real microtasks run under fake timers. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

function setup(options: SocketOptions = {}) {
  const fake = fakeWebSocketFactory()
  const socket = h.track(
    new ReconnectingSocket(ENDPOINT, {
      requests: requests(),
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      retry: () => 1000,
      ...options,
    }),
  )
  return { fake, socket }
}

describe('TimerSlot', () => {
  it.each([
    ['2^31 ms', 2 ** 31],
    ['30 days', 30 * DAY_MS],
    ['a thousand years', 1000 * 365 * DAY_MS],
  ])('waits the whole of %s, not 1 ms', async (_, delayMs) => {
    const slot = new TimerSlot(systemClock)
    const fired = vi.fn()
    slot.set(fired, delayMs)
    await vi.advanceTimersByTimeAsync(Math.min(delayMs - 1, 100 * DAY_MS))
    expect(fired).not.toHaveBeenCalled()
    expect(slot.armed).toBe(true)
    expect(vi.getTimerCount()).toBe(1)
    slot.clear()
    expect(slot.armed).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('fires a chained delay exactly once, at its deadline', async () => {
    const slot = new TimerSlot(systemClock)
    const fired = vi.fn()
    slot.set(fired, 2 ** 31 + 5000)
    await vi.advanceTimersByTimeAsync(2 ** 31 + 4999)
    expect(fired).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(fired).toHaveBeenCalledTimes(1)
    expect(slot.armed).toBe(false)
    await vi.advanceTimersByTimeAsync(10 * MAX_TIMER_MS)
    expect(fired).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('re-checks the wall clock between links: a machine that slept past the deadline fires', async () => {
    const slot = new TimerSlot(systemClock)
    const fired = vi.fn()
    slot.set(fired, 60 * DAY_MS)
    await vi.advanceTimersByTimeAsync(DAY_MS)
    expect(fired).not.toHaveBeenCalled()
    // The host's timers did not run while it slept; its clock did.
    vi.setSystemTime(Date.now() + 59 * DAY_MS)
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS - DAY_MS - 1)
    expect(fired).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(fired).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('never fires for Infinity, arms no host timer, and still counts as armed until cleared', async () => {
    const slot = new TimerSlot(systemClock)
    const fired = vi.fn()
    slot.set(fired, Infinity)
    expect(slot.armed).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(10 * MAX_TIMER_MS)
    expect(fired).not.toHaveBeenCalled()
    slot.clear()
    expect(slot.armed).toBe(false)
  })

  it('re-arming a chained slot replaces it', async () => {
    const slot = new TimerSlot(systemClock)
    const first = vi.fn()
    const second = vi.fn()
    slot.set(first, 40 * DAY_MS)
    // Past the first link of the chain, into the second.
    await vi.advanceTimersByTimeAsync(25 * DAY_MS)
    expect(first).not.toHaveBeenCalled()
    slot.set(second, 1000)
    await vi.advanceTimersByTimeAsync(50 * DAY_MS)
    expect(first).not.toHaveBeenCalled()
    expect(second).toHaveBeenCalledTimes(1)
  })
})

describe('a token that expires in 30 days', () => {
  it.each(['message', 'query'] as const)(
    "'%s' placement: no renewal storm, one renewal renewBeforeMs ahead of expiry",
    async (placement) => {
      let calls = 0
      const authOptions: AuthOptions = {
        placement,
        getToken: () => ({ token: `tok-${++calls}`, expiresAt: Date.now() + 30 * DAY_MS }),
      }
      const { fake, socket } = setup({ auth: auth(authOptions) })
      socket.connect()
      await settle()
      fake.last().open()
      const authFrames = () => fake.sockets.flatMap((ws) => ws.sentEnvelopes).length
      for (let step = 0; step < 8; step++) {
        await vi.advanceTimersByTimeAsync(250)
        await settle()
        if (fake.last().readyState === 0) fake.last().open()
      }
      expect(calls).toBe(1)
      expect(fake.sockets).toHaveLength(1)
      expect(authFrames()).toBe(placement === 'message' ? 1 : 0)

      // Renewal is due 30 s (the default renewBeforeMs) before expiry.
      await vi.advanceTimersByTimeAsync(30 * DAY_MS - 30_000 - 2000 - 1)
      await settle()
      expect(calls).toBe(1)
      await vi.advanceTimersByTimeAsync(1)
      await settle()
      if (fake.last().readyState === 0) fake.last().open()
      expect(calls).toBe(2)
      expect(socket.state).toBe('open')
      expect(fake.sockets).toHaveLength(placement === 'message' ? 1 : 2)
      expect(authFrames()).toBe(placement === 'message' ? 2 : 0)
    },
  )
})

describe('connectTimeoutMs', () => {
  it('2^31 ms waits 2^31 ms, not 1 ms, before CONNECT_TIMEOUT', async () => {
    const { fake, socket } = setup({ connectTimeoutMs: 2 ** 31 })
    socket.connect()
    await vi.advanceTimersByTimeAsync(DAY_MS)
    expect(h.errors()).toEqual([])
    expect(socket.state).toBe('connecting')
    expect(fake.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(2 ** 31 - DAY_MS)
    expect(h.expectErrors((e) => e.code === 'CONNECT_TIMEOUT')).toHaveLength(1)
    expect(socket.state).toBe('reconnecting')
  })

  it('Infinity means no timeout: an attempt may take a year', async () => {
    const { fake, socket } = setup({ connectTimeoutMs: Infinity })
    socket.connect()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(365 * DAY_MS)
    expect(socket.state).toBe('connecting')
    fake.last().open()
    expect(socket.state).toBe('open')
  })
})

describe('auth.timeoutMs', () => {
  it('Infinity lets the provider take as long as it needs', async () => {
    let resolve: ((token: string) => void) | undefined
    const { fake, socket } = setup({
      connectTimeoutMs: Infinity,
      auth: auth({
        placement: 'message',
        timeoutMs: Infinity,
        getToken: () => new Promise<string>((r) => (resolve = r)),
      }),
    })
    socket.connect()
    await settle()
    await vi.advanceTimersByTimeAsync(40 * DAY_MS)
    expect(fake.sockets).toHaveLength(0)
    resolve?.('late-token')
    await settle()
    fake.last().open()
    expect(socket.state).toBe('open')
    expect(fake.last().sentEnvelopes).toEqual([{ type: '$auth', data: { token: 'late-token' } }])
  })
})

describe('request timeouts', () => {
  async function opened(options: SocketOptions = {}) {
    const { fake, socket } = setup(options)
    socket.connect()
    fake.last().open()
    return { ws: fake.last(), socket }
  }

  const lastId = (ws: { sentEnvelopes: { id?: string }[] }) => ws.sentEnvelopes.at(-1)?.id

  it('requests({ timeoutMs: Infinity }) waits for the response however long it takes', async () => {
    const { ws, socket } = await opened({ requests: requests({ timeoutMs: Infinity }) })
    let outcome: unknown
    socket.request('slow', {}).then(
      (value) => (outcome = value),
      (error: SocketError) => (outcome = error.code),
    )
    await vi.advanceTimersByTimeAsync(365 * DAY_MS)
    expect(outcome).toBeUndefined()
    ws.receive({ type: 'slow', re: lastId(ws), data: 'done' })
    await settle()
    expect(outcome).toBe('done')
  })

  it('a per-request timeoutMs: Infinity waits too', async () => {
    const { ws, socket } = await opened()
    let outcome: unknown
    socket.request('slow', {}, { timeoutMs: Infinity }).then(
      (value) => (outcome = value),
      (error: SocketError) => (outcome = error.code),
    )
    await vi.advanceTimersByTimeAsync(100 * DAY_MS)
    expect(outcome).toBeUndefined()
    ws.receive({ type: 'slow', re: lastId(ws), data: 'done' })
    await settle()
    expect(outcome).toBe('done')
  })

  it('requests({ timeoutMs: 2^31 }) times out after 2^31 ms, not 1 ms', async () => {
    const { socket } = await opened({ requests: requests({ timeoutMs: 2 ** 31 }) })
    let outcome: unknown
    socket.request('slow', {}).catch((error: SocketError) => (outcome = error.code))
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1)
    expect(outcome).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(outcome).toBe('REQUEST_TIMEOUT')
  })
})

describe('durations where Infinity means nothing', () => {
  it.each(['intervalMs', 'timeoutMs', 'probeTimeoutMs'])(
    'heartbeat.%s: Infinity is refused, saying to leave the option out',
    (key) => {
      expectSocketError(
        () => heartbeat({ [key]: Infinity }),
        'INVALID_OPTIONS',
        new RegExp(`heartbeat\\.${key} must be a finite number .*leave the option out`),
      )
    },
  )

  it('auth.renewBeforeMs: Infinity is refused', () => {
    expectSocketError(
      () => auth({ getToken: () => 't', renewBeforeMs: Infinity }),
      'INVALID_OPTIONS',
      /auth\.renewBeforeMs must be a finite number >= 0 \(got Infinity\)/,
    )
  })
})
