import { ServerError } from './errors.ts'
import type { SessionStore } from './store.ts'

/** What `authenticate` returns for a token it accepts. */
export interface AuthGrant<U = unknown> {
  /**
   * Who this is: sessions belong to it (a `$resume` by another principal is `forbidden`),
   * and request results are cached per principal. Must not change on renewal.
   */
  principal: string
  /** Anything the handlers should see as `ctx.user`. */
  user?: U
  /** When the token expires (ms since the epoch): the connection is closed 4001 then, unless renewed. */
  expiresAt?: number
}

export interface AuthContext {
  /** What the adapter passed: for the `ws` adapter, `{ request }` (the upgrade request). */
  readonly extra: unknown
  /** True for a `$auth` over an already authenticated connection (renewal). */
  readonly renewal: boolean
}

/**
 * Accepts a token (a grant) or refuses it (`false`, `null`, `undefined`, or a throw: closes
 * 4001; throw `AuthRejected` with 4003 for "forbidden"). May be async.
 */
export type Authenticate<U> = (
  token: string,
  ctx: AuthContext,
) => AuthGrant<U> | false | null | undefined | Promise<AuthGrant<U> | false | null | undefined>

/** What every callback gets about its connection. */
export interface ConnectionContext<U = unknown> {
  /** Unique in this server process: `c1`, `c2`, … */
  readonly id: string
  /** What the adapter passed: for the `ws` adapter, `{ request }` (the upgrade request). */
  readonly extra: unknown
  /** From the last accepted grant; `undefined` before auth or without `authenticate`. */
  readonly principal: string | undefined
  readonly user: U | undefined
  /** The reliable session's id, once the client started one (`$hello`/`$resume`). */
  readonly sid: string | undefined
  /**
   * Pushes an event to this client. In a reliable session it is logged and sequenced
   * first, so it reaches the client exactly once even across cuts (and while detached);
   * it rejects with `UNACKED_LIMIT` past the bounds, `SESSION_GONE` when the session died.
   * Without one it is written at once, and rejects with `CLOSED` once the socket closed.
   */
  send(type: string, data?: unknown): Promise<void>
  /** Closes the socket (in a reliable session the session stays, detached, for `sessionTtlMs`). */
  close(code?: number, reason?: string): void
}

/** What a request handler or event listener gets about the frame it handles. */
export interface MessageContext<U = unknown> extends ConnectionContext<U> {
  /**
   * `sid:seq` in a reliable session: unique per client frame. A crash between a handler and
   * its commit redelivers the frame once; handlers that need exactly-once effects dedupe
   * on this. `undefined` outside a session.
   */
  readonly deliveryId: string | undefined
  /** The request's `id`; `undefined` for an event. */
  readonly requestId: string | undefined
}

/** Answers a request: its return value (or resolved value) is the response's `data`. */
export type RequestHandler<U = unknown> = (data: unknown, ctx: MessageContext<U>) => unknown

/** Receives an event (a frame with neither `id` nor `re`). */
export type EventListener<U = unknown> = (data: unknown, ctx: MessageContext<U>) => unknown

export interface SocketServerOptions<U = unknown> {
  /**
   * Request handlers by type. A handler's value becomes `{ type, re, data }`; a thrown
   * `RequestError` becomes `{ type, re, error: { code, message } }`; any other throw becomes
   * the error `INTERNAL` (its message is not sent: it may hold secrets) and is reported
   * through `onError`. A request with no handler gets the error `UNKNOWN_REQUEST`.
   * @default {}
   */
  handlers?: Readonly<Record<string, RequestHandler<U>>>
  /**
   * Checks a token (from `$auth`, or from the upgrade request through the adapter). Without
   * it, tokens are not checked and `$auth` frames are ignored.
   * @default undefined
   */
  authenticate?: Authenticate<U>
  /**
   * Whether a connection must authenticate before anything else (a valid token at upgrade,
   * or `$auth` as its first frame within `authTimeoutMs`; anything else closes 4001).
   * A function decides per connection from the adapter's `extra`. Without it a presented
   * token is still checked, and a bad one closes 4001.
   * @default true when `authenticate` is given
   */
  requireAuth?: boolean | ((extra: unknown) => boolean)
  /** How long a connection may stay open without authenticating, in ms. @default 5000 */
  authTimeoutMs?: number
  /** Where reliable sessions and request results live. @default memoryStore() */
  store?: SessionStore
  /** Whether clients may start reliable sessions (`$hello`/`$resume`); when false those are ignored. @default true */
  reliable?: boolean
  /** How long a session with no socket is kept for a `$resume`, in ms. @default 120_000 */
  sessionTtlMs?: number
  /** Most server frames a session holds unacknowledged. @default 1000 */
  maxUnackedFrames?: number
  /** Most bytes (UTF-8) of server frames a session holds unacknowledged. @default 1_048_576 */
  maxUnackedBytes?: number
  /**
   * What a `ctx.send()` past the unacked bounds does: `'reject'` rejects it with
   * `UNACKED_LIMIT` (the caller decides), `'close'` also closes the socket with 4008 (the
   * client reports a lost session). A response that does not fit always closes with 4008:
   * a request must not go unanswered in silence.
   * @default 'reject'
   */
  whenUnackedFull?: 'reject' | 'close'
  /** Acknowledge the client's frames after this many uncommitted-to-the-client frames. @default 32 */
  ackAfterFrames?: number
  /** …or this long after the first unacknowledged one, in ms. @default 200 */
  ackDelayMs?: number
  /**
   * How long a request's response is kept to answer the same request id (per principal)
   * again without running the handler, in ms. 0 turns the cache off.
   * @default 120_000
   */
  resultTtlMs?: number
  /** Largest text frame accepted, in bytes (UTF-8); a larger one closes with 1009. @default 1_048_576 */
  maxMessageBytes?: number
  /**
   * Most frames received but not yet handled on one connection (they wait while `$auth` is
   * checked, and behind a slow handler in a reliable session). Past it the socket is closed:
   * 4008 in a reliable session, 1008 otherwise.
   * @default 1024
   */
  maxPendingFrames?: number
  /** Receives every binary frame (not sequenced, even in a reliable session). @default ignored */
  onBinary?: (data: Uint8Array, ctx: ConnectionContext<U>) => unknown
  /** Receives events no `on(type)` listener took. @default ignored */
  onUnhandledEvent?: (type: string, data: unknown, ctx: MessageContext<U>) => unknown
  /**
   * Sees every event and request the server accepts, in arrival order, just before it is
   * handled (a request answered from the result cache included; in a reliable session once
   * per seq, duplicates are dropped before it). For logs, metrics and audit trails; it does
   * not delay or change the handling, and a throw is reported through `onError`.
   * @default ignored
   */
  onReceive?: (type: string, data: unknown, ctx: MessageContext<U>) => unknown
  /**
   * Names each connection (`ctx.id`), from the adapter's `extra`: e.g. with a node name in
   * front, so that ids stay apart across the nodes (or the restarts) of a shared store.
   * It must return a non-empty string not in use by an open connection of this server;
   * otherwise the failure is reported through `onError` and the default id is used.
   * @default `c1`, `c2`, … in the order connections open
   */
  connectionId?: (extra: unknown) => string
  /** A connection opened (before auth). */
  onConnect?: (ctx: ConnectionContext<U>) => unknown
  /** A connection closed; in a reliable session the session lives on, detached. */
  onClose?: (ctx: ConnectionContext<U>, code: number, reason: string) => unknown
  /**
   * Failures that have nowhere else to go: a handler that threw, a malformed frame, the
   * store failing. Never given tokens.
   * @default console.error
   */
  onError?: (error: ServerError, ctx: ConnectionContext<U> | undefined) => void
}

export interface ResolvedOptions<U> {
  handlers: Readonly<Record<string, RequestHandler<U>>>
  authenticate: Authenticate<U> | undefined
  requireAuth: (extra: unknown) => boolean
  authTimeoutMs: number
  store: SessionStore
  reliable: boolean
  sessionTtlMs: number
  maxUnackedFrames: number
  maxUnackedBytes: number
  whenUnackedFull: 'reject' | 'close'
  ackAfterFrames: number
  ackDelayMs: number
  resultTtlMs: number
  maxMessageBytes: number
  maxPendingFrames: number
  onBinary: SocketServerOptions<U>['onBinary']
  onUnhandledEvent: SocketServerOptions<U>['onUnhandledEvent']
  onReceive: SocketServerOptions<U>['onReceive']
  connectionId: SocketServerOptions<U>['connectionId']
  onConnect: SocketServerOptions<U>['onConnect']
  onClose: SocketServerOptions<U>['onClose']
  onError: (error: ServerError, ctx: ConnectionContext<U> | undefined) => void
}

const KNOWN_OPTIONS = [
  'handlers',
  'authenticate',
  'requireAuth',
  'authTimeoutMs',
  'store',
  'reliable',
  'sessionTtlMs',
  'maxUnackedFrames',
  'maxUnackedBytes',
  'whenUnackedFull',
  'ackAfterFrames',
  'ackDelayMs',
  'resultTtlMs',
  'maxMessageBytes',
  'maxPendingFrames',
  'onBinary',
  'onUnhandledEvent',
  'onReceive',
  'connectionId',
  'onConnect',
  'onClose',
  'onError',
]

/** setTimeout overflows past 2^31-1 ms. */
const MAX_DELAY_MS = 2 ** 31 - 1

function invalid(message: string): ServerError {
  return new ServerError('INVALID_OPTIONS', message)
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalid(`${name} must be an integer of at least ${min} (got ${String(value)})`)
  }
  return value
}

function delay(name: string, value: number | undefined, fallback: number, min: number): number {
  const ms = integer(name, value, fallback, min)
  if (ms > MAX_DELAY_MS) throw invalid(`${name} must be at most ${MAX_DELAY_MS} ms (got ${ms})`)
  return ms
}

function callback<T>(name: string, value: T): T {
  if (value !== undefined && typeof value !== 'function') {
    throw invalid(`${name} must be a function (got ${typeof value})`)
  }
  return value
}

export function resolveOptions<U>(
  options: SocketServerOptions<U>,
  defaultStore: () => SessionStore,
): ResolvedOptions<U> {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      throw invalid(`unknown option ${key}; the options are ${KNOWN_OPTIONS.join(', ')}`)
    }
  }
  const handlers = options.handlers ?? {}
  for (const [type, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') throw invalid(`handlers.${type} must be a function`)
    if (type.startsWith('$'))
      throw invalid(`handlers.${type}: types starting with $ are the protocol's`)
  }
  const authenticate = callback('authenticate', options.authenticate)
  const requireAuth = options.requireAuth ?? authenticate !== undefined
  if (typeof requireAuth !== 'boolean' && typeof requireAuth !== 'function') {
    throw invalid('requireAuth must be a boolean or a function')
  }
  if (requireAuth !== false && authenticate === undefined) {
    throw invalid('requireAuth needs authenticate: without it no token can be accepted')
  }
  const whenUnackedFull = options.whenUnackedFull ?? 'reject'
  if (whenUnackedFull !== 'reject' && whenUnackedFull !== 'close') {
    throw invalid(`whenUnackedFull must be 'reject' or 'close' (got ${String(whenUnackedFull)})`)
  }
  const onError = callback('onError', options.onError)
  return {
    handlers,
    authenticate,
    requireAuth: typeof requireAuth === 'function' ? requireAuth : () => requireAuth,
    authTimeoutMs: delay('authTimeoutMs', options.authTimeoutMs, 5000, 1),
    store: options.store ?? defaultStore(),
    reliable: options.reliable ?? true,
    sessionTtlMs: delay('sessionTtlMs', options.sessionTtlMs, 120_000, 1),
    maxUnackedFrames: integer('maxUnackedFrames', options.maxUnackedFrames, 1000, 1),
    maxUnackedBytes: integer('maxUnackedBytes', options.maxUnackedBytes, 1024 * 1024, 1),
    whenUnackedFull,
    ackAfterFrames: integer('ackAfterFrames', options.ackAfterFrames, 32, 1),
    ackDelayMs: delay('ackDelayMs', options.ackDelayMs, 200, 0),
    resultTtlMs: delay('resultTtlMs', options.resultTtlMs, 120_000, 0),
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes, 1024 * 1024, 1),
    maxPendingFrames: integer('maxPendingFrames', options.maxPendingFrames, 1024, 1),
    onBinary: callback('onBinary', options.onBinary),
    onUnhandledEvent: callback('onUnhandledEvent', options.onUnhandledEvent),
    onReceive: callback('onReceive', options.onReceive),
    connectionId: callback('connectionId', options.connectionId),
    onConnect: callback('onConnect', options.onConnect),
    onClose: callback('onClose', options.onClose),
    onError:
      onError ??
      ((error) => {
        console.error(error)
      }),
  }
}
