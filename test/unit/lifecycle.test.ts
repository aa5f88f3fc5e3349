import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  auth,
  exponentialBackoff,
  heartbeat,
  type Logger,
  ReconnectingSocket,
  type SocketEventName,
  type SocketEvents,
  type SocketOptions,
  type TokenContext,
  type UrlProvider,
} from '../../src/index.ts'
import {
  type FakeNetwork,
  type FakeWebSocket,
  type FakeWebSocketFactory,
  fakeNetwork,
  fakeWebSocketFactory,
} from '../helpers/fake-websocket.ts'
import { EVENT_NAMES, expectSocketError, seededRandom } from '../helpers/unit-harness.ts'

const SERVER = 'ws://127.0.0.1:9/socket'

type Recorded = { [E in SocketEventName]: { event: E; payload: SocketEvents[E] } }[SocketEventName]

interface Harness {
  socket: ReconnectingSocket
  factory: FakeWebSocketFactory
  network: FakeNetwork
  events: Recorded[]
}

function record(socket: ReconnectingSocket): Recorded[] {
  const events: Recorded[] = []
  for (const event of EVENT_NAMES) {
    socket.on(event, (payload) => events.push({ event, payload } as Recorded))
  }
  return events
}

function payloads<E extends SocketEventName>(events: Recorded[], event: E): SocketEvents[E][] {
  return events.filter((e) => e.event === event).map((e) => e.payload as SocketEvents[E])
}

function transitions(events: Recorded[]): string[] {
  return payloads(events, 'state').map(({ from, to }) => `${from}→${to}`)
}

/** No quick retry, ×2, no jitter: 1 s, 2 s, 4 s … so that delays are exact. */
const CLASSIC_BACKOFF = {
  quickRetryMs: 0,
  initialDelayMs: 1000,
  factor: 2,
  jitter: 'none',
} as const

/** A socket on the fake WebSocket and fake network, not yet connected, with `CLASSIC_BACKOFF`. */
function setup(options: SocketOptions = {}, url: UrlProvider = SERVER): Harness {
  const factory = fakeWebSocketFactory()
  const network = fakeNetwork()
  const socket = new ReconnectingSocket(url, {
    WebSocket: factory.WebSocket,
    network: network.source,
    autoConnect: false,
    retry: CLASSIC_BACKOFF,
    ...options,
  })
  return { socket, factory, network, events: record(socket) }
}

/** Lets promise chains (async URL and token providers) run; fake timers do not touch them. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

/** Nothing of the socket's is left anywhere: no timer, no native handler, no network listener. */
function expectReleased({ factory, network }: Harness): void {
  expect(vi.getTimerCount()).toBe(0)
  for (const ws of factory.sockets) expect(ws.handlerCount).toBe(0)
  expect(network.listenerCount()).toBe(0)
}

/** After the socket stopped: time passing and every old socket and signal firing change nothing. */
async function expectSilent(h: Harness): Promise<void> {
  const snapshot = h.socket.getSnapshot()
  const created = h.factory.sockets.length
  const seen = h.events.length
  await vi.advanceTimersByTimeAsync(120_000)
  for (const ws of h.factory.sockets) {
    ws.open()
    ws.receive({ type: 'chat', data: 'late' })
    ws.fail()
    ws.serverClose(1006)
  }
  h.network.emit('offline')
  h.network.emit('online')
  h.network.emit('pageshow', { persisted: true })
  await settle()
  expect(h.events.slice(seen)).toEqual([])
  expect(h.factory.sockets).toHaveLength(created)
  expect(h.socket.getSnapshot()).toBe(snapshot)
  expect(h.socket.state).toBe('closed')
}

/** The handlers the library set on a native socket, captured before it lets go of them. */
function captureHandlers(ws: FakeWebSocket) {
  const { onopen, onmessage, onclose, onerror } = ws
  if (!onopen || !onmessage || !onclose || !onerror) throw new Error('handlers are not set')
  return {
    fireAll(): void {
      onopen({ type: 'open' })
      onmessage({ data: JSON.stringify({ type: 'chat', data: 'stale' }) })
      onerror({ message: 'stale error' })
      onclose({ code: 1006, reason: '', wasClean: false })
    },
    open: () => onopen({ type: 'open' }),
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('construction', () => {
  it('starts on a microtask with autoConnect, so listeners attached after `new` see it', async () => {
    const factory = fakeWebSocketFactory()
    const socket = new ReconnectingSocket(SERVER, { WebSocket: factory.WebSocket, network: false })
    const seen: string[] = []
    socket.on('state', ({ from, to }) => seen.push(`${from}→${to}`))
    expect(socket.state).toBe('idle')
    expect(factory.sockets).toHaveLength(0)
    await Promise.resolve()
    expect(seen).toEqual(['idle→connecting'])
    expect(factory.sockets).toHaveLength(1)
    expect(factory.last().url).toBe(SERVER)
    socket.close()
  })

  it('does not connect twice when connect() is called before the autoConnect microtask', async () => {
    const factory = fakeWebSocketFactory()
    const socket = new ReconnectingSocket(SERVER, { WebSocket: factory.WebSocket, network: false })
    socket.connect()
    await settle()
    expect(factory.sockets).toHaveLength(1)
    socket.close()
  })

  it('stays idle with autoConnect: false', async () => {
    const h = setup({ autoConnect: false })
    await settle()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(h.socket.state).toBe('idle')
    expect(h.factory.sockets).toHaveLength(0)
    expect(h.events).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    expect(h.network.listenerCount()).toBe(0)
  })

  it('passes protocols and sets binaryType on the native socket', () => {
    const h = setup({ protocols: ['chat', 'v2'] })
    h.socket.connect()
    expect(h.factory.last().protocols).toEqual(['chat', 'v2'])
    expect(h.factory.last().binaryType).toBe('arraybuffer')
    h.socket.close()
    const blob = setup({ protocols: 'single', binaryType: 'blob' })
    blob.socket.connect()
    expect(blob.factory.last().protocols).toEqual(['single'])
    expect(blob.factory.last().binaryType).toBe('blob')
    blob.socket.close()
  })

  it('accepts a URL object', () => {
    const h = setup({}, new URL('ws://127.0.0.1:9/path?room=1'))
    h.socket.connect()
    expect(h.factory.last().url).toBe('ws://127.0.0.1:9/path?room=1')
    h.socket.close()
  })

  it.each(['not a url', '', 'ftp://127.0.0.1/x', 'file:///etc/hosts'])(
    'throws INVALID_OPTIONS for the URL %j',
    (url) => {
      const factory = fakeWebSocketFactory()
      expectSocketError(
        () => new ReconnectingSocket(url, { WebSocket: factory.WebSocket, network: false }),
        'INVALID_OPTIONS',
        /ws:\/\/ or wss:\/\//,
      )
      expect(factory.sockets).toHaveLength(0)
    },
  )

  it('throws NO_WEBSOCKET with a way out when there is no WebSocket constructor', () => {
    vi.stubGlobal('WebSocket', undefined)
    expectSocketError(
      () => new ReconnectingSocket(SERVER, { network: false }),
      'NO_WEBSOCKET',
      /Node 22\+.*pass one/,
    )
  })

  it('works with an injected WebSocket when the runtime has none', () => {
    vi.stubGlobal('WebSocket', undefined)
    const h = setup()
    h.socket.connect()
    expect(h.factory.sockets).toHaveLength(1)
    h.socket.close()
  })

  it.each([
    [{ maxAttempts: 0 }, /maxAttempts must be a number >= 1 \(got 0\)/],
    [{ minUptimeMs: -1 }, /minUptimeMs must be a number >= 0 \(got -1\)/],
    [{ connectTimeoutMs: 0 }, /connectTimeoutMs must be a number >= 1 \(got 0\)/],
    [{ minUptimeMs: Number.NaN }, /minUptimeMs .*\(got NaN\)/],
    [{ retry: { factor: 0.5 } }, /factor >= 1 .*factor=0\.5/],
    [{ retry: { initialDelayMs: 10_000, maxDelayMs: 1000 } }, /initialDelayMs <= maxDelayMs/],
    [{ retry: { jitter: 'sometimes' } }, /jitter must be 'full', 'equal' or 'none'/],
    [{ binaryType: 'text' }, /binaryType must be 'arraybuffer' or 'blob' \(got text\)/],
    [{ protocols: ['has space'] }, /"has space" is not a valid subprotocol name/],
    [{ shouldReconnect: 'yes' }, /shouldReconnect must be a function/],
    [{ random: 0.5 }, /random must be a function/],
    [{ network: { target: {} } }, /network\.target must be an EventTarget/],
    [
      { codec: { encode: JSON.stringify } },
      /codec must have encode\(envelope\) and decode\(data\)/,
    ],
  ])('throws INVALID_OPTIONS with a helpful message for %o', (options, message) => {
    const factory = fakeWebSocketFactory()
    expectSocketError(
      () =>
        new ReconnectingSocket(SERVER, {
          WebSocket: factory.WebSocket,
          network: false,
          ...(options as SocketOptions),
        }),
      'INVALID_OPTIONS',
      message,
    )
    expect(factory.sockets).toHaveLength(0)
  })

  // Feature options are checked by their factories, before any socket exists.
  it.each<[string, () => unknown, RegExp]>([
    [
      'heartbeat({ intervalMs: Infinity })',
      () => heartbeat({ intervalMs: Number.POSITIVE_INFINITY }),
      /intervalMs must be a finite number/,
    ],
    ['heartbeat({ ping })', () => heartbeat({ ping: () => 'p' }), /pass both ping and isPong/],
    [
      'auth({ timeoutMs: 0 })',
      () => auth({ getToken: (): string => 't', timeoutMs: 0 }),
      /auth\.timeoutMs must be a number >= 1, or Infinity for no limit \(got 0\)/,
    ],
    [
      'auth({ timeoutMs: NaN })',
      () => auth({ getToken: (): string => 't', timeoutMs: Number.NaN }),
      /auth\.timeoutMs .*\(got NaN\)/,
    ],
    [
      'auth({ renewBeforeMs: -1 })',
      () => auth({ getToken: (): string => 't', renewBeforeMs: -1 }),
      /auth\.renewBeforeMs must be a finite number >= 0/,
    ],
  ])('%s throws INVALID_OPTIONS with a helpful message', (_, make, message) => {
    expectSocketError(make, 'INVALID_OPTIONS', message)
  })

  it('throws INVALID_OPTIONS when options is not an object', () => {
    expectSocketError(
      () => new ReconnectingSocket(SERVER, null as unknown as SocketOptions),
      'INVALID_OPTIONS',
      /options must be an object/,
    )
  })
})

describe('state, events and snapshot', () => {
  it('goes through the documented transitions, one state event each', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1006)
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().open()
    h.socket.close()
    expect(transitions(h.events)).toEqual([
      'idle→connecting',
      'connecting→open',
      'open→reconnecting',
      'reconnecting→open',
      'open→closing',
      'closing→closed',
    ])
  })

  it('keeps one snapshot object until something changes, and notifies subscribers', async () => {
    const h = setup()
    const idle = h.socket.getSnapshot()
    expect(h.socket.getSnapshot()).toBe(idle)
    expect(Object.isFrozen(idle)).toBe(true)
    expect(idle).toEqual({
      state: 'idle',
      attempt: 0,
      nextRetryAt: null,
      online: true,
      rttMs: null,
      pongDeadlineAt: null,
      queuedMessages: 0,
      lastClose: null,
      lastError: null,
    })

    const listener = vi.fn()
    const unsubscribe = h.socket.subscribe(listener)
    h.socket.connect()
    const connecting = h.socket.getSnapshot()
    expect(listener).toHaveBeenCalled()
    expect(connecting).not.toBe(idle)
    expect(connecting.state).toBe('connecting')
    expect(idle.state).toBe('idle')

    listener.mockClear()
    await vi.advanceTimersByTimeAsync(500)
    expect(h.socket.getSnapshot()).toBe(connecting)
    expect(listener).not.toHaveBeenCalled()

    h.factory.last().fail()
    const reconnecting = h.socket.getSnapshot()
    expect(listener).toHaveBeenCalled()
    expect(reconnecting).toMatchObject({
      state: 'reconnecting',
      attempt: 1,
      nextRetryAt: Date.now() + 1000,
      lastClose: { code: 1006, reason: '', wasClean: false },
    })
    expect(reconnecting.lastError?.code).toBe('CONNECTION_FAILED')
    expect(h.socket.getSnapshot()).toBe(reconnecting)

    unsubscribe()
    listener.mockClear()
    await vi.advanceTimersByTimeAsync(1000)
    expect(h.socket.getSnapshot()).not.toBe(reconnecting)
    expect(h.socket.getSnapshot().nextRetryAt).toBeNull()
    expect(listener).not.toHaveBeenCalled()
    h.socket.close()
  })

  it('reports open with reconnected false for the first connection and true after that', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open('chat')
    expect(payloads(h.events, 'open')).toEqual([
      { reconnected: false, protocol: 'chat', resumed: false },
    ])

    h.factory.last().serverClose(1006)
    expect(payloads(h.events, 'close')).toEqual([
      { code: 1006, reason: '', wasClean: false, willReconnect: true },
    ])
    expect(payloads(h.events, 'reconnecting')).toEqual([
      {
        attempt: 1,
        delayMs: 1000,
        reason: 'connection-lost',
        lastClose: { code: 1006, reason: '', wasClean: false },
      },
    ])
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().open()
    expect(payloads(h.events, 'open').map((o) => o.reconnected)).toEqual([false, true])
    h.socket.close()
  })

  it('reports a throwing listener as HANDLER_FAILED and still runs the other listeners', () => {
    const h = setup()
    const bug = new Error('listener bug')
    h.socket.on('state', () => {
      throw bug
    })
    const after: string[] = []
    h.socket.on('state', ({ to }) => after.push(to))
    h.socket.on('open', () => {
      throw bug
    })
    const opened = vi.fn()
    h.socket.on('open', opened)

    h.socket.connect()
    expect(after).toEqual(['connecting'])
    expect(h.factory.sockets).toHaveLength(1)
    h.factory.last().open()
    expect(opened).toHaveBeenCalledOnce()
    expect(h.socket.state).toBe('open')

    const errors = payloads(h.events, 'error')
    // The state listener threw for idle→connecting and connecting→open, the open listener once.
    expect(errors.map((e) => e.code)).toEqual([
      'HANDLER_FAILED',
      'HANDLER_FAILED',
      'HANDLER_FAILED',
    ])
    expect(errors.map((e) => e.message)).toEqual([
      'a "state" listener threw',
      'a "state" listener threw',
      'a "open" listener threw',
    ])
    expect(errors[0]?.cause).toBe(bug)
    h.socket.close()
  })

  it('logs a throwing error listener instead of recursing', () => {
    const logged: string[] = []
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (m) => logged.push(`warn ${m}`),
      error: (m) => logged.push(`error ${m}`),
    }
    const h = setup({ logger })
    h.socket.on('error', () => {
      throw new Error('error listener bug')
    })
    h.socket.connect()
    h.factory.last().fail()
    expect(payloads(h.events, 'error').map((e) => e.code)).toEqual(['CONNECTION_FAILED'])
    expect(logged).toEqual(['error an error listener threw'])
    expect(h.socket.state).toBe('reconnecting')
    h.socket.close()
  })

  it('stops calling a listener once its unsubscribe function ran', () => {
    const h = setup()
    const listener = vi.fn()
    const off = h.socket.on('state', listener)
    h.socket.connect()
    off()
    h.factory.last().open()
    expect(listener).toHaveBeenCalledOnce()
    h.socket.close()
  })

  it('counts attempts, opens, reconnects and messages in stats', async () => {
    const h = setup()
    expect(h.socket.stats).toMatchObject({ connectAttempts: 0, opens: 0, reconnects: 0 })
    h.socket.connect()
    h.factory.last().fail()
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().open()
    expect(h.socket.stats).toMatchObject({ connectAttempts: 2, opens: 1, reconnects: 0 })

    h.factory.last().receive({ type: 'chat', data: 1 })
    h.factory.last().receive({ type: 'chat', data: 2 })
    expect(h.socket.sendRaw('out')).toBe('sent')
    expect(h.factory.last().sent).toEqual(['out'])
    expect(h.socket.stats).toMatchObject({ messagesReceived: 2, messagesSent: 1 })

    // Second failure in a row (the connection was up for less than minUptimeMs): 2 s.
    h.factory.last().serverClose(1011)
    await vi.advanceTimersByTimeAsync(2000)
    h.factory.last().open()
    expect(h.socket.stats).toMatchObject({ connectAttempts: 3, opens: 2, reconnects: 1 })

    // A new session after close(): its first open is not a reconnect.
    h.socket.close()
    h.socket.connect()
    h.factory.last().open()
    expect(h.socket.stats).toMatchObject({ connectAttempts: 4, opens: 3, reconnects: 1 })

    const copy = h.socket.stats
    expect(h.socket.stats).not.toBe(copy)
    copy.opens = 99
    expect(h.socket.stats.opens).toBe(3)
    h.socket.close()
  })
})

describe('attempts', () => {
  it('retries a failed first connection like any other', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().fail()
    expect(h.socket.state).toBe('reconnecting')
    expect(payloads(h.events, 'close')).toEqual([])
    expect(payloads(h.events, 'reconnecting')).toMatchObject([
      { attempt: 1, delayMs: 1000, reason: 'attempt-failed' },
    ])
    await vi.advanceTimersByTimeAsync(999)
    expect(h.factory.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(h.factory.sockets).toHaveLength(2)
    h.factory.last().open()
    expect(h.socket.state).toBe('open')
    // The first connection that opens in a session is not a reconnect, however many tries it took.
    expect(payloads(h.events, 'open')).toEqual([
      { reconnected: false, protocol: '', resumed: false },
    ])
    h.socket.close()
  })

  it('aborts an attempt that is not open within connectTimeoutMs and counts it as failed', async () => {
    const h = setup({ connectTimeoutMs: 3000 })
    h.socket.connect()
    const first = h.factory.last()
    await vi.advanceTimersByTimeAsync(2999)
    expect(h.socket.state).toBe('connecting')
    expect(first.closeCalls).toEqual([])

    await vi.advanceTimersByTimeAsync(1)
    expect(payloads(h.events, 'error').map((e) => e.code)).toEqual(['CONNECT_TIMEOUT'])
    expect(first.closeCalls).toHaveLength(1)
    expect(first.handlerCount).toBe(0)
    expect(h.socket.state).toBe('reconnecting')
    expect(h.socket.getSnapshot().lastError?.code).toBe('CONNECT_TIMEOUT')
    expect(payloads(h.events, 'reconnecting')).toMatchObject([
      { attempt: 1, delayMs: 1000, reason: 'attempt-failed' },
    ])

    await vi.advanceTimersByTimeAsync(1000)
    expect(h.factory.sockets).toHaveLength(2)
    h.factory.last().open()
    // The timeout belongs to the attempt: an open connection is never cut by it.
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(h.socket.state).toBe('open')
    h.socket.close()
  })

  it('counts a URL provider that never settles against the connect timeout', async () => {
    const provider = vi.fn(() => new Promise<string>(() => {}))
    const h = setup({ connectTimeoutMs: 2000 }, provider)
    h.socket.connect()
    await vi.advanceTimersByTimeAsync(2000)
    expect(payloads(h.events, 'error').map((e) => e.code)).toEqual(['CONNECT_TIMEOUT'])
    expect(h.socket.state).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(1000)
    expect(provider).toHaveBeenCalledTimes(2)
    expect(h.factory.sockets).toHaveLength(0)
    h.socket.close()
    expectReleased(h)
  })

  it('ends the attempt on an error with no close (Node 22), and ignores a close that follows', () => {
    const h = setup()
    h.socket.connect()
    const ws = h.factory.last()
    ws.fail('connect ECONNREFUSED 127.0.0.1:9')
    expect(h.socket.state).toBe('reconnecting')
    const errors = payloads(h.events, 'error')
    expect(errors.map((e) => e.code)).toEqual(['CONNECTION_FAILED'])
    expect(errors[0]?.message).toBe('connect ECONNREFUSED 127.0.0.1:9')
    expect(ws.closeCalls).toHaveLength(1)
    expect(ws.handlerCount).toBe(0)
    // Node 24 and browsers follow the error with a close: the same failure, not a second one.
    ws.serverClose(1006)
    expect(payloads(h.events, 'reconnecting')).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(1)
    h.socket.close()
  })

  it('ends the attempt on a close with no error before it', () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().serverClose(1006)
    expect(h.socket.state).toBe('reconnecting')
    expect(payloads(h.events, 'error').map((e) => e.code)).toEqual(['CONNECTION_FAILED'])
    expect(payloads(h.events, 'reconnecting')).toMatchObject([
      { attempt: 1, reason: 'attempt-failed', lastClose: { code: 1006 } },
    ])
    expect(payloads(h.events, 'close')).toEqual([])
    h.socket.close()
  })

  it('lets the close, not an error, decide once the connection is open', () => {
    const h = setup()
    h.socket.connect()
    const ws = h.factory.last()
    ws.open()
    ws.fail('read ECONNRESET')
    expect(h.socket.state).toBe('open')
    expect(payloads(h.events, 'reconnecting')).toEqual([])
    ws.serverClose(1006)
    expect(h.socket.state).toBe('reconnecting')
    expect(payloads(h.events, 'reconnecting')).toMatchObject([{ reason: 'connection-lost' }])
    h.socket.close()
  })

  it('calls a sync URL provider again for every attempt', async () => {
    let n = 0
    const provider = vi.fn(() => `ws://127.0.0.1:9/attempt-${++n}`)
    const h = setup({}, provider)
    h.socket.connect()
    await settle()
    h.factory.last().fail()
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().open()
    h.factory.last().serverClose(1001)
    await vi.advanceTimersByTimeAsync(2000)
    expect(h.factory.sockets.map((ws) => ws.url)).toEqual([
      'ws://127.0.0.1:9/attempt-1',
      'ws://127.0.0.1:9/attempt-2',
      'ws://127.0.0.1:9/attempt-3',
    ])
    expect(provider).toHaveBeenCalledTimes(3)
    h.socket.close()
  })

  it('awaits an async URL provider for every attempt', async () => {
    const hosts = ['ws://127.0.0.1:9/a', new URL('ws://127.0.0.1:9/b')]
    const provider = vi.fn(async () => hosts.shift() ?? 'ws://127.0.0.1:9/z')
    const h = setup({}, provider)
    h.socket.connect()
    expect(h.factory.sockets).toHaveLength(0)
    await settle()
    expect(h.factory.last().url).toBe('ws://127.0.0.1:9/a')
    h.factory.last().fail()
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(h.factory.last().url).toBe('ws://127.0.0.1:9/b')
    expect(provider).toHaveBeenCalledTimes(2)
    h.socket.close()
  })

  it('counts a throwing URL provider as a failed attempt, not as an auth failure', async () => {
    const lookup = new Error('service discovery is down')
    const provider = vi.fn<() => string>().mockImplementationOnce(() => {
      throw lookup
    })
    provider.mockReturnValue(SERVER)
    const h = setup({}, provider)
    h.socket.connect()
    await settle()
    const errors = payloads(h.events, 'error')
    expect(errors.map((e) => e.code)).toEqual(['CONNECTION_FAILED'])
    expect(errors[0]?.cause).toBe(lookup)
    expect(h.socket.state).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(h.factory.sockets).toHaveLength(1)
    h.socket.close()
  })

  it('uses the injected random source for the default backoff', async () => {
    const seed = 1234
    const random = seededRandom(seed)
    const h = setup({ retry: {}, random })
    h.socket.connect()
    for (let i = 0; i < 8; i++) {
      h.factory.last().fail()
      const { delayMs } = payloads(h.events, 'reconnecting').at(-1) ?? { delayMs: null }
      await vi.advanceTimersByTimeAsync(delayMs ?? 0)
    }
    const expected = exponentialBackoff({}, seededRandom(seed))
    const reconnecting = payloads(h.events, 'reconnecting')
    expect(reconnecting.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    reconnecting.forEach(({ attempt, delayMs }) => {
      expect(delayMs).toBe(expected({ attempt, elapsedMs: 0, lastClose: null, online: true }))
    })
    h.socket.close()
  })
})

describe('stale sockets', () => {
  it('ignores every event of an old socket after a reconnect', async () => {
    const h = setup()
    h.socket.connect()
    const old = h.factory.last()
    const stale = captureHandlers(old)
    old.open()
    old.serverClose(1006)
    await vi.advanceTimersByTimeAsync(1000)
    const current = h.factory.last()
    current.open()
    expect(current).not.toBe(old)

    const before = {
      events: h.events.length,
      snapshot: h.socket.getSnapshot(),
      stats: h.socket.stats,
    }
    // Through the fake (handlers already detached) and through the handlers the library set.
    old.open()
    old.receive({ type: 'chat', data: 'stale' })
    old.fail()
    old.serverClose(1006)
    stale.fireAll()
    expect(h.events.slice(before.events)).toEqual([])
    expect(h.socket.getSnapshot()).toBe(before.snapshot)
    expect(h.socket.stats).toEqual(before.stats)
    expect(h.socket.state).toBe('open')
    expect(current.closeCalls).toEqual([])
    expect(vi.getTimerCount()).toBe(0)

    // The current socket still works.
    current.receive({ type: 'chat', data: 'fresh' })
    expect(payloads(h.events, 'message')).toHaveLength(1)
    h.socket.close()
  })

  it('ignores a late open of an attempt that timed out', async () => {
    const h = setup({ connectTimeoutMs: 1000 })
    h.socket.connect()
    const slow = h.factory.last()
    const stale = captureHandlers(slow)
    await vi.advanceTimersByTimeAsync(1000)
    expect(h.socket.state).toBe('reconnecting')
    const seen = h.events.length
    stale.open()
    stale.fireAll()
    expect(h.events.slice(seen)).toEqual([])
    expect(h.socket.state).toBe('reconnecting')
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().open()
    expect(payloads(h.events, 'open')).toEqual([
      { reconnected: false, protocol: '', resumed: false },
    ])
    h.socket.close()
  })

  it('ignores every event of the socket after close()', async () => {
    const h = setup()
    h.socket.connect()
    const ws = h.factory.last()
    const stale = captureHandlers(ws)
    ws.open()
    h.socket.close()
    const seen = h.events.length
    stale.fireAll()
    expect(h.events.slice(seen)).toEqual([])
    await expectSilent(h)
  })
})

describe('reconnect policy through the socket', () => {
  it('starts the backoff over only after the connection stayed up minUptimeMs', async () => {
    const h = setup({ minUptimeMs: 5000 })
    h.socket.connect()
    h.factory.last().fail()
    await vi.advanceTimersByTimeAsync(1000)
    // Up for less than minUptimeMs: the attempt count starts over (it opened), the backoff
    // does not.
    h.factory.last().open()
    await vi.advanceTimersByTimeAsync(4999)
    h.factory.last().serverClose(1006)
    await vi.advanceTimersByTimeAsync(2000)
    // Up for minUptimeMs: the next drop starts over at attempt 1.
    h.factory.last().open()
    await vi.advanceTimersByTimeAsync(5000)
    h.factory.last().serverClose(1006)
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().fail()

    expect(payloads(h.events, 'reconnecting').map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 1000],
      [1, 2000],
      [1, 1000],
      [2, 2000],
    ])
    expect(h.socket.getSnapshot().attempt).toBe(2)
    h.socket.close()
  })

  it('never counts an attempt that opened against maxAttempts, however short the connection', async () => {
    // A proxy with a short idle timeout: every connection opens, then is cut after 3 s.
    const h = setup({ maxAttempts: 3, minUptimeMs: 5000, retry: {} })
    h.socket.connect()
    for (let i = 0; i < 6; i++) {
      h.factory.last().open()
      await vi.advanceTimersByTimeAsync(3000)
      h.factory.last().serverClose(1006)
      const { delayMs } = payloads(h.events, 'reconnecting').at(-1) ?? { delayMs: 0 }
      await vi.advanceTimersByTimeAsync(delayMs ?? 0)
    }
    // A seventh attempt is under way: no RETRIES_EXHAUSTED after six opens.
    expect(h.factory.sockets).toHaveLength(7)
    expect(h.socket.state).toBe('reconnecting')
    expect(payloads(h.events, 'error')).toEqual([])
    const reconnecting = payloads(h.events, 'reconnecting')
    expect(reconnecting.map((r) => r.attempt)).toEqual([1, 1, 1, 1, 1, 1])
    // The backoff does not reset either (3 s < minUptimeMs) nor grow: after the quick first
    // retry, every retry is a step-2 delay, never the 30 s cap.
    for (const { delayMs } of reconnecting.slice(1)) {
      expect(delayMs).toBeGreaterThanOrEqual(2000)
      expect(delayMs).toBeLessThanOrEqual(6000)
    }
    h.socket.close()
  })

  it('never retries quickly twice in a row for a server that accepts and drops at once', async () => {
    const h = setup({ retry: {}, random: () => 0 })
    h.socket.connect()
    for (let i = 0; i < 5; i++) {
      h.factory.last().open()
      h.factory.last().serverClose(1006)
      const { delayMs } = payloads(h.events, 'reconnecting').at(-1) ?? { delayMs: 0 }
      await vi.advanceTimersByTimeAsync(delayMs ?? 0)
    }
    expect(payloads(h.events, 'reconnecting').map((r) => r.delayMs)).toEqual([
      0, 2000, 2000, 2000, 2000,
    ])
    h.socket.close()
  })

  it('waits for a network or page signal when the policy returns Infinity', async () => {
    const h = setup({ retry: () => Number.POSITIVE_INFINITY })
    h.socket.connect()
    h.factory.last().fail()
    expect(h.socket.getSnapshot().nextRetryAt).toBeNull()
    await vi.advanceTimersByTimeAsync(3_600_000)
    expect(h.factory.sockets).toHaveLength(1)
    h.network.emit('online')
    expect(h.factory.sockets).toHaveLength(2)
    h.socket.close()
  })

  it('gives up after maxAttempts with RETRIES_EXHAUSTED and ends closed', async () => {
    const h = setup({ maxAttempts: 3, retry: { ...CLASSIC_BACKOFF, initialDelayMs: 100 } })
    h.socket.connect()
    h.factory.last().fail()
    for (const delay of [100, 200, 400]) {
      await vi.advanceTimersByTimeAsync(delay)
      h.factory.last().fail()
    }
    expect(payloads(h.events, 'reconnecting').map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ])
    expect(h.factory.sockets).toHaveLength(4)
    expect(h.socket.state).toBe('closed')
    const last = payloads(h.events, 'error').at(-1)
    expect(last?.code).toBe('RETRIES_EXHAUSTED')
    expect(h.socket.getSnapshot().lastError).toBe(last)
    expect(transitions(h.events).at(-1)).toBe('reconnecting→closed')
    expectReleased(h)
    await expectSilent(h)
  })

  it('starts counting again on connect() after giving up', async () => {
    const h = setup({ maxAttempts: 1 })
    h.socket.connect()
    h.factory.last().fail()
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().fail()
    expect(h.socket.state).toBe('closed')
    h.socket.connect()
    h.factory.last().fail()
    expect(payloads(h.events, 'reconnecting').map((r) => r.attempt)).toEqual([1, 1])
    expect(h.socket.getSnapshot().lastError?.code).toBe('CONNECTION_FAILED')
    h.socket.close()
  })

  it('gives up when a custom policy returns null, and when it throws (reported)', async () => {
    const bug = new Error('policy bug')
    const policy = vi.fn((): number | null => 10)
    const h = setup({ retry: policy })
    h.socket.connect()
    h.factory.last().fail()
    await vi.advanceTimersByTimeAsync(10)
    policy.mockImplementation(() => {
      throw bug
    })
    h.factory.last().fail()
    expect(h.socket.state).toBe('closed')
    const codes = payloads(h.events, 'error').map((e) => e.code)
    expect(codes).toEqual([
      'CONNECTION_FAILED',
      'CONNECTION_FAILED',
      'HANDLER_FAILED',
      'RETRIES_EXHAUSTED',
    ])
    expect(payloads(h.events, 'error')[2]?.cause).toBe(bug)
    expectReleased(h)

    policy.mockReturnValue(null)
    h.socket.connect()
    h.factory.last().fail()
    expect(h.socket.state).toBe('closed')
    expect(h.socket.getSnapshot().lastError?.code).toBe('RETRIES_EXHAUSTED')
    expectReleased(h)
  })

  it('stops without reconnecting when the server closes with 1000, and says the server ended it', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1000, 'done')
    expect(h.socket.state).toBe('closed')
    expect(payloads(h.events, 'close')).toEqual([
      { code: 1000, reason: 'done', wasClean: true, willReconnect: false },
    ])
    expect(payloads(h.events, 'reconnecting')).toEqual([])
    const errors = payloads(h.events, 'error')
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['CLOSED_BY_SERVER', 'the server ended the session (1000 done)'],
    ])
    expect(h.socket.getSnapshot()).toMatchObject({
      state: 'closed',
      lastError: errors[0],
      lastClose: { code: 1000, reason: 'done', wasClean: true },
    })
    expectReleased(h)
    await expectSilent(h)
  })

  it('stops with CLOSED_BY_SERVER when the server closes with 1002', () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1002, 'protocol error')
    expect(h.socket.state).toBe('closed')
    expect(payloads(h.events, 'close')).toMatchObject([{ code: 1002, willReconnect: false }])
    expect(payloads(h.events, 'error').map((e) => e.code)).toEqual(['CLOSED_BY_SERVER'])
    expectReleased(h)
  })

  // 1001 and 1012 drop every client at once (a deploy): the retry skips the first step, the
  // quick one, so the herd is spread out.
  it.each([
    [1001, 2000],
    [1011, 1000],
    [1012, 2000],
  ])('reconnects after a server close %i, after %i ms', async (code, delayMs) => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(code, 'bye')
    expect(payloads(h.events, 'close')).toEqual([
      { code, reason: 'bye', wasClean: true, willReconnect: true },
    ])
    expect(payloads(h.events, 'reconnecting')).toMatchObject([
      { attempt: 1, delayMs, reason: 'connection-lost', lastClose: { code } },
    ])
    await vi.advanceTimersByTimeAsync(delayMs)
    expect(h.factory.sockets).toHaveLength(2)
    h.factory.last().open()
    expect(h.socket.state).toBe('open')
    h.socket.close()
  })

  it('waits 5 s after 1013 (try again later), then the policy delay on top', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1013, 'overloaded')
    // The floor, then step 2 of the policy (never its quick first step after a floor).
    expect(payloads(h.events, 'reconnecting')).toMatchObject([{ attempt: 1, delayMs: 7000 }])
    await vi.advanceTimersByTimeAsync(6999)
    expect(h.factory.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(h.factory.sockets).toHaveLength(2)
    h.socket.close()
  })

  it('delays the retry by a retry-after hint in the close reason', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1012, 'deploy; retry-after=12')
    expect(payloads(h.events, 'reconnecting')).toMatchObject([{ delayMs: 14_000 }])
    expect(h.socket.getSnapshot().nextRetryAt).toBe(Date.now() + 14_000)
    await vi.advanceTimersByTimeAsync(13_999)
    expect(h.factory.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(h.factory.sockets).toHaveLength(2)
    h.socket.close()
  })

  it('lets shouldReconnect reconnect after a 1000 and stop after a 1006', async () => {
    const shouldReconnect = vi.fn((close: { code: number }) =>
      close.code === 1000 ? true : close.code === 1006 ? false : undefined,
    )
    const h = setup({ shouldReconnect })
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1000, 'rebalance')
    expect(shouldReconnect).toHaveBeenCalledWith({
      code: 1000,
      reason: 'rebalance',
      wasClean: true,
    })
    expect(h.socket.state).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(1000)
    h.factory.last().open()
    h.factory.last().serverClose(1006)
    expect(h.socket.state).toBe('closed')
    expect(h.socket.getSnapshot().lastError?.code).toBe('CLOSED_BY_SERVER')
    expectReleased(h)
  })

  it('reports a throwing shouldReconnect and falls back to the table', () => {
    const h = setup({
      shouldReconnect: () => {
        throw new Error('override bug')
      },
    })
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1011)
    expect(h.socket.state).toBe('reconnecting')
    expect(payloads(h.events, 'error').map((e) => e.code)).toEqual(['HANDLER_FAILED'])
    h.socket.close()
  })
})

describe('connect() and close()', () => {
  it('connects again after close()', () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.socket.close()
    h.socket.connect()
    expect(h.socket.state).toBe('connecting')
    expect(h.factory.sockets).toHaveLength(2)
    h.factory.last().open()
    expect(h.socket.state).toBe('open')
    expect(payloads(h.events, 'open').map((o) => o.reconnected)).toEqual([false, false])
    expect(h.network.listenerCount()).toBeGreaterThan(0)
    h.socket.close()
    expectReleased(h)
  })

  it('ignores connect() in every state but idle and closed', async () => {
    const pendingUrl = deferred<string>()
    let calls = 0
    const h = setup({}, () => (++calls === 1 ? pendingUrl.promise : SERVER))
    const noop = (): void => {
      const seen = h.events.length
      const sockets = h.factory.sockets.length
      const timers = vi.getTimerCount()
      const snapshot = h.socket.getSnapshot()
      h.socket.connect()
      h.socket.connect()
      expect(h.events.length).toBe(seen)
      expect(h.factory.sockets).toHaveLength(sockets)
      expect(vi.getTimerCount()).toBe(timers)
      expect(h.socket.getSnapshot()).toBe(snapshot)
    }
    h.socket.connect()
    // connecting, before the native socket exists
    noop()
    await settle()
    expect(calls).toBe(1)
    pendingUrl.resolve(SERVER)
    await settle()
    // connecting, with a native socket
    expect(h.factory.sockets).toHaveLength(1)
    noop()
    h.factory.last().open()
    noop()
    h.factory.last().serverClose(1006)
    // reconnecting, during the backoff delay
    noop()
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    // reconnecting, during an attempt
    expect(h.factory.sockets).toHaveLength(2)
    noop()
    expect(calls).toBe(2)
    h.socket.close()
  })

  it('ignores connect() and close() while closing', () => {
    const h = setup()
    h.socket.on('state', ({ to }) => {
      if (to === 'closing') {
        h.socket.connect()
        h.socket.close(4000, 'again')
      }
    })
    h.socket.connect()
    h.factory.last().open()
    h.socket.close()
    expect(transitions(h.events).slice(-2)).toEqual(['open→closing', 'closing→closed'])
    expect(h.factory.sockets).toHaveLength(1)
    expect(h.factory.last().closeCalls).toEqual([{ code: 1000, reason: '' }])
    expect(payloads(h.events, 'error')).toEqual([])
    expectReleased(h)
  })

  it.each([
    [1001, ''],
    [1006, ''],
    [2999, ''],
    [5000, ''],
    [Number.NaN, ''],
    [1000, 'x'.repeat(124)],
    // 62 two-byte characters: 124 bytes of UTF-8, though only 62 UTF-16 units.
    [4000, 'é'.repeat(62)],
  ])('rejects close(%s, reason of %#) with INVALID_OPTIONS and changes nothing', (code, reason) => {
    const h = setup()
    h.socket.connect()
    const ws = h.factory.last()
    ws.open()
    const seen = h.events.length
    const snapshot = h.socket.getSnapshot()
    expectSocketError(() => h.socket.close(code, reason), 'INVALID_OPTIONS', /close: /)
    expect(h.socket.state).toBe('open')
    expect(h.socket.getSnapshot()).toBe(snapshot)
    expect(h.events.length).toBe(seen)
    expect(ws.closeCalls).toEqual([])
    expect(ws.handlerCount).toBe(4)
    h.socket.close()
  })

  it('closes the native socket with the given code and reason', () => {
    const h = setup()
    h.socket.connect()
    const ws = h.factory.last()
    ws.open()
    const reason = 'x'.repeat(123)
    h.socket.close(4321, reason)
    expect(ws.closeCalls).toEqual([{ code: 4321, reason }])
    expect(payloads(h.events, 'close')).toEqual([
      { code: 4321, reason, wasClean: true, willReconnect: false },
    ])
  })

  it('closes on Symbol.dispose', () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.socket[Symbol.dispose]()
    expect(h.socket.state).toBe('closed')
    expect(h.factory.last().closeCalls).toEqual([{ code: 1000, reason: '' }])
    expectReleased(h)
  })

  it('closes at the end of a `using` block', () => {
    const factory = fakeWebSocketFactory()
    {
      using socket = new ReconnectingSocket(SERVER, {
        WebSocket: factory.WebSocket,
        network: false,
        autoConnect: false,
      })
      socket.connect()
      factory.last().open()
    }
    expect(factory.last().closeCalls).toEqual([{ code: 1000, reason: '' }])
    expect(factory.last().handlerCount).toBe(0)
  })
})

describe('close() in each state leaves nothing behind', () => {
  it('idle', async () => {
    const h = setup()
    h.socket.close()
    h.socket.close()
    expect(transitions(h.events)).toEqual(['idle→closed'])
    expectReleased(h)
    await expectSilent(h)
  })

  it('idle, before the autoConnect microtask', async () => {
    const h = setup({ autoConnect: true })
    h.socket.close()
    await settle()
    expect(h.factory.sockets).toHaveLength(0)
    expect(transitions(h.events)).toEqual(['idle→closed'])
    expectReleased(h)
    await expectSilent(h)
  })

  it('connecting, while an async URL provider is pending', async () => {
    const url = deferred<string>()
    const h = setup({}, () => url.promise)
    h.socket.connect()
    await settle()
    expect(h.socket.state).toBe('connecting')
    expect(vi.getTimerCount()).toBe(1)
    expect(h.network.listenerCount()).toBeGreaterThan(0)
    h.socket.close()
    h.socket.close()
    url.resolve(SERVER)
    await settle()
    expect(h.factory.sockets).toHaveLength(0)
    expect(transitions(h.events)).toEqual([
      'idle→connecting',
      'connecting→closing',
      'closing→closed',
    ])
    expectReleased(h)
    await expectSilent(h)
  })

  it('connecting, while the token provider is pending', async () => {
    const token = deferred<string>()
    let context: TokenContext | undefined
    const h = setup({
      auth: auth({
        getToken: (ctx) => {
          context = ctx
          return token.promise
        },
      }),
    })
    h.socket.connect()
    await settle()
    expect(context?.reason).toBe('connect')
    // The connect timeout and the token provider's own timeout.
    expect(vi.getTimerCount()).toBe(2)
    h.socket.close()
    expect(context?.signal.aborted).toBe(true)
    token.resolve('secret-token')
    await settle()
    expect(h.factory.sockets).toHaveLength(0)
    expectReleased(h)
    await expectSilent(h)
  })

  it('connecting, once the native socket exists', async () => {
    const h = setup()
    h.socket.connect()
    const ws = h.factory.last()
    h.socket.close()
    h.socket.close()
    expect(ws.closeCalls).toEqual([{ code: 1000, reason: '' }])
    // It never opened, so there is no connection to report as closed.
    expect(payloads(h.events, 'close')).toEqual([])
    expect(transitions(h.events)).toEqual([
      'idle→connecting',
      'connecting→closing',
      'closing→closed',
    ])
    expectReleased(h)
    await expectSilent(h)
  })

  it('open', async () => {
    const h = setup()
    h.socket.connect()
    const ws = h.factory.last()
    ws.open()
    h.socket.close()
    h.socket.close()
    expect(ws.closeCalls).toEqual([{ code: 1000, reason: '' }])
    expect(payloads(h.events, 'close')).toEqual([
      { code: 1000, reason: '', wasClean: true, willReconnect: false },
    ])
    expect(h.socket.getSnapshot()).toMatchObject({ state: 'closed', nextRetryAt: null })
    expectReleased(h)
    await expectSilent(h)
  })

  it('reconnecting, during the backoff delay', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1006)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    h.socket.close()
    h.socket.close()
    expect(h.socket.getSnapshot().nextRetryAt).toBeNull()
    expect(payloads(h.events, 'close')).toHaveLength(1)
    expect(transitions(h.events).slice(-2)).toEqual(['reconnecting→closing', 'closing→closed'])
    expectReleased(h)
    await expectSilent(h)
    expect(h.factory.sockets).toHaveLength(1)
  })

  it('reconnecting, during an attempt', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().fail()
    await vi.advanceTimersByTimeAsync(1000)
    const attempt = h.factory.last()
    expect(h.factory.sockets).toHaveLength(2)
    h.socket.close()
    expect(attempt.closeCalls).toEqual([{ code: 1000, reason: '' }])
    expectReleased(h)
    await expectSilent(h)
  })

  it('closed, after the server closed with 1000', async () => {
    const h = setup()
    h.socket.connect()
    h.factory.last().open()
    h.factory.last().serverClose(1000)
    const seen = h.events.length
    h.socket.close()
    h.socket.close(4000, 'x')
    expect(h.events.length).toBe(seen)
    expectReleased(h)
    await expectSilent(h)
  })
})
