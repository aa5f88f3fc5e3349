import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { renewalDelayMs } from '../../src/auth.ts'
import {
  type AuthOptions,
  type AuthPlacement,
  auth,
  heartbeat,
  type Logger,
  ReconnectingSocket,
  requests,
  SocketError,
  type SocketEvents,
  type SocketOptions,
  type TokenContext,
  type TokenResult,
  UnauthorizedError,
  type WebSocketConstructor,
} from '../../src/index.ts'
import { type FakeWebSocket, fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { EVENT_NAMES } from '../helpers/unit-harness.ts'

const ENDPOINT = 'wss://api.example.test/live'

/** The token flow is a chain of promises; real microtasks run under fake timers. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

type Provide = (
  context: TokenContext,
  call: number,
) => string | TokenResult | Promise<string | TokenResult>

/** A provider that records every context it is called with. */
function provider(provide: Provide = (_, call) => `tok-${call}`) {
  const calls: TokenContext[] = []
  const getToken = (context: TokenContext) => {
    calls.push(context)
    return provide(context, calls.length)
  }
  const at = (index: number): TokenContext => {
    const context = calls[index]
    if (!context) throw new Error(`getToken was called ${calls.length} times, not ${index + 1}`)
    return context
  }
  return { getToken, calls, at }
}

/** `query` placement unless the test says otherwise: most tests read the token from the URL. */
function setup(authOptions: AuthOptions, options: SocketOptions = {}, url = ENDPOINT) {
  const fake = fakeWebSocketFactory()
  const socket = new ReconnectingSocket(url, {
    WebSocket: fake.WebSocket,
    network: false,
    autoConnect: false,
    retry: () => 1000,
    auth: auth({ placement: 'query', ...authOptions }),
    ...options,
  })
  const errors: SocketError[] = []
  const reconnecting: SocketEvents['reconnecting'][] = []
  socket.on('error', (error) => errors.push(error))
  socket.on('reconnecting', (event) => reconnecting.push(event))
  return { fake, socket, errors, reconnecting }
}

function tokenIn(ws: FakeWebSocket, param = 'access_token'): string | null {
  return new URL(ws.url).searchParams.get(param)
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the token provider', () => {
  it('is called before every attempt, with why, the attempt number and a signal', async () => {
    const { getToken, calls, at } = provider()
    const { fake, socket } = setup({ getToken })
    socket.connect()
    await settle()
    expect(calls).toHaveLength(1)
    expect(at(0)).toMatchObject({ reason: 'connect', forceRefresh: false, attempt: 0 })
    expect(at(0).signal).toBeInstanceOf(AbortSignal)
    expect(tokenIn(fake.last())).toBe('tok-1')

    fake.last().open()
    fake.last().serverClose(1006)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(calls).toHaveLength(2)
    expect(at(1)).toMatchObject({ reason: 'reconnect', forceRefresh: false, attempt: 1 })
    expect(tokenIn(fake.last())).toBe('tok-2')

    fake.last().fail()
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(calls).toHaveLength(3)
    expect(at(2)).toMatchObject({ reason: 'reconnect', forceRefresh: false, attempt: 2 })
    expect(tokenIn(fake.last())).toBe('tok-3')
    expect(fake.sockets).toHaveLength(3)
    expect(new Set(calls.map((c) => c.signal)).size).toBe(3)
    socket.close()
  })

  // name, provider, timers left once open (an expiry arms the renewal timer)
  const shapes: [string, AuthOptions['getToken'], number][] = [
    ['sync string', () => 'tok-a', 0],
    ['sync { token, expiresAt }', () => ({ token: 'tok-a', expiresAt: Date.now() + 3_600_000 }), 1],
    ['async string', async () => 'tok-a', 0],
    [
      'async { token, expiresAt: Date }',
      async () => ({ token: 'tok-a', expiresAt: new Date(Date.now() + 3_600_000) }),
      1,
    ],
  ]

  it.each(shapes)('accepts a %s', async (_, getToken, timersWhenOpen) => {
    const { fake, socket, errors } = setup({ getToken })
    socket.connect()
    await settle()
    expect(errors).toEqual([])
    expect(fake.sockets).toHaveLength(1)
    expect(tokenIn(fake.last())).toBe('tok-a')
    fake.last().open()
    expect(socket.state).toBe('open')
    expect(vi.getTimerCount()).toBe(timersWhenOpen)
    socket.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('may take its time (within timeoutMs) before answering', async () => {
    const { getToken } = provider(
      () => new Promise<string>((resolve) => setTimeout(() => resolve('slow-tok'), 4000)),
    )
    const { fake, socket, errors } = setup({ getToken, timeoutMs: 5000 })
    socket.connect()
    await settle()
    expect(fake.sockets).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(4000)
    await settle()
    expect(fake.sockets).toHaveLength(1)
    expect(tokenIn(fake.last())).toBe('slow-tok')
    expect(errors).toEqual([])
    socket.close()
  })

  it('gets a signal that aborts when close() abandons the attempt', async () => {
    const { getToken, at } = provider(() => new Promise<string>(() => {}))
    const { fake, socket } = setup({ getToken })
    socket.connect()
    await settle()
    const { signal } = at(0)
    expect(signal.aborted).toBe(false)
    socket.close()
    expect(signal.aborted).toBe(true)
    expect(socket.state).toBe('closed')
    expect(fake.sockets).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('gets a signal that aborts when connectTimeoutMs abandons the attempt', async () => {
    const { getToken, at } = provider(() => new Promise<string>(() => {}))
    const { socket, errors } = setup({ getToken, timeoutMs: 60_000 }, { connectTimeoutMs: 3000 })
    socket.connect()
    await settle()
    await vi.advanceTimersByTimeAsync(3000)
    expect(at(0).signal.aborted).toBe(true)
    expect(errors.map((e) => e.code)).toEqual(['CONNECT_TIMEOUT'])
    socket.close()
  })

  it('counts a hanging provider (beyond auth.timeoutMs) as a failed attempt and backs off', async () => {
    const { getToken, calls, at } = provider((_, call) =>
      call === 1 ? new Promise<string>(() => {}) : 'tok-ok',
    )
    const { fake, socket, errors, reconnecting } = setup({ getToken, timeoutMs: 2000 })
    socket.connect()
    await settle()
    await vi.advanceTimersByTimeAsync(1999)
    expect(at(0).signal.aborted).toBe(false)
    expect(errors).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(at(0).signal.aborted).toBe(true)
    expect(errors.map((e) => e.code)).toEqual(['AUTH_FAILED'])
    expect(socket.state).toBe('reconnecting')
    expect(socket.getSnapshot().lastError?.code).toBe('AUTH_FAILED')
    expect(reconnecting).toEqual([
      expect.objectContaining({ attempt: 1, delayMs: 1000, reason: 'attempt-failed' }),
    ])
    expect(fake.sockets).toHaveLength(0)

    await vi.advanceTimersByTimeAsync(999)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await settle()
    expect(at(1)).toMatchObject({ reason: 'reconnect', attempt: 1, forceRefresh: false })
    expect(tokenIn(fake.last())).toBe('tok-ok')
    fake.last().open()
    expect(socket.state).toBe('open')
    socket.close()
  })

  it('counts a throwing provider as a failed attempt and backs off by the retry policy', async () => {
    const failure = new Error('token service unavailable')
    const { getToken, calls, at } = provider(() => {
      throw failure
    })
    const { fake, socket, errors, reconnecting } = setup(
      { getToken },
      { retry: { quickRetryMs: 0, initialDelayMs: 1000, factor: 2, jitter: 'none' } },
    )
    socket.connect()
    await settle()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(SocketError)
    expect(errors[0]).toMatchObject({ code: 'AUTH_FAILED', cause: failure })
    expect(socket.state).toBe('reconnecting')

    // Each further call comes after a longer delay: 1 s, then 2 s, then 4 s.
    for (const [index, delayMs] of [1000, 2000, 4000].entries()) {
      await vi.advanceTimersByTimeAsync(delayMs - 1)
      await settle()
      expect(calls).toHaveLength(index + 1)
      await vi.advanceTimersByTimeAsync(1)
      await settle()
      expect(calls).toHaveLength(index + 2)
      expect(at(index + 1)).toMatchObject({ reason: 'reconnect', attempt: index + 1 })
    }
    expect(reconnecting.map((r) => [r.reason, r.delayMs])).toEqual([
      ['attempt-failed', 1000],
      ['attempt-failed', 2000],
      ['attempt-failed', 4000],
      ['attempt-failed', 8000],
    ])
    expect(errors.every((e) => e.code === 'AUTH_FAILED')).toBe(true)
    expect(fake.sockets).toHaveLength(0)
    socket.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('counts an empty or malformed result as a failed attempt', async () => {
    const { getToken } = provider((_, call) =>
      call === 1 ? '' : ({ token: 42 } as unknown as TokenResult),
    )
    const { fake, socket, errors } = setup({ getToken })
    socket.connect()
    await settle()
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(errors.map((e) => e.code)).toEqual(['AUTH_FAILED', 'AUTH_FAILED'])
    expect(fake.sockets).toHaveLength(0)
    expect(socket.state).toBe('reconnecting')
    socket.close()
  })

  it.each([
    [
      'throws',
      () => {
        throw new UnauthorizedError('session revoked')
      },
    ],
    ['rejects', async () => Promise.reject(new UnauthorizedError('session revoked'))],
  ])('stops at once when it %s UnauthorizedError', async (_, provide) => {
    const { getToken, calls } = provider(provide)
    const { fake, socket, errors, reconnecting } = setup({ getToken })
    socket.connect()
    await settle()
    expect(socket.state).toBe('closed')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(UnauthorizedError)
    expect(errors[0]).toMatchObject({ code: 'UNAUTHORIZED', message: 'session revoked' })
    expect(socket.getSnapshot().lastError?.code).toBe('UNAUTHORIZED')
    expect(reconnecting).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(calls).toHaveLength(1)
    expect(fake.sockets).toHaveLength(0)
  })
})

describe("AUTH_FAILED carries the provider's own reason", () => {
  const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl'
  const hostile = Object.create(null)
  const throwingMessage = {
    get message(): string {
      throw new Error('message getter')
    },
  }

  it.each([
    ['an Error', new Error('token service unavailable (503)'), 'token service unavailable (503)'],
    ['a string', 'refresh endpoint timed out', 'refresh endpoint timed out'],
    ['an object without a prototype', hostile, 'an object without a message'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['an empty string', '', 'an empty string'],
    ['an Error without a message', new TypeError(), 'TypeError'],
    ['a plain object', { status: 503 }, '{"status":503}'],
    ['an object whose message getter throws', throwingMessage, 'an object without a message'],
    ['a symbol', Symbol('why'), 'Symbol(why)'],
    ['an Error quoting a JWT', new Error(`bad response ${JWT}`), 'bad response [redacted]'],
  ])('in its message, when it throws %s, without crashing', async (_, thrown, reason) => {
    const { getToken } = provider(() => {
      throw thrown
    })
    const { socket, errors } = setup({ getToken })
    socket.connect()
    await settle()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({
      code: 'AUTH_FAILED',
      message: `auth.getToken failed: ${reason}`,
    })
    expect(errors[0]?.cause).toBe(thrown)
    expect(socket.state).toBe('reconnecting')
    socket.close()
  })

  it('cuts a very long reason (a whole HTML error page) to 200 characters', async () => {
    const page = `<html>${'x'.repeat(50_000)}</html>`
    const { getToken } = provider(() => Promise.reject(new Error(page)))
    const { socket, errors } = setup({ getToken })
    socket.connect()
    await settle()
    expect(errors[0]?.message).toBe(`auth.getToken failed: ${page.slice(0, 200)}…`)
    socket.close()
  })

  it('with the token being renewed redacted from it', async () => {
    const { getToken } = provider((_, call) => {
      if (call === 1) return { token: 'tok_current_secret', expiresAt: Date.now() + 60_000 }
      throw new Error('cannot refresh tok_current_secret: refresh token revoked')
    })
    const { fake, socket, errors } = setup({ getToken, placement: 'message' })
    socket.connect()
    await settle()
    fake.last().open()
    await vi.advanceTimersByTimeAsync(30_000)
    await settle()
    expect(errors.map((e) => e.message)).toEqual([
      'auth.getToken failed: cannot refresh [redacted]: refresh token revoked',
    ])
    socket.close()
  })
})

describe('auth failures from the server', () => {
  it.each([4001, 4003, 4401, 4403, 1008])(
    'close %i: reconnects with forceRefresh and reason auth-failure',
    async (code) => {
      const { getToken, calls, at } = provider()
      const { fake, socket, errors, reconnecting } = setup({ getToken })
      socket.connect()
      await settle()
      fake.last().open()
      fake.last().serverClose(code, 'token rejected')
      expect(socket.state).toBe('reconnecting')
      expect(reconnecting).toEqual([
        expect.objectContaining({
          reason: 'auth-failure',
          lastClose: expect.objectContaining({ code }),
        }),
      ])
      await vi.advanceTimersByTimeAsync(1000)
      await settle()
      expect(calls).toHaveLength(2)
      expect(at(1)).toMatchObject({ reason: 'auth-failure', forceRefresh: true, attempt: 1 })
      expect(tokenIn(fake.last())).toBe('tok-2')
      // The refreshed token works: the next ordinary drop asks without forcing.
      fake.last().open()
      fake.last().serverClose(1006)
      await vi.advanceTimersByTimeAsync(1000)
      await settle()
      expect(at(2)).toMatchObject({ reason: 'reconnect', forceRefresh: false })
      expect(errors).toEqual([])
      socket.close()
    },
  )

  it('also refreshes after an auth close before the connection opened', async () => {
    const { getToken, at } = provider()
    const { fake, socket, reconnecting } = setup({ getToken })
    socket.connect()
    await settle()
    fake.last().serverClose(4401, 'bad token')
    expect(reconnecting.map((r) => r.reason)).toEqual(['auth-failure'])
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(at(1)).toMatchObject({ reason: 'auth-failure', forceRefresh: true })
    socket.close()
  })

  it('ends in closed with UNAUTHORIZED after two auth failures in a row', async () => {
    const { getToken, calls } = provider()
    const { fake, socket, errors } = setup({ getToken })
    socket.connect()
    await settle()
    fake.last().open()
    fake.last().serverClose(4001, 'token expired')
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    fake.last().open()
    fake.last().serverClose(4001, 'token expired')
    expect(socket.state).toBe('closed')
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED'])
    expect(errors[0]?.details).toEqual({ code: 4001 })
    expect(socket.getSnapshot()).toMatchObject({
      lastError: expect.objectContaining({ code: 'UNAUTHORIZED' }),
      lastClose: expect.objectContaining({ code: 4001 }),
    })
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(calls).toHaveLength(2)
    expect(fake.sockets).toHaveLength(2)
  })

  it('without auth configured, 1008 stops instead of refreshing', () => {
    const fake = fakeWebSocketFactory()
    const socket = new ReconnectingSocket(ENDPOINT, {
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
    })
    const errors: SocketError[] = []
    socket.on('error', (error) => errors.push(error))
    socket.connect()
    fake.last().open()
    fake.last().serverClose(1008, 'policy')
    expect(socket.state).toBe('closed')
    // Without auth, 1008 is just a policy violation: nothing to refresh, nothing to retry.
    expect(errors.map((e) => e.code)).toEqual(['CLOSED_BY_SERVER'])
    expect(fake.sockets).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('placement', () => {
  it("is 'message' by default: the token stays out of the URL and the handshake", async () => {
    const fake = fakeWebSocketFactory()
    const socket = new ReconnectingSocket(`${ENDPOINT}?room=lobby`, {
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      protocols: ['chat.v2'],
      auth: auth({ getToken: () => 'tok-default' }),
    })
    socket.connect()
    await settle()
    const ws = fake.last()
    expect(ws.url).toBe(`${ENDPOINT}?room=lobby`)
    expect(ws.protocols).toEqual(['chat.v2'])
    expect(ws.headers).toBeUndefined()
    ws.open()
    expect(ws.sentEnvelopes).toEqual([{ type: '$auth', data: { token: 'tok-default' } }])
    socket.close()
  })

  it("'query' adds access_token and keeps the existing query", async () => {
    const { getToken } = provider(() => 'a+b/c=')
    const { fake, socket } = setup(
      { getToken },
      { protocols: ['chat.v2'] },
      `${ENDPOINT}?room=lobby`,
    )
    socket.connect()
    await settle()
    const ws = fake.last()
    const url = new URL(ws.url)
    expect(ws.url).toBe(`${ENDPOINT}?room=lobby&access_token=a%2Bb%2Fc%3D`)
    expect([...url.searchParams]).toEqual([
      ['room', 'lobby'],
      ['access_token', 'a+b/c='],
    ])
    expect(ws.protocols).toEqual(['chat.v2'])
    expect(ws.headers).toBeUndefined()
    socket.close()
  })

  it("'query' with a custom param", async () => {
    const { getToken } = provider(() => 'tok-q')
    const { fake, socket } = setup({ getToken, param: 'token' }, {}, `${ENDPOINT}?v=2`)
    socket.connect()
    await settle()
    expect(fake.last().url).toBe(`${ENDPOINT}?v=2&token=tok-q`)
    socket.close()
  })

  it("'protocol' appends <param>.<token> after the user's protocols", async () => {
    const { getToken } = provider(() => 'eyJhbGciOi.eyJzdWIi.sig_-')
    const { fake, socket } = setup(
      { getToken, placement: 'protocol' },
      { protocols: ['chat.v2', 'chat.v1'] },
    )
    socket.connect()
    await settle()
    const ws = fake.last()
    expect(ws.url).toBe(ENDPOINT)
    expect(ws.protocols).toEqual(['chat.v2', 'chat.v1', 'access_token.eyJhbGciOi.eyJzdWIi.sig_-'])
    socket.close()
  })

  it("'protocol' with a custom param", async () => {
    const { getToken } = provider(() => 'tok-p')
    const { fake, socket } = setup({ getToken, placement: 'protocol', param: 'bearer' })
    socket.connect()
    await settle()
    expect(fake.last().protocols).toEqual(['bearer.tok-p'])
    socket.close()
  })

  it("'protocol' refuses a token a protocol entry cannot carry, as a failed attempt", async () => {
    const { getToken } = provider(() => 'has space/and,comma')
    const { fake, socket, errors } = setup({ getToken, placement: 'protocol' })
    socket.connect()
    await settle()
    expect(fake.sockets).toHaveLength(0)
    expect(errors.map((e) => e.code)).toEqual(['AUTH_FAILED'])
    expect(errors[0]?.message).not.toContain('has space')
    expect(socket.state).toBe('reconnecting')
    socket.close()
  })

  it("'protocol': the open event never reports the token entry as the protocol", async () => {
    const { getToken } = provider(() => 'tok-secret')
    const { fake, socket } = setup(
      { getToken, placement: 'protocol' },
      { protocols: ['chat.v2'], retry: () => 0 },
    )
    const opens: SocketEvents['open'][] = []
    socket.on('open', (event) => opens.push(event))
    socket.connect()
    await settle()
    // Some servers echo the token entry back as the selected subprotocol.
    fake.last().open('access_token.tok-secret')
    fake.last().serverClose(1006)
    await vi.advanceTimersByTimeAsync(0)
    await settle()
    fake.last().open('chat.v2')
    expect(opens).toEqual([
      { reconnected: false, protocol: '', resumed: false },
      { reconnected: true, protocol: 'chat.v2', resumed: false },
    ])
    socket.close()
  })

  it("'message' leaves the handshake alone and sends $auth before anything else", async () => {
    const { getToken } = provider()
    const { fake, socket } = setup(
      { getToken, placement: 'message' },
      { protocols: ['chat.v2'], retry: () => 0 },
    )
    socket.on('open', () => socket.send('hello', { from: 'open listener' }))
    socket.connect()
    expect(socket.send('chat', { text: 'queued before open' })).toBe('queued')
    await settle()
    const ws = fake.last()
    expect(ws.url).toBe(ENDPOINT)
    expect(ws.protocols).toEqual(['chat.v2'])
    expect(ws.headers).toBeUndefined()
    ws.open()
    socket.send('chat', { text: 'after open' })
    expect(ws.sentEnvelopes).toEqual([
      { type: '$auth', data: { token: 'tok-1' } },
      { type: 'hello', data: { from: 'open listener' } },
      { type: 'chat', data: { text: 'queued before open' } },
      { type: 'chat', data: { text: 'after open' } },
    ])

    // Every new connection authenticates first, with the token fetched for it.
    ws.serverClose(1006)
    socket.send('chat', { text: 'during reconnect' })
    await vi.advanceTimersByTimeAsync(0)
    await settle()
    fake.last().open()
    expect(fake.last().sentEnvelopes).toEqual([
      { type: '$auth', data: { token: 'tok-2' } },
      { type: 'hello', data: { from: 'open listener' } },
      { type: 'chat', data: { text: 'during reconnect' } },
    ])
    socket.close()
  })

  it("'header' passes { protocols, headers } as the constructor's second argument", async () => {
    const { getToken } = provider(() => 'tok-h')
    const { fake, socket } = setup({ getToken, placement: 'header' }, { protocols: ['chat.v2'] })
    socket.connect()
    await settle()
    const ws = fake.last()
    expect(ws.url).toBe(ENDPOINT)
    expect(ws.init).toEqual({ protocols: ['chat.v2'], headers: { Authorization: 'Bearer tok-h' } })
    socket.close()
  })

  it("'header' is refused with INVALID_OPTIONS where the runtime is not Node", () => {
    const fake = fakeWebSocketFactory()
    const create = () =>
      new ReconnectingSocket(ENDPOINT, {
        WebSocket: fake.WebSocket,
        network: false,
        autoConnect: false,
        auth: auth({ getToken: () => 'tok', placement: 'header' }),
      })
    let thrown: unknown
    // Synchronous from stub to unstub, so nothing else ever sees the fake `process`.
    vi.stubGlobal('process', { versions: {} })
    try {
      create()
    } catch (error) {
      thrown = error
    } finally {
      vi.unstubAllGlobals()
    }
    expect(thrown).toBeInstanceOf(SocketError)
    expect(thrown).toMatchObject({ code: 'INVALID_OPTIONS' })
    expect((thrown as Error).message).toMatch(/header/)
    // The same options are fine on Node.
    expect(create).not.toThrow()
  })
})

describe('renewal before expiry', () => {
  const expiring =
    (lifetimeMs: number): Provide =>
    (_, call) => ({ token: `tok-${call}`, expiresAt: Date.now() + lifetimeMs })

  it("'message' re-sends $auth over the open socket renewBeforeMs before expiry", async () => {
    const { getToken, calls, at } = provider(expiring(60_000))
    const { fake, socket, errors, reconnecting } = setup({
      getToken,
      placement: 'message',
      renewBeforeMs: 10_000,
    })
    const closes: unknown[] = []
    socket.on('close', (event) => closes.push(event))
    socket.connect()
    await settle()
    const ws = fake.last()
    ws.open()
    expect(ws.sentEnvelopes).toEqual([{ type: '$auth', data: { token: 'tok-1' } }])

    await vi.advanceTimersByTimeAsync(49_999)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await settle()
    expect(calls).toHaveLength(2)
    expect(at(1)).toMatchObject({ reason: 'renew', forceRefresh: true })
    expect(ws.sentEnvelopes.at(-1)).toEqual({ type: '$auth', data: { token: 'tok-2' } })

    // The renewed token's expiry schedules the next renewal.
    await vi.advanceTimersByTimeAsync(50_000)
    await settle()
    expect(ws.sentEnvelopes.at(-1)).toEqual({ type: '$auth', data: { token: 'tok-3' } })

    expect(fake.sockets).toHaveLength(1)
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
    expect(reconnecting).toEqual([])
    expect(closes).toEqual([])
    expect(errors).toEqual([])
    socket.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it.each(['query', 'protocol', 'header'] as const)(
    "'%s' renews by a quiet reconnect that keeps queued messages",
    async (placement) => {
      const { getToken, calls, at } = provider(expiring(60_000))
      const { fake, socket, errors, reconnecting } = setup({
        getToken,
        placement,
        renewBeforeMs: 10_000,
      })
      const states: string[] = []
      const closes: SocketEvents['close'][] = []
      const opens: SocketEvents['open'][] = []
      socket.on('state', ({ to }) => states.push(to))
      socket.on('close', (event) => closes.push(event))
      socket.on('open', (event) => opens.push(event))
      const handshake = (ws: FakeWebSocket) => JSON.stringify([ws.url, ws.init])
      socket.connect()
      await settle()
      const first = fake.last()
      expect(handshake(first)).toContain('tok-1')
      first.open()

      await vi.advanceTimersByTimeAsync(49_999)
      expect(fake.sockets).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      await settle()
      expect(at(1)).toMatchObject({ reason: 'renew', forceRefresh: true })
      expect(first.closeCalls).toEqual([{ code: 1001, reason: 'token refresh' }])
      expect(closes).toEqual([
        { code: 1001, reason: 'token refresh', wasClean: true, willReconnect: true },
      ])
      expect(reconnecting).toEqual([
        {
          attempt: 0,
          delayMs: 0,
          reason: 'token-refresh',
          lastClose: { code: 1001, reason: 'token refresh', wasClean: true },
        },
      ])
      expect(socket.state).toBe('reconnecting')
      expect(fake.sockets).toHaveLength(2)
      const second = fake.last()
      expect(handshake(second)).toContain('tok-2')
      expect(handshake(second)).not.toContain('tok-1')

      expect(socket.send('chat', { text: 'while renewing' })).toBe('queued')
      second.open()
      expect(second.sentEnvelopes).toEqual([{ type: 'chat', data: { text: 'while renewing' } }])
      expect(opens.map((o) => o.reconnected)).toEqual([false, true])
      expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open'])
      // The token fetched for the renewal is the one the new connection uses: no second call.
      expect(calls).toHaveLength(2)
      expect(errors).toEqual([])
      socket.close()
      expect(vi.getTimerCount()).toBe(0)
    },
  )
})

describe('token secrecy', () => {
  // Distinctive, so that a match anywhere can only be a leak.
  const SECRET = 'tok_9f8e7d6c5b4a3210_'

  /** Errors do not survive JSON.stringify: spell out everything they carry, causes included. */
  function serialise(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (v instanceof Error) {
        return {
          name: v.name,
          message: v.message,
          stack: v.stack,
          ...(v as unknown as Record<string, unknown>),
          cause: v.cause,
        }
      }
      if (v instanceof ArrayBuffer) return new TextDecoder().decode(v)
      if (typeof v === 'bigint' || typeof v === 'function') return String(v)
      return v
    })
  }

  /** A constructor that throws once, the way a browser does for a URL it refuses. */
  function throwingOnce(Base: WebSocketConstructor): WebSocketConstructor {
    let thrown = false
    const Fake = Base as unknown as new (url: string, init?: unknown) => FakeWebSocket
    return class extends Fake {
      constructor(url: string, init?: unknown) {
        if (!thrown) {
          thrown = true
          throw new SyntaxError(`Failed to construct 'WebSocket': ${url} ${JSON.stringify(init)}`)
        }
        super(url, init)
      }
    } as unknown as WebSocketConstructor
  }

  const cases: [AuthPlacement, boolean][] = []
  for (const placement of ['query', 'protocol', 'message', 'header'] as const) {
    cases.push([placement, true], [placement, false])
  }

  it.each(cases)(
    "'%s' placement, listeners attached: %s: the token appears in nothing captured",
    async (placement, withListeners) => {
      const captured: unknown[] = []
      const log =
        (level: string): Logger['debug'] =>
        (message, fields) =>
          captured.push({ level, message, fields })
      const logger: Logger = {
        debug: log('debug'),
        info: log('info'),
        warn: log('warn'),
        error: log('error'),
      }
      const fake = fakeWebSocketFactory()
      let issued = 0
      const socket = new ReconnectingSocket(ENDPOINT, {
        requests: requests(),
        WebSocket: throwingOnce(fake.WebSocket),
        network: false,
        autoConnect: false,
        retry: () => 1000,
        heartbeat: heartbeat({ intervalMs: 5000, timeoutMs: 2000 }),
        queue: { maxMessages: 2 },
        logger,
        auth: auth({
          placement,
          renewBeforeMs: 12_000,
          getToken: async () => ({ token: `${SECRET}${++issued}`, expiresAt: Date.now() + 20_000 }),
        }),
      })
      const seen = new Set<string>()
      if (withListeners) {
        for (const name of EVENT_NAMES) {
          socket.on(name, (payload: unknown) => {
            seen.add(name)
            captured.push({ event: name, payload })
          })
        }
        // Exercises the logger's error level: a throwing error listener is logged.
        socket.on('error', () => {
          throw new Error('error listener failed')
        })
        socket.subscribe(() => captured.push({ snapshot: socket.getSnapshot() }))
      }
      socket.onMessage('chat', (data) => captured.push({ handled: data }))
      const step = async (ms: number) => {
        await vi.advanceTimersByTimeAsync(ms)
        await settle()
      }

      socket.connect()
      await settle()
      // Attempt 1: the constructor threw with the whole handshake in its message.
      expect(fake.sockets).toHaveLength(0)
      await step(1000)
      // Attempt 2: refused, with the URL in the runtime's message.
      fake.last().fail(`connect ECONNREFUSED ${fake.last().url}`)
      await step(1000)
      // Attempt 3: the server rejects the credential.
      fake.last().serverClose(4001, 'token expired')
      await step(1000)
      // Attempt 4 opens. Servers answering 'protocol' placement echo the token entry.
      const ws = fake.last()
      ws.open(placement === 'protocol' ? (ws.protocols.at(-1) ?? '') : '')
      expect(socket.state).toBe('open')
      ws.receive({ type: 'chat', data: { text: 'hi' } })
      ws.receive({ type: 'news', data: { headline: 'unhandled' } })
      ws.receive('{not json')
      const request = socket.request('history', { room: 'lobby' }).catch((e: unknown) => e)
      const requestId = ws.sentEnvelopes.find((e) => e.type === 'history')?.id
      expect(requestId).toEqual(expect.any(String))
      ws.receive({ type: 'history', re: requestId, error: { code: 'forbidden', message: 'no' } })
      captured.push({ rejected: await request })
      await step(5000)
      const ping = ws.sentEnvelopes.find((e) => e.type === '$ping')
      expect(ping?.id).toEqual(expect.any(String))
      ws.receive({ type: '$pong', re: ping?.id })

      // Renewal is due 8 s after the token was issued.
      await step(3000)
      if (placement === 'message') {
        expect(ws.sentEnvelopes.filter((e) => e.type === '$auth')).toHaveLength(2)
        ws.serverClose(1006)
        await step(1000)
      }
      expect(fake.sockets).toHaveLength(4)
      // Three sends into a queue of two: one is dropped as overflow.
      for (const text of ['a', 'b', 'c']) socket.send('chat', { text })
      fake.last().open()
      expect(socket.state).toBe('open')
      // Two auth failures in a row end it.
      fake.last().serverClose(4001, 'token expired')
      await step(1000)
      fake.last().serverClose(4001, 'token expired')
      expect(socket.state).toBe('closed')
      captured.push({ stats: socket.stats, snapshot: socket.getSnapshot() })

      // The token did travel, so a leak would have had something to leak.
      const handshakes = serialise(fake.sockets.map((s) => [s.url, s.init, s.sent]))
      expect(handshakes).toContain(SECRET)

      const text = serialise(captured)
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(encodeURIComponent(SECRET))
      expect(socket.getSnapshot().lastError?.code).toBe('UNAUTHORIZED')
      if (withListeners) {
        expect([...seen].sort()).toEqual([...EVENT_NAMES].sort())
        expect(text).toContain('CONNECTION_FAILED')
        expect(text).toContain('DECODE_FAILED')
        expect(text).toContain('an error listener threw')
      } else {
        // Without an error listener, errors go to the logger instead.
        const warnings = captured.filter((c) => (c as { level?: string }).level === 'warn')
        expect(warnings.length).toBeGreaterThanOrEqual(4)
      }
      if (placement === 'query') expect(text).toContain('access_token=[redacted]')
      expect(vi.getTimerCount()).toBe(0)
    },
  )
})

describe('renewal of short-lived tokens', () => {
  // A token living shorter than renewBeforeMs (default 30 s) once renewed again the moment
  // it arrived: hundreds of renewals a second.
  it.each(['message', 'query'] as const)(
    "'%s' placement renews a 5 s token at most every ~1.7 s, not in a loop",
    async (placement) => {
      const { getToken, calls } = provider((_, call) => ({
        token: `short-${call}`,
        expiresAt: Date.now() + 5000,
      }))
      const { fake, socket } = setup({ getToken, placement })
      socket.connect()
      await settle()
      fake.last().open()
      for (let elapsed = 0; elapsed < 10_000; elapsed += 250) {
        await vi.advanceTimersByTimeAsync(250)
        await settle()
        // A quiet reconnect opens a new socket: let it open like a real server would.
        if (fake.last().readyState === 0) fake.last().open()
      }
      // One call to connect, then a renewal every third of the 5 s lifetime.
      expect(calls.length).toBeGreaterThanOrEqual(4)
      expect(calls.length).toBeLessThanOrEqual(8)
      expect(calls.slice(1).every((c) => c.reason === 'renew')).toBe(true)
      socket.close()
      expect(vi.getTimerCount()).toBe(0)
    },
  )

  it('does not renew a token that has already expired (the server will reject it)', async () => {
    const { getToken, calls } = provider((_, call) => ({
      token: `stale-${call}`,
      expiresAt: Date.now() - 1000,
    }))
    const { fake, socket } = setup({ getToken, placement: 'message' })
    socket.connect()
    await settle()
    fake.last().open()
    await vi.advanceTimersByTimeAsync(60_000)
    await settle()
    expect(calls).toHaveLength(1)
    expect(fake.last().sentEnvelopes.filter((e) => e.type === '$auth')).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
    socket.close()
  })
})

describe('renewalDelayMs', () => {
  it('renews renewBeforeMs ahead of expiry when the lifetime allows it', () => {
    expect(renewalDelayMs(60_000, 0, 30_000)).toBe(30_000)
    expect(renewalDelayMs(3_600_000, 0, 30_000)).toBe(3_570_000)
  })

  it('never within a third of the remaining lifetime, nor within a second', () => {
    expect(renewalDelayMs(20_000, 0, 30_000)).toBeCloseTo(20_000 / 3)
    expect(renewalDelayMs(1500, 0, 30_000)).toBe(1000)
  })

  it('gives up on a token that has already expired', () => {
    expect(renewalDelayMs(1000, 1000, 30_000)).toBeNull()
    expect(renewalDelayMs(500, 1000, 30_000)).toBeNull()
  })
})
