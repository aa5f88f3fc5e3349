import { type AuthOptions, PROTOCOL_TOKEN, type ResolvedAuth, resolveAuth } from './auth.ts'
import { type Clock, type RandomSource, systemClock } from './clock.ts'
import type { CloseInfo } from './close-codes.ts'
import { type Codec, jsonCodec } from './codec.ts'
import { invalidOption, SocketError } from './errors.ts'
import type { HeartbeatOptions } from './heartbeat.ts'
import { type Logger, silentLogger } from './logger.ts'
import { browserNetwork, type NetworkSource } from './network.ts'
import { type BackoffOptions, exponentialBackoff, type RetryPolicy } from './retry-policy.ts'
import type { SchemaValidators, SocketSchema, UntypedSchema } from './schema.ts'
import type { Frame, OverflowPolicy } from './send-queue.ts'

/**
 * The subset of a native WebSocket the library uses. The browser's, Node's global one, `ws`
 * and mock-socket all fit. (`never` handler parameters: any handler signature fits.)
 */
export interface WebSocketLike {
  readonly readyState: number
  readonly bufferedAmount: number
  readonly protocol: string
  binaryType: string
  onopen: ((event: never) => void) | null
  onmessage: ((event: never) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
  send(data: Frame): void
  close(code?: number, reason?: string): void
}

/**
 * A WebSocket constructor. For the `header` auth placement on Node, the second argument
 * is undici's `{ protocols, headers }` init object instead of the protocol list.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** A URL, or a function that returns one (maybe async), called again before every attempt. */
export type UrlProvider = string | URL | (() => string | URL | Promise<string | URL>)

export interface QueueOptions {
  /**
   * The most messages held while not open.
   * @default 1000
   */
  maxMessages?: number
  /**
   * The most bytes held (UTF-8 bytes of text, byte length of binary).
   * @default 1048576 (1 MiB)
   */
  maxBytes?: number
  /**
   * Milliseconds a message may wait before it is dropped as `expired`; 0 keeps it until sent.
   * @default 0
   */
  ttlMs?: number
  /**
   * What happens when a bound would be exceeded.
   * @default 'drop-oldest'
   */
  overflow?: OverflowPolicy
}

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
   * default exponential backoff with full jitter.
   * @default exponentialBackoff({ initialDelayMs: 1000, factor: 2, maxDelayMs: 30000, jitter: 'full' })
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
   * Milliseconds a connection must stay open before the attempt counter resets, so a server
   * that accepts and drops at once is not hammered.
   * @default 5000
   */
  minUptimeMs?: number
  /**
   * Milliseconds an attempt may take (resolving the URL, getting the token and the
   * handshake) before it is abandoned and counted as failed.
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
   * @default { maxMessages: 1000, maxBytes: 1048576, ttlMs: 0, overflow: 'drop-oldest' }
   */
  queue?: QueueOptions | false
  /**
   * While the native socket's `bufferedAmount` is above this many bytes, sends wait in the
   * queue instead of piling into the socket.
   * @default 1048576 (1 MiB)
   */
  highWaterMarkBytes?: number
  /**
   * Ping/pong liveness checks; needs a server that answers (`$ping` → `$pong` by default).
   * `true` uses the defaults.
   * @default false
   */
  heartbeat?: boolean | HeartbeatOptions
  /**
   * A token provider, called before every attempt.
   * @default undefined (no auth)
   */
  auth?: AuthOptions
  /**
   * Encodes and decodes envelopes.
   * @default jsonCodec
   */
  codec?: Codec
  /**
   * Default milliseconds a `request()` waits for its response.
   * @default 10000
   */
  requestTimeoutMs?: number
  /**
   * Inbound frames larger than this many bytes are dropped with `DECODE_FAILED`.
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
  heartbeat:
    | (Required<Omit<HeartbeatOptions, 'ping' | 'isPong'>> &
        Pick<HeartbeatOptions, 'ping' | 'isPong'>)
    | false
  auth: ResolvedAuth | undefined
  codec: Codec
  requestTimeoutMs: number
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
  maxAttempts: Number.POSITIVE_INFINITY,
  minUptimeMs: 5000,
  connectTimeoutMs: 10_000,
  queue: { maxMessages: 1000, maxBytes: 1024 * 1024, ttlMs: 0, overflow: 'drop-oldest' },
  highWaterMarkBytes: 1024 * 1024,
  heartbeat: { intervalMs: 25_000, timeoutMs: 10_000, probeTimeoutMs: 3000 },
  requestTimeoutMs: 10_000,
  maxMessageBytes: Number.POSITIVE_INFINITY,
} as const

function checkMs(name: string, value: number, { min = 0, infinite = false } = {}): number {
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    (!infinite && !Number.isFinite(value))
  ) {
    throw invalidOption(
      `${name} must be a ${infinite ? '' : 'finite '}number >= ${min} (got ${String(value)})`,
    )
  }
  return value
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    throw invalidOption(`${name} must be a function`)
}

export function hasBaseUrl(): boolean {
  return typeof (globalThis as { location?: { href?: string } }).location?.href === 'string'
}

export function checkUrl(url: string | URL): string {
  const text = String(url)
  const base = (globalThis as { location?: { href?: string } }).location?.href
  let parsed: URL
  try {
    parsed = new URL(text, base)
  } catch {
    throw invalidOption(`url must be an absolute ws:// or wss:// URL (got "${text}")`)
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
    throw invalidOption(`url must use ws:// or wss:// (got "${parsed.protocol}//")`)
  }
  return text
}

export function resolveOptions<S extends SocketSchema>(
  options: SocketOptions<S> = {},
): ResolvedOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options must be an object')
  const o = options as SocketOptions<UntypedSchema>
  const WebSocketCtor =
    o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof WebSocketCtor !== 'function') {
    throw new SocketError(
      'NO_WEBSOCKET',
      'No WebSocket constructor found. Use Node 22+ (global WebSocket) or a browser, or pass one: new ReconnectingSocket(url, { WebSocket })',
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
  if (o.binaryType !== undefined && o.binaryType !== 'arraybuffer' && o.binaryType !== 'blob') {
    throw invalidOption(`binaryType must be 'arraybuffer' or 'blob' (got ${String(o.binaryType)})`)
  }
  checkFunction('shouldReconnect', o.shouldReconnect)

  const random = o.random ?? Math.random
  checkFunction('random', random)
  const retry = typeof o.retry === 'function' ? o.retry : exponentialBackoff(o.retry ?? {}, random)

  let queue: ResolvedOptions['queue'] = false
  if (o.queue !== false) {
    queue = { ...DEFAULTS.queue, ...o.queue }
    checkMs('queue.maxMessages', queue.maxMessages, { min: 1, infinite: true })
    checkMs('queue.maxBytes', queue.maxBytes, { min: 1, infinite: true })
    checkMs('queue.ttlMs', queue.ttlMs)
    if (!['drop-oldest', 'drop-newest', 'reject'].includes(queue.overflow)) {
      throw invalidOption(
        `queue.overflow must be 'drop-oldest', 'drop-newest' or 'reject' (got ${String(queue.overflow)})`,
      )
    }
  }

  let heartbeat: ResolvedOptions['heartbeat'] = false
  if (o.heartbeat) {
    heartbeat = { ...DEFAULTS.heartbeat, ...(o.heartbeat === true ? {} : o.heartbeat) }
    checkMs('heartbeat.intervalMs', heartbeat.intervalMs, { min: 1 })
    checkMs('heartbeat.timeoutMs', heartbeat.timeoutMs, { min: 1 })
    checkMs('heartbeat.probeTimeoutMs', heartbeat.probeTimeoutMs, { min: 1 })
    checkFunction('heartbeat.ping', heartbeat.ping)
    checkFunction('heartbeat.isPong', heartbeat.isPong)
    if (!heartbeat.ping !== !heartbeat.isPong) {
      throw invalidOption(
        'heartbeat: pass both ping and isPong (a custom ping needs a way to see its pong), or neither',
      )
    }
  }

  const codec = o.codec ?? jsonCodec
  if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
    throw invalidOption('codec must have encode(envelope) and decode(data) functions')
  }
  const network = o.network === false ? null : (o.network ?? browserNetwork())
  if (network && typeof network.target?.addEventListener !== 'function') {
    throw invalidOption('network.target must be an EventTarget (or pass network: false)')
  }
  const clock = o.clock ?? systemClock

  return {
    protocols,
    WebSocket: WebSocketCtor,
    binaryType: o.binaryType ?? DEFAULTS.binaryType,
    autoConnect: o.autoConnect ?? DEFAULTS.autoConnect,
    retry,
    maxAttempts: checkMs('maxAttempts', o.maxAttempts ?? DEFAULTS.maxAttempts, {
      min: 1,
      infinite: true,
    }),
    minUptimeMs: checkMs('minUptimeMs', o.minUptimeMs ?? DEFAULTS.minUptimeMs),
    connectTimeoutMs: checkMs('connectTimeoutMs', o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs, {
      min: 1,
    }),
    shouldReconnect: o.shouldReconnect,
    queue,
    highWaterMarkBytes: checkMs(
      'highWaterMarkBytes',
      o.highWaterMarkBytes ?? DEFAULTS.highWaterMarkBytes,
      {
        infinite: true,
      },
    ),
    heartbeat,
    auth: o.auth === undefined ? undefined : resolveAuth(o.auth),
    codec,
    requestTimeoutMs: checkMs('requestTimeoutMs', o.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs, {
      min: 1,
    }),
    maxMessageBytes: checkMs('maxMessageBytes', o.maxMessageBytes ?? DEFAULTS.maxMessageBytes, {
      min: 1,
      infinite: true,
    }),
    validate: (o.validate ?? {}) as SchemaValidators<UntypedSchema>,
    network,
    clock,
    random,
    logger: o.logger ?? silentLogger,
  }
}
