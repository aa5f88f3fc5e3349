import { describe, expect, it } from 'vitest'
import { checkKeys, describeValue } from '../../src/errors.ts'
import {
  type AuthOptions,
  auth,
  type HeartbeatOptions,
  heartbeat,
  ReconnectingSocket,
  type RequestsOptions,
  requests,
  SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { expectSocketError } from '../helpers/unit-harness.ts'

const ENDPOINT = 'wss://api.example.test/live'

function create(options: Record<string, unknown>) {
  const fake = fakeWebSocketFactory()
  return new ReconnectingSocket(ENDPOINT, {
    WebSocket: fake.WebSocket,
    network: false,
    autoConnect: false,
    ...(options as SocketOptions),
  })
}

const getToken = () => 'tok'

describe('unknown option keys', () => {
  it.each([
    [
      { retry: { initialDelay: 50 } },
      'unknown option retry.initialDelay; did you mean initialDelayMs?',
    ],
    [{ retry: { maxDelay: 5000 } }, 'unknown option retry.maxDelay; did you mean maxDelayMs?'],
    [{ connectTimeout: 3000 }, 'unknown option connectTimeout; did you mean connectTimeoutMs?'],
    [{ websocket: class {} }, 'unknown option websocket; did you mean WebSocket?'],
    [{ protocol: 'chat' }, 'unknown option protocol; did you mean protocols?'],
    [{ queue: { ttl: 1000 } }, 'unknown option queue.ttl; did you mean ttlMs?'],
    [{ queue: { maxMessage: 5 } }, 'unknown option queue.maxMessage; did you mean maxMessages?'],
  ])('%o is refused with the closest valid name', (options, message) => {
    expectSocketError(() => create(options), 'INVALID_OPTIONS', message)
  })

  // The feature factories check their own keys, when they are called.
  it.each<[string, () => unknown, string]>([
    [
      'heartbeat({ interval })',
      () => heartbeat({ interval: 5000 } as HeartbeatOptions),
      'unknown option heartbeat.interval; did you mean intervalMs?',
    ],
    [
      'heartbeat({ timeout })',
      () => heartbeat({ timeout: 5000 } as HeartbeatOptions),
      'unknown option heartbeat.timeout; did you mean timeoutMs?',
    ],
    [
      'auth({ placment })',
      () => auth({ getToken, placment: 'query' } as AuthOptions),
      'unknown option auth.placment; did you mean placement?',
    ],
    [
      'auth({ renewBefore })',
      () => auth({ getToken, renewBefore: 1000 } as AuthOptions),
      'unknown option auth.renewBefore; did you mean renewBeforeMs?',
    ],
    [
      'requests({ timeout })',
      () => requests({ timeout: 1000 } as RequestsOptions),
      'unknown option requests.timeout; did you mean timeoutMs?',
    ],
  ])('%s is refused with the closest valid name', (_, make, message) => {
    expectSocketError(make, 'INVALID_OPTIONS', message)
  })

  it('lists the valid names when nothing is close', () => {
    const error = expectSocketError(
      () => create({ retry: { strategy: 'exponential' } }),
      'INVALID_OPTIONS',
    )
    expect(error.message).toMatch(/^unknown option retry\.strategy; the options are /)
    for (const key of ['initialDelayMs', 'factor', 'maxDelayMs', 'jitter']) {
      expect(error.message).toContain(key)
    }
  })

  it('names the top-level options when nothing is close', () => {
    const error = expectSocketError(() => create({ reconnectionAttempts: 5 }), 'INVALID_OPTIONS')
    expect(error.message).toMatch(/^unknown option reconnectionAttempts; the options are /)
    expect(error.message).toContain('maxAttempts')
  })

  it('accepts every documented key, and undefined values of them', () => {
    const every: SocketOptions = {
      protocols: [],
      binaryType: 'arraybuffer',
      autoConnect: false,
      retry: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 'none' },
      maxAttempts: 3,
      minUptimeMs: 100,
      connectTimeoutMs: 100,
      shouldReconnect: () => undefined,
      queue: { maxMessages: 10, maxBytes: 100, ttlMs: 10, overflow: 'reject' },
      highWaterMarkBytes: 10,
      heartbeat: heartbeat({
        intervalMs: 10,
        timeoutMs: 10,
        probeTimeoutMs: 10,
        ping: () => 'p',
        isPong: () => true,
      }),
      auth: auth({ getToken, placement: 'query', param: 'p', timeoutMs: 10, renewBeforeMs: 10 }),
      requests: requests({ timeoutMs: 10 }),
      maxMessageBytes: 10,
      validate: {},
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
      random: () => 0.5,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    }
    expect(() => create(every as Record<string, unknown>)).not.toThrow()
    expect(() =>
      create({
        queue: { ttlMs: undefined },
        heartbeat: heartbeat({ intervalMs: undefined }),
        auth: undefined,
        requests: requests({ timeoutMs: undefined }),
        codec: undefined,
      }),
    ).not.toThrow()
  })

  it('leaves class instances alone: a token manager may carry fields of its own', async () => {
    class TokenManager implements AuthOptions {
      cache = new Map<string, string>()
      refreshes = 0
      getToken(): string {
        this.refreshes++
        return 'tok'
      }
    }
    const manager = new TokenManager()
    const fake = fakeWebSocketFactory()
    const socket = new ReconnectingSocket(ENDPOINT, {
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      auth: auth(manager),
    })
    socket.connect()
    for (let i = 0; i < 20; i++) await Promise.resolve()
    // The method ran on the instance itself.
    expect(manager.refreshes).toBe(1)
    socket.close()
  })

  it('ignores queue: false and a retry function', () => {
    expect(() => create({ queue: false, retry: () => 1000 })).not.toThrow()
  })

  it('checkKeys can be used for any options object', () => {
    const allowed = Object.keys({ initialDelayMs: 0, factor: 0 })
    expect(() => checkKeys('retry.', { initialDelay: 1 }, allowed)).toThrow(
      'unknown option retry.initialDelay; did you mean initialDelayMs?',
    )
    expect(() => checkKeys('retry.', { factor: 2 }, allowed)).not.toThrow()
    expect(() => checkKeys('retry.', undefined, allowed)).not.toThrow()
  })
})

describe('durations: Infinity means what it says', () => {
  it.each([
    ['connectTimeoutMs', { connectTimeoutMs: Infinity }],
    ['requests.timeoutMs', { requests: requests({ timeoutMs: Infinity }) }],
    ['minUptimeMs', { minUptimeMs: Infinity }],
    ['queue.ttlMs', { queue: { ttlMs: Infinity } }],
    ['auth.timeoutMs', { auth: auth({ getToken, timeoutMs: Infinity }) }],
  ])('%s: Infinity is accepted', (_, options) => {
    expect(() => create(options)).not.toThrow()
  })

  it.each([
    [{ connectTimeoutMs: 0 }, 'connectTimeoutMs must be a number >= 1 (got 0)'],
    [{ connectTimeoutMs: '5000' }, 'connectTimeoutMs must be a number >= 1 (got 5000)'],
  ])('%o is refused, saying what is allowed', (options, message) => {
    expectSocketError(() => create(options), 'INVALID_OPTIONS', message)
  })

  it.each<[string, () => unknown, string]>([
    [
      'requests({ timeoutMs: NaN })',
      () => requests({ timeoutMs: Number.NaN }),
      'requests.timeoutMs must be a number >= 1 (got NaN)',
    ],
    [
      'heartbeat({ intervalMs: Infinity })',
      () => heartbeat({ intervalMs: Infinity }),
      'heartbeat.intervalMs must be a finite number >= 1 (got Infinity); to turn the heartbeat off, leave the option out',
    ],
    [
      'auth({ timeoutMs: -1 })',
      () => auth({ getToken, timeoutMs: -1 }),
      'auth.timeoutMs must be a number >= 1, or Infinity for no limit (got -1)',
    ],
  ])('%s is refused by the factory, saying what is allowed', (_, make, message) => {
    expectSocketError(make, 'INVALID_OPTIONS', message)
  })
})

describe('features are made by their factories', () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'heartbeat: true',
      { heartbeat: true },
      "heartbeat must be made by heartbeat() from 'resilient-socket', e.g. heartbeat: heartbeat() (got true)",
    ],
    [
      'heartbeat: false',
      { heartbeat: false },
      "heartbeat must be made by heartbeat() from 'resilient-socket', e.g. heartbeat: heartbeat() (got false)",
    ],
    [
      'a heartbeat options object',
      { heartbeat: { intervalMs: 5000 } },
      "heartbeat must be made by heartbeat() from 'resilient-socket', e.g. heartbeat: heartbeat() (got options: pass them to heartbeat())",
    ],
    [
      'an auth options object',
      { auth: { getToken } },
      "auth must be made by auth() from 'resilient-socket', e.g. auth: auth({ getToken }) (got options: pass them to auth())",
    ],
    [
      'a requests options object',
      { requests: { timeoutMs: 1000 } },
      "requests must be made by requests() from 'resilient-socket', e.g. requests: requests() (got options: pass them to requests())",
    ],
    [
      'a feature under the wrong key',
      { auth: heartbeat() },
      "auth must be made by auth() from 'resilient-socket'",
    ],
  ])('%s throws INVALID_OPTIONS naming the factory', (_, options, message) => {
    const error = expectSocketError(() => create(options), 'INVALID_OPTIONS')
    expect(error.message).toContain(message)
  })

  it('requestTimeoutMs throws INVALID_OPTIONS saying where it has moved', () => {
    expectSocketError(
      () => create({ requestTimeoutMs: 5000 }),
      'INVALID_OPTIONS',
      'requestTimeoutMs has moved: pass requests: requests({ timeoutMs })',
    )
  })

  it('request() without requests() rejects with INVALID_OPTIONS, and sends nothing', async () => {
    const fake = fakeWebSocketFactory()
    const socket = new ReconnectingSocket(ENDPOINT, {
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
    })
    socket.connect()
    for (let i = 0; i < 20; i++) await Promise.resolve()
    fake.last().open()
    const error = await socket.request('history').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(SocketError)
    expect((error as SocketError).code).toBe('INVALID_OPTIONS')
    expect((error as SocketError).message).toContain('requests: requests()')
    expect(fake.last().sent).toEqual([])
    socket.close()
  })
})

describe('describeValue', () => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const hostileProxy = new Proxy(
    {},
    {
      get() {
        throw new Error('get trap')
      },
      getPrototypeOf() {
        throw new Error('getPrototypeOf trap')
      },
      ownKeys() {
        throw new Error('ownKeys trap')
      },
    },
  )

  it.each([
    ['an Error', new RangeError('out of range'), 'out of range'],
    ['an error-like object', { message: 'from a worker' }, 'from a worker'],
    ['a string', 'plain', 'plain'],
    ['a number', 42, '42'],
    ['a bigint', 10n, '10'],
    ['undefined', undefined, 'undefined'],
    ['a function', () => 'secret source', 'a function'],
    ['an object without a prototype', Object.create(null), 'an object without a message'],
    ['a cyclic object', cyclic, 'an object without a message'],
    ['an object holding a bigint', { n: 1n }, 'an object without a message'],
    ['a Proxy whose every trap throws', hostileProxy, 'an object without a message'],
  ])('describes %s without throwing', (_, value, text) => {
    expect(describeValue(value)).toBe(text)
  })
})
