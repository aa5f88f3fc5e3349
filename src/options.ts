import { checkFunction, checkNumbers, PROTOCOL_TOKEN } from './check.ts'
import { type Clock, type RandomSource, systemClock } from './clock.ts'
import type { CloseInfo } from './close-codes.ts'
import { type Codec, jsonCodec } from './codec.ts'
import { withDefaults } from './defaults.ts'
import { checkKeys, checkOneOf, describeValue, invalidOption, SocketError } from './errors.ts'
import { type Logger, silentLogger } from './logger.ts'
import { browserNetwork, type NetworkSource } from './network.ts'
import type { Feature } from './part.ts'
import type { RequestsPart } from './requests.ts'
import {
  type BackoffOptions,
  DEFAULT_BACKOFF,
  exponentialBackoff,
  type RetryPolicy,
} from './retry-policy.ts'
import type { SchemaValidators, SocketSchema, UntypedSchema } from './schema.ts'
import type { QueueOptions } from './send-queue.ts'
import type { WebSocketConstructor } from './transport.ts'

/** A URL, or a function that returns one (maybe async), called again before every attempt. */
export type UrlProvider = string | URL | (() => string | URL | Promise<string | URL>)

export interface SocketOptions<S extends SocketSchema = UntypedSchema> {
  /**
   * Subprotocols offered in the handshake.
   * @default []
   */
  protocols?: string | string[]
  /**
   * The WebSocket constructor. Inject one for runtimes without a global `WebSocket`, or for tests.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor
  /**
   * How binary frames are delivered. `'arraybuffer'` is synchronous and what most code wants
   * (the platform default, `'blob'`, needs an async read).
   * @default 'arraybuffer'
   */
  binaryType?: 'arraybuffer' | 'blob'
  /**
   * Connect on a microtask after construction, so listeners attached right after `new`
   * see every event. With `false`, call `connect()` yourself.
   * @default true
   */
  autoConnect?: boolean
  /**
   * The retry delay policy: a function `(context) => delayMs | null`, or options for the
   * default exponential backoff (a quick first retry, then a growing, jittered delay).
   * @default exponentialBackoff({ quickRetryMs: 500, initialDelayMs: 6000, factor: 1.5, maxDelayMs: 30000, jitter: 2/3 })
   */
  retry?: RetryPolicy | BackoffOptions
  /**
   * Reconnect attempts in a row that may fail before the socket gives up
   * (`RETRIES_EXHAUSTED`). The first attempt after `connect()` is not counted: with 3, a
   * server that never answers sees 4 attempts.
   * @default Infinity
   */
  maxAttempts?: number
  /**
   * Milliseconds a connection must stay open before the backoff starts over (quick first
   * retry), so a server that accepts and drops at once is not hammered. Any connection that
   * opens resets the `maxAttempts` count, however short it lives.
   * @default 5000
   */
  minUptimeMs?: number
  /**
   * Milliseconds an attempt may take (resolving the URL, getting the token and the
   * handshake) before it is abandoned and counted as failed; `Infinity` for no deadline.
   * @default 10000
   */
  connectTimeoutMs?: number
  /**
   * Overrides the close-code table (PROTOCOL.md): return `true` to reconnect, `false` to stop,
   * `undefined` to let the table decide.
   * @default undefined
   */
  shouldReconnect?: (close: CloseInfo) => boolean | undefined
  /**
   * The offline send queue, or `false` to drop (and report) every send made while not open.
   * @default { maxMessages: Infinity, maxBytes: 16777216, ttlMs: 0, overflow: 'drop-oldest' }
   */
  queue?: QueueOptions | false
  /**
   * While the native socket's `bufferedAmount` is above this many bytes, sends wait in the
   * queue instead of piling into the socket.
   * @default 1048576 (1 MiB)
   */
  highWaterMarkBytes?: number
  /**
   * Ping/pong liveness checks, `heartbeat({ intervalMs })`; needs a server that answers
   * (`$ping` → `$pong` by default).
   * @default undefined (no heartbeat)
   */
  heartbeat?: Feature
  /**
   * A token provider called before every attempt, `auth({ getToken })`.
   * @default undefined (no auth)
   */
  auth?: Feature
  /**
   * Reliable delivery across cuts, `reliable()`; needs a server that speaks the mode
   * (PROTOCOL.md §10). It brings a `heartbeat()` along unless `heartbeat` is given.
   * @default undefined (at-most-once: a frame on the wire when a connection drops is lost)
   */
  reliable?: Feature
  /**
   * Request/response for `request()`, `requests({ timeoutMs })`.
   * @default undefined (`request()` rejects with `INVALID_OPTIONS`)
   */
  requests?: Feature<RequestsPart>
  /**
   * Encodes and decodes envelopes.
   * @default jsonCodec
   */
  codec?: Codec
  /**
   * Inbound frames larger than this many bytes are dropped with `DECODE_FAILED` before they
   * are decoded. It spares the decoder and your handlers, not memory: the platform reads a
   * whole frame before handing it over (a 64 MiB frame costs about 130 MB of RSS whatever
   * this says). To bound memory, cap the frame size on the server (`ws`: `maxPayload`).
   * @default Infinity
   */
  maxMessageBytes?: number
  /**
   * Standard Schema validators (zod, valibot, arktype…) for inbound messages and responses.
   * @default undefined
   */
  validate?: SchemaValidators<S>
  /**
   * Network and page-lifecycle signals, or `false` to ignore them.
   * @default `window` in browsers, none on Node
   */
  network?: NetworkSource | false
  /**
   * The time source.
   * @default the system clock
   */
  clock?: Clock
  /**
   * The random source of the default backoff's jitter.
   * @default Math.random
   */
  random?: RandomSource
  /**
   * Diagnostics. Never receives tokens; URLs are redacted.
   * @default silent
   */
  logger?: Logger
}

export interface ResolvedOptions {
  protocols: string[]
  WebSocket: WebSocketConstructor
  binaryType: 'arraybuffer' | 'blob'
  autoConnect: boolean
  retry: RetryPolicy
  maxAttempts: number
  minUptimeMs: number
  connectTimeoutMs: number
  shouldReconnect: ((close: CloseInfo) => boolean | undefined) | undefined
  queue: Required<QueueOptions> | false
  highWaterMarkBytes: number
  /** The features, in the order their parts run at every open (`auth` first). */
  features: Feature[]
  codec: Codec
  maxMessageBytes: number
  validate: SchemaValidators<UntypedSchema>
  network: NetworkSource | null
  clock: Clock
  random: RandomSource
  logger: Logger
}

export const DEFAULTS = {
  binaryType: 'arraybuffer',
  autoConnect: true,
  maxAttempts: Infinity,
  minUptimeMs: 5000,
  connectTimeoutMs: 10_000,
  queue: { maxMessages: Infinity, maxBytes: 16 * 1024 * 1024, ttlMs: 0, overflow: 'drop-oldest' },
  highWaterMarkBytes: 1024 * 1024,
  maxMessageBytes: Infinity,
} as const

/** Every key of `T`, and only those: the compiler checks the object, `Object.keys` lists it. */
const keysOf = <T>(keys: { [K in keyof T]-?: 0 }): string[] => Object.keys(keys)

const OPTION_KEYS = keysOf<SocketOptions>({
  protocols: 0,
  WebSocket: 0,
  binaryType: 0,
  autoConnect: 0,
  retry: 0,
  maxAttempts: 0,
  minUptimeMs: 0,
  connectTimeoutMs: 0,
  shouldReconnect: 0,
  queue: 0,
  highWaterMarkBytes: 0,
  heartbeat: 0,
  auth: 0,
  reliable: 0,
  requests: 0,
  codec: 0,
  maxMessageBytes: 0,
  validate: 0,
  network: 0,
  clock: 0,
  random: 0,
  logger: 0,
})
/** Where the options of 0.1 went: a hint instead of "unknown option". */
const MOVED: Record<string, string> = {
  requestTimeoutMs: 'requests: requests({ timeoutMs })',
}

/** The features, in the order their parts run at every open: `$auth` is the first frame. */
const FEATURES = ['auth', 'reliable', 'heartbeat', 'requests'] as const

const baseUrl = (): unknown => (globalThis as { location?: { href?: unknown } }).location?.href

export function hasBaseUrl(): boolean {
  return typeof baseUrl() === 'string'
}

export function checkUrl(url: string | URL): string {
  const text = String(url)
  let protocol = ''
  try {
    protocol = new URL(text, baseUrl() as string | undefined).protocol
  } catch {}
  // The WebSocket constructor accepts http(s) URLs too, and switches them to ws(s).
  if (!/^(ws|http)s?:$/.test(protocol)) {
    throw invalidOption(`url must be an absolute ws:// or wss:// URL (got "${text}")`)
  }
  return text
}

export function resolveOptions<S extends SocketSchema>(o: SocketOptions<S> = {}): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw invalidOption('options must be an object')
  for (const key in MOVED) {
    if (key in o) throw invalidOption(`${key} has moved: pass ${MOVED[key]}`)
  }
  // A misspelt option would otherwise be silently ignored, and its default used instead.
  checkKeys('', o, OPTION_KEYS)
  checkKeys('queue.', o.queue, Object.keys(DEFAULTS.queue))
  const features: Feature[] = []
  const implied: Record<string, Feature | undefined> = {}
  for (const name of FEATURES) Object.assign(implied, o[name]?.implies)
  for (const name of FEATURES) {
    const value = o[name] ?? implied[name]
    if (value === undefined) continue
    if ((value as Partial<Feature>)?.feature !== name) {
      throw invalidOption(
        `${name} must be made by ${name}() from 'resilient-socket', e.g. ${name}: ${name}(${name === 'auth' ? '{ getToken }' : ''}) (got ${typeof value === 'object' && value && !('feature' in value) ? `options: pass them to ${name}()` : describeValue(value)})`,
      )
    }
    features.push(value as Feature)
  }
  if (typeof o.retry !== 'function') checkKeys('retry.', o.retry, Object.keys(DEFAULT_BACKOFF))
  const WebSocket = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof WebSocket !== 'function') {
    throw new SocketError(
      'NO_WEBSOCKET',
      'no WebSocket constructor: use Node 22+ or a browser, or pass one as the WebSocket option',
    )
  }
  const protocols = o.protocols === undefined ? [] : [o.protocols].flat()
  for (const p of protocols) {
    if (typeof p !== 'string' || !PROTOCOL_TOKEN.test(p)) {
      throw invalidOption(
        `protocols: "${String(p)}" is not a valid subprotocol name (letters, digits and !#$%&'*+-.^_\`|~)`,
      )
    }
  }
  const random = o.random ?? Math.random
  checkFunction('shouldReconnect', o.shouldReconnect)
  checkFunction('random', random)

  const queue = o.queue !== false && withDefaults<Required<QueueOptions>>(DEFAULTS.queue, o.queue)
  if (queue) {
    checkNumbers('queue.', queue, DEFAULTS.queue)
    checkOneOf('queue.overflow', queue.overflow, ['drop-oldest', 'drop-newest', 'reject'])
  }
  const codec = o.codec ?? jsonCodec
  if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
    throw invalidOption('codec must have encode(envelope) and decode(data) functions')
  }
  const network = o.network === false ? null : (o.network ?? browserNetwork())
  if (network && typeof network.target?.addEventListener !== 'function') {
    throw invalidOption('network.target must be an EventTarget (or pass network: false)')
  }

  const resolved = {
    protocols,
    WebSocket,
    retry: typeof o.retry === 'function' ? o.retry : exponentialBackoff(o.retry ?? {}, random),
    shouldReconnect: o.shouldReconnect,
    queue,
    features,
    codec,
    validate: (o.validate ?? {}) as SchemaValidators<UntypedSchema>,
    network,
    clock: o.clock ?? systemClock,
    random,
    logger: o.logger ?? silentLogger,
  } as ResolvedOptions
  // The plain options: `undefined` means the default, as if the option were not given.
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if (typeof DEFAULTS[key] !== 'object')
      (resolved as never as Record<string, unknown>)[key] = o[key] ?? DEFAULTS[key]
  }
  checkNumbers('', resolved, DEFAULTS)
  checkOneOf('binaryType', resolved.binaryType, ['arraybuffer', 'blob'])
  return resolved
}
