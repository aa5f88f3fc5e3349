import { checkAdoptable, checkClose, checkType } from './check.ts'
import { TimerSlot } from './clock.ts'
import type { CloseInfo } from './close-codes.ts'
import { type ConnectionState, canTransition } from './connection-state.ts'
import { DecodeFailure, decodeInbound } from './decode.ts'
import { createHandlers, type Handlers } from './dispatch.ts'
import { SafeEmitter } from './emitter.ts'
import { describeValue, handlerFailed, SocketError, UnauthorizedError } from './errors.ts'
import {
  initialSnapshot,
  type ReconnectReason,
  type SocketEventName,
  type SocketEvents,
  type SocketSnapshot,
  type SocketStats,
} from './events.ts'
import { type NetworkSignal, watchNetwork } from './network.ts'
import type { SocketOptions, UrlProvider } from './options.ts'
import { checkUrl, hasBaseUrl, type ResolvedOptions, resolveOptions } from './options.ts'
import type { AttemptReason, Handshake } from './part.ts'
import { Parts } from './parts.ts'
import { planReconnect } from './retry-policy.ts'
import type {
  AppMessageType,
  DataArgs,
  IncomingOf,
  IncomingType,
  OutgoingOf,
  OutgoingType,
  RequestArgs,
  RequestData,
  RequestType,
  ResponseData,
  SocketSchema,
  UntypedSchema,
  ValidCloseCode,
} from './schema.ts'
import { type QueuedMessage, SendQueue, type SendResult } from './send-queue.ts'
import { SnapshotStore } from './snapshot.ts'
import { provideReach, SocketHost } from './socket-host.ts'
import type { WebSocketLike } from './transport.ts'
import { type Envelope, type Frame, isFrame, isProtocolType, type MessageData } from './wire.ts'

export type { SendResult }

const ABNORMAL = { code: 1006, reason: '', wasClean: false }

const NO_PARTS = new Parts([], () => {
  throw new Error('unreachable: no part needs a host')
})

// Consumers compiling without the `esnext.disposable` lib (and without @types/node, which
// declares the same) would otherwise fail on `[Symbol.dispose]` in our declarations.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol
  }
}

// `Symbol.dispose` is missing in older runtimes; the registry symbol is what polyfills use.
const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ??
  (Symbol.for('Symbol.dispose') as typeof Symbol.dispose)

/**
 * Everything that lives from `connect()` until the socket is closed, and starts over with the
 * next `connect()`. A connection (one native socket) lives inside a session.
 */
interface Session {
  /** Attempts in a row that did not open (what `maxAttempts` counts). */
  failures: number
  /** The backoff step of the last retry; see `RetryContext.attempt`. */
  step: number
  authFailures: number
  /** The server refused the credential: the next handshake must not reuse it. */
  refresh: boolean
  /** A connection opened in this session, so the next one is a reconnect. */
  opened: boolean
  /** The page is in the back/forward cache: no attempt until it is restored. */
  suspended: boolean
  /** Before this time (epoch ms) no attempt starts, whatever the network or page says. */
  floorAt: number
  /** When the last connection was lost (the policy's `elapsedMs` counts from here). */
  lostAt: number
  stopNetwork: (() => void) | null
}

/**
 * A WebSocket that stays connected: it reconnects with backoff, queues sends while
 * offline, and dispatches typed messages. Heartbeats, auth and request/response are parts
 * passed in as options (`heartbeat: heartbeat()`); see README.md, and PROTOCOL.md for the wire.
 *
 * Lifecycle (one state value, changed only by `#setState`):
 * `idle → connecting → open → reconnecting → open …`, and `closing → closed` on `close()`,
 * on a final close code from the server, or when the retry policy gives up.
 *
 * Exactly one native socket is live at a time. Every attempt gets a new generation
 * number; callbacks of an older native socket, and async work (URL and token providers)
 * begun for an older attempt, compare it and do nothing.
 */
export class ReconnectingSocket<S extends SocketSchema = UntypedSchema> {
  readonly #url: UrlProvider
  readonly #o: ResolvedOptions
  readonly #events: SafeEmitter
  readonly #store: SnapshotStore
  readonly #queue: SendQueue
  /** The retry delay or the connect timeout: never both at once. */
  readonly #timer: TimerSlot
  /** The features, through the seam: the lifecycle never names one. */
  readonly #parts: Parts
  readonly #stats = {
    connectAttempts: 0,
    opens: 0,
    reconnects: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
  }
  /** Created on first use: an idle socket with no handlers needs none. */
  #handlers: Handlers | null = null

  #state: ConnectionState = 'idle'
  #session: Session | null = null
  #generation = 0
  #ws: WebSocketLike | null = null
  /** When the current native socket opened; `null` until it does (the state lags behind it). */
  #openedAt: number | null = null
  /** Aborts the async part of the attempt in flight (URL provider, handshake parts). */
  #pending: AbortController | null = null
  /** An open held by a part (the reliable mode awaiting `$session`): the rest of the open. */
  #held: ((resumed: boolean) => void) | null = null
  /** Transitions waiting to be announced while one is (see `#setState`). */
  #announcing: (() => void)[] | null = null
  #queueCountDirty = false

  constructor(url: UrlProvider, options: SocketOptions<S> = {}) {
    this.#o = resolveOptions(options)
    this.#events = new SafeEmitter((event, error) => {
      if (event === 'error') this.#o.logger.error('an error listener threw', { error })
      else this.#report(handlerFailed(`a "${event}" listener`, error))
    })
    this.#store = new SnapshotStore(initialSnapshot(this.#online()), (error) =>
      this.#report(handlerFailed('a snapshot subscriber', error)),
    )
    // A path ('/ws') can only be resolved against a page's location: during server-side
    // rendering there is none, so it is checked when an attempt is made instead.
    if (typeof url !== 'function' && (hasBaseUrl() || !/^\.{0,2}\//.test(String(url)))) {
      checkUrl(url)
    }
    this.#url = url
    const { clock, queue, features } = this.#o
    this.#timer = new TimerSlot(clock)
    // A socket without features shares one empty set of parts: it has no state of its own.
    const parts = features.length > 0 ? new Parts(features, () => new SocketHost(this)) : NO_PARTS
    this.#parts = parts
    // The per-frame hooks only where a part needs them: the send path is the hot one.
    this.#queue = new SendQueue(queue, this.#o.highWaterMarkBytes, clock, {
      dropped: (message, reason) => {
        this.#stats.messagesDropped++
        this.#events.emit('drop', { message, reason })
      },
      written: parts.hears
        ? () => {
            this.#stats.messagesSent++
            parts.written()
          }
        : () => {
            this.#stats.messagesSent++
          },
      outbound: parts.rewrites ? (frame) => parts.outbound(frame) : undefined,
      blocked: parts.holds ? () => parts.blocked() : undefined,
      changed: () => this.#queueChanged(),
    })
    // On a microtask, so listeners attached right after `new` see the first attempt.
    if (this.#o.autoConnect) queueMicrotask(() => this.#state === 'idle' && this.connect())
  }

  /** The current state. */
  get state(): ConnectionState {
    return this.#state
  }

  /** Counters since the socket was created (a fresh copy on every read). */
  get stats(): SocketStats {
    return {
      ...this.#stats,
      queuedMessages: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      pendingRequests: this.#parts.requests?.pendingCount ?? 0,
      rttMs: this.#store.current.rttMs,
      ...this.#parts.stats(),
    }
  }

  /** The current snapshot: the same object until something changes (for `useSyncExternalStore`). */
  readonly getSnapshot = (): SocketSnapshot => this.#store.current

  /** Calls `listener` after every snapshot change; returns the unsubscribe function. */
  readonly subscribe = (listener: () => void): (() => void) => this.#store.subscribe(listener)

  /** Listens to a lifecycle event; returns the unsubscribe function. A throwing listener is reported as `error`. */
  on<E extends SocketEventName>(
    event: E,
    listener: (payload: SocketEvents[E]) => void,
  ): () => void {
    return this.#events.on(event, listener)
  }

  /** Like `on()`, for the next occurrence only. */
  once<E extends SocketEventName>(
    event: E,
    listener: (payload: SocketEvents[E]) => void,
  ): () => void {
    return this.#events.once(event, listener)
  }

  /** Handles one application message type, typed by the schema; returns the unsubscribe function. */
  onMessage<K extends IncomingType<S>, Declared extends string = IncomingType<S>>(
    type: AppMessageType<K, Declared>,
    handler: (data: IncomingOf<S>[K], envelope: Envelope) => void,
  ): () => void {
    if (typeof handler !== 'function')
      throw new SocketError('INVALID_OPTIONS', 'onMessage: handler must be a function')
    this.#handlers ??= createHandlers({
      report: (error) => this.#report(error),
      unhandled: (envelope) => this.#events.emit('unhandled', envelope),
      alive: () => this.#isActive(),
      validators: this.#o.validate.incoming,
    })
    return this.#handlers.on(type, handler as (data: unknown, envelope: Envelope) => void)
  }

  /** Starts connecting. Does nothing unless the socket is `idle` or `closed`. */
  connect(): void {
    if (this.#state !== 'idle' && this.#state !== 'closed') return
    const now = this.#o.clock.now()
    const session: Session = {
      failures: 0,
      step: 0,
      authFailures: 0,
      refresh: false,
      opened: false,
      suspended: false,
      floorAt: 0,
      lostAt: now,
      stopNetwork: null,
    }
    this.#session = session
    this.#queue.accepting = true
    if (this.#o.network) {
      session.stopNetwork = watchNetwork(this.#o.network, (signal) => this.#onNetwork(signal))
    }
    const generation = this.#generation
    this.#setState('connecting', { attempt: 0, lastError: null, online: this.#online() })
    // A `state` listener may have called close(), or close() and connect(), already.
    if (generation === this.#generation) this.#attempt('connect')
  }

  /**
   * Stops for good (until `connect()`): closes the connection with `code` and `reason`,
   * clears every timer and listener of ours, rejects pending requests and `flush()` with
   * `CLOSED`, and drops queued messages (reported as `drop` with reason `closed`; use
   * `takeQueued()` first to keep them). Does nothing if already closed.
   */
  close<C extends number>(code = 1000 as ValidCloseCode<C>, reason = ''): void {
    checkClose(code, reason)
    const from = this.#state
    if (from === 'closed' || from === 'closing') return
    // From `closing`, close() and connect() are no-ops, so listeners cannot interfere here.
    if (from !== 'idle') this.#setState('closing')
    const wasOpen = this.#dropConnection({ code, reason }) !== null
    // Everything is released before `closed` is announced, so a listener that calls
    // connect() from there starts a clean session.
    this.#releaseSession(new SocketError('CLOSED', 'the socket was closed'))
    const closeInfo = { code, reason, wasClean: true }
    if (wasOpen)
      this.#announce(() => this.#events.emit('close', { ...closeInfo, willReconnect: false }))
    // The last close is this one, not an earlier close the server made (a 4001 shown after
    // the user closed would say the server refused them).
    this.#setState('closed', { nextRetryAt: null, lastClose: closeInfo })
  }

  /** Same as `close()`, for `using socket = new ReconnectingSocket(…)`. */
  [disposeSymbol](): void {
    this.close()
  }

  /**
   * Sends a typed event. Returns `'sent'` (written to the socket), `'queued'` (held until
   * the connection is open, see `queue`) or `'dropped'` (reported through `drop`). Never
   * throws for a connection reason; throws `ENCODE_FAILED` for data the codec cannot
   * encode, and `QUEUE_FULL` under the `'reject'` overflow policy (or, under any policy,
   * when called from an overflow `drop` listener while the queue is full).
   */
  send<K extends OutgoingType<S>, Declared extends string = OutgoingType<S>>(
    type: AppMessageType<K, Declared>,
    ...[data]: DataArgs<OutgoingOf<S>[K]>
  ): SendResult {
    checkType(type)
    return this.#queue.submit(this.#encode(data === undefined ? { type } : { type, data }), type)
  }

  /** Sends a frame as is, bypassing the codec; same queue rules as `send()`. */
  sendRaw(data: Frame): SendResult {
    if (!isFrame(data)) {
      throw new SocketError(
        'INVALID_OPTIONS',
        `sendRaw: data must be a string or binary data (got ${describeValue(data)})`,
      )
    }
    return this.#queue.submit(data, undefined)
  }

  /**
   * Sends a request and resolves with the response's data; needs the `requests` option
   * (`requests: requests()`). Rejects with a `SocketError`: `REQUEST_TIMEOUT`, `ABORTED`,
   * `CONNECTION_LOST` (dropped after sending, unless `idempotent`), `REMOTE_ERROR` (a
   * `RemoteError` with the server's code), `VALIDATION_FAILED`, `CLOSED` or `DROPPED`. While
   * not open the request is queued; its timeout runs from the call.
   */
  request<K extends RequestType<S>, Declared extends string = RequestType<S>>(
    type: AppMessageType<K, Declared>,
    ...args: RequestArgs<RequestData<S, K>>
  ): Promise<ResponseData<S, K>> {
    const requests = this.#parts.requests
    if (!requests) {
      return Promise.reject(
        new SocketError(
          'INVALID_OPTIONS',
          'request() needs the requests part: new ReconnectingSocket(url, { requests: requests() })',
        ),
      )
    }
    return requests.request(type, ...(args as [unknown, never])) as Promise<ResponseData<S, K>>
  }

  /**
   * Resolves once everything queued has been written to the socket and the socket's own
   * buffer has drained. Rejects with `CLOSED` if the socket is closed first.
   */
  flush(): Promise<void> {
    return this.#queue.flush()
  }

  /** Removes and returns the unsent messages, e.g. to hand them to another socket. */
  takeQueued(): QueuedMessage[] {
    return this.#queue.take()
  }

  /**
   * Puts messages taken from another socket (`takeQueued()`) at the front of this one's
   * queue, in order, keeping their type and age; they go out before anything sent here.
   * On a closed socket, or with `queue: false`, they are reported through `drop`. Throws
   * `INVALID_OPTIONS`, adopting nothing, if a message's data is not a frame.
   */
  adoptQueued(messages: readonly QueuedMessage[]): void {
    checkAdoptable(messages)
    this.#queue.adopt(messages)
  }

  // ── One connection: attempt, open, messages ─────────────────────────────────────────

  #attempt(reason: AttemptReason): void {
    const generation = ++this.#generation
    const pending = new AbortController()
    this.#pending = pending
    const { connectTimeoutMs } = this.#o
    this.#timer.set(() => {
      const error = new SocketError(
        'CONNECT_TIMEOUT',
        `no connection within ${connectTimeoutMs} ms`,
      )
      this.#attemptFailed(generation, error)
    }, connectTimeoutMs)
    void this.#open(generation, reason, pending.signal)
    // Subscribers run last: one of them may close the socket.
    if (generation === this.#generation) this.#store.update({ nextRetryAt: null })
  }

  async #open(generation: number, reason: AttemptReason, signal: AbortSignal): Promise<void> {
    const session = this.#session as Session
    let handshake: Handshake
    try {
      const url = typeof this.#url === 'function' ? await this.#url() : this.#url
      if (generation !== this.#generation) return
      handshake = { url: checkUrl(url), protocols: this.#o.protocols }
      const context = {
        reason,
        forceRefresh: session.refresh || reason === 'renew',
        attempt: session.failures,
        signal,
      }
      if (this.#parts.amendsHandshake) {
        handshake = await this.#parts.handshake(
          handshake,
          context,
          () => generation !== this.#generation,
        )
        if (generation !== this.#generation) return
      }
      session.refresh = false
    } catch (error) {
      if (generation !== this.#generation) return
      if (error instanceof UnauthorizedError) this.#endSession(null, error)
      else this.#attemptFailed(generation, asSocketError(error, 'CONNECTION_FAILED'))
      return
    }
    let ws: WebSocketLike
    try {
      // undici (Node's global WebSocket) takes an init object with headers.
      const { url, protocols, headers } = handshake
      ws = new this.#o.WebSocket(url, (headers ? { protocols, headers } : protocols) as string[])
    } catch (error) {
      this.#attemptFailed(generation, describeValue(error))
      return
    }
    this.#stats.connectAttempts++
    this.#ws = ws
    ws.binaryType = this.#o.binaryType
    // A subprotocol a part added (a token) is the part's business, not the application's.
    const added = handshake.protocols.filter((p) => !this.#o.protocols.includes(p))
    ws.onopen = () => generation === this.#generation && this.#onOpen(ws, generation, added)
    ws.onmessage = (event: { data: MessageData }) =>
      generation === this.#generation && this.#onMessage(event.data)
    ws.onclose = ({ code, reason, wasClean }: CloseInfo) => {
      if (generation !== this.#generation) return
      const close = { code, reason, wasClean }
      const final = this.#parts.finalClose(close)
      if (final) this.#endSession(close, final)
      else if (this.#state === 'open') this.#reconnect(close, 'connection-lost')
      else this.#attemptFailed(generation, `closed with ${code} before opening`, close)
    }
    // Node 22 reports a refused connection with `error` and no `close` at all, so an error
    // before open ends the attempt here. After open, the `close` that follows decides.
    ws.onerror = (event: { message?: string }) => {
      if (this.#state !== 'open')
        this.#attemptFailed(
          generation,
          typeof event?.message === 'string' ? event.message : 'connection error',
        )
    }
    this.#o.logger.debug('connecting', { url: this.#redact(handshake.url) })
  }

  #onOpen(ws: WebSocketLike, generation: number, partProtocols: string[]): void {
    // The parts' first frames go out before anything else; one that cannot start fails the attempt.
    let wait: 'wait' | undefined
    try {
      wait = this.#parts.opened(() => generation !== this.#generation)
    } catch (error) {
      this.#attemptFailed(generation, asSocketError(error, 'HANDLER_FAILED'))
      return
    }
    if (generation !== this.#generation) return
    const open = (resumed: boolean) => this.#opened(ws, generation, partProtocols, resumed)
    if (wait) {
      // The part that holds the open has its own deadline (the reliable mode's
      // `helloTimeoutMs`), and says what a miss means: not the connect timeout's verdict.
      this.#timer.clear()
      this.#held = open
    } else open(false)
  }

  /** The open is complete (after any part that held it): announce it, then the queue. */
  #opened(ws: WebSocketLike, generation: number, partProtocols: string[], resumed: boolean): void {
    if (generation !== this.#generation) return
    this.#timer.clear()
    this.#pending = null
    this.#openedAt = this.#o.clock.now()
    const session = this.#session as Session
    // An attempt that opened did not fail, however soon the connection is lost again.
    session.failures = 0
    const reconnected = session.opened
    session.opened = true
    this.#stats.opens++
    if (reconnected) this.#stats.reconnects++
    this.#setState('open', { nextRetryAt: null, lastError: null })
    if (this.#ws !== ws) return // a `state` listener closed it
    // Order on every open: the parts' frames, then what `open` listeners send (they go
    // straight out, ahead of the queue), then the queue, then new sends.
    const protocol = partProtocols.includes(ws.protocol) ? '' : ws.protocol
    this.#queue.attach(ws)
    this.#queue.priority = true
    try {
      this.#events.emit('open', { reconnected, protocol, resumed })
    } finally {
      this.#queue.priority = false
    }
    if (this.#ws === ws) this.#queue.drain()
  }

  #onMessage(data: MessageData): void {
    this.#stats.messagesReceived++
    if (this.#parts.inbound(data)) return
    const generation = this.#generation
    const { codec, maxMessageBytes } = this.#o
    let envelope = decodeInbound(data, codec, maxMessageBytes)
    if (envelope instanceof DecodeFailure) {
      this.#report(envelope.error)
      if (generation === this.#generation) this.#parts.undecodable(data)
      // An `error` listener may have closed the socket; some frames go to nobody (too large,
      // or one of the protocol's own that is malformed).
      if (!envelope.deliver || generation !== this.#generation) return
      envelope = undefined
    }
    // `$`-types belong to the protocol: they go to the part that handles them, never to
    // application code.
    if (envelope !== undefined && !this.#parts.envelope(envelope)) return
    if (envelope !== undefined && isProtocolType(envelope.type)) {
      this.#parts.frame(envelope)
      return
    }
    if (this.#events.has('message')) this.#events.emit('message', { data, envelope })
    // A `message` listener may have closed the socket: its handlers must not run after that.
    if (envelope === undefined || generation !== this.#generation) return
    if (envelope.re !== undefined) this.#parts.response(envelope)
    else if (this.#handlers) this.#handlers.dispatch(envelope)
    else this.#events.emit('unhandled', envelope)
  }

  // ── Losing a connection, and the retry loop ─────────────────────────────────────────

  /** A string is the runtime's own description of the failure; it may quote the URL and its token. */
  #attemptFailed(generation: number, error: SocketError | string, close = ABNORMAL): void {
    if (generation !== this.#generation) return
    if (typeof error === 'string') error = new SocketError('CONNECTION_FAILED', this.#redact(error))
    this.#store.update({ lastError: error })
    this.#report(error)
    // An `error` listener or a subscriber may have closed the socket meanwhile.
    if (generation === this.#generation) this.#reconnect(close, 'attempt-failed')
  }

  /**
   * The retry loop, in one place: a connection (or an attempt) ended with `close`. Settle
   * what was in flight, ask the close-code table and the retry policy what next, then either
   * end the session or schedule the next attempt and announce `reconnecting`.
   *
   * `planned` is a reconnect the socket makes itself (a renewed token, the page suspended):
   * the connection is closed cleanly and the next attempt is due in `planned` ms, or waits
   * for a signal (`null`), without asking the policy.
   */
  #reconnect(close: CloseInfo, reason: ReconnectReason, planned?: number | null): void {
    // A verdict of ours (a dead link, a planned reconnect) cuts the socket with its own code;
    // anything else is gone already.
    const ours =
      planned !== undefined || reason === 'heartbeat-timeout' || reason === 'protocol-error'
    const openedAt = this.#dropConnection(ours ? close : undefined)
    const wasOpen = openedAt !== null
    const generation = this.#generation
    // Settling what was in flight can report drops, whose listeners may close the socket.
    if (wasOpen) this.#connectionLost(openedAt)
    const session = this.#session
    if (generation !== this.#generation || !session) return
    const { clock, shouldReconnect, maxAttempts, retry } = this.#o
    const now = clock.now()
    const online = this.#online()
    let delayMs = planned ?? null
    if (planned === undefined) {
      const plan = planReconnect(
        {
          close,
          authConfigured: this.#parts.credentials,
          shouldReconnect,
          failures: session.failures,
          step: session.step,
          authFailures: session.authFailures,
          maxAttempts,
          retry,
          elapsedMs: now - session.lostAt,
          online,
        },
        (error) => this.#report(error),
      )
      // shouldReconnect, the policy or an error listener may have closed the socket.
      if (generation !== this.#generation) return
      if (plan.action === 'stop') {
        this.#endSession(close, plan.error, wasOpen)
        return
      }
      session.failures = plan.failures
      session.step = plan.step
      session.authFailures = plan.authFailures
      if (plan.refreshAuth) {
        session.refresh = true
        reason = 'auth-failure'
      }
      session.floorAt = now + plan.floorMs
      // Offline or suspended: no attempt (it would fail and burn the budget) until the signal.
      // A policy's `Infinity` means the same: wait for the network or the page to say "now".
      delayMs =
        !online || session.suspended || plan.delayMs === Number.POSITIVE_INFINITY
          ? null
          : plan.delayMs
    }
    // A planned 0 (a renewed token) attempts at once, after the announcements; any other delay,
    // 0 included, is the timer's.
    const immediate = planned === 0
    const next = this.#retryReason()
    if (delayMs !== null && !immediate) this.#timer.set(() => this.#attempt(next), delayMs)
    // Announced after the timer is armed, so a listener that calls close() cancels it: the
    // state, then `close` (if a connection was open), then `reconnecting`.
    const patch = planned === undefined ? { attempt: session.failures, online } : {}
    const nextRetryAt = delayMs === null ? null : now + delayMs
    this.#setState('reconnecting', { lastClose: close, nextRetryAt, ...patch })
    if (generation !== this.#generation) return
    if (wasOpen) this.#announce(() => this.#events.emit('close', { ...close, willReconnect: true }))
    if (generation !== this.#generation) return
    const event = { attempt: session.failures, delayMs, reason, lastClose: close }
    this.#announce(() => this.#events.emit('reconnecting', event))
    this.#o.logger.debug('reconnecting', { attempt: session.failures, delayMs, code: close.code })
    if (immediate && generation === this.#generation) this.#attempt('renew')
  }

  /**
   * Cuts the current native socket loose; the session goes on. Returns when it had opened,
   * or `null`.
   */
  #dropConnection(closeWith?: { code: number; reason: string }): number | null {
    const openedAt = this.#openedAt
    this.#openedAt = null
    this.#generation++
    this.#timer.clear()
    this.#queue.attach(null)
    this.#pending?.abort()
    this.#pending = null
    if (this.#held) {
      // Opened for the parts, never announced: they stop what they started (timers), and
      // nothing was written on it that they could have to settle.
      this.#held = null
      this.#parts.lost(this.#o.clock.now())
    }
    const ws = this.#ws
    this.#ws = null
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
      if (ws.readyState <= 1) {
        try {
          ws.close(closeWith?.code ?? 1000, closeWith?.reason ?? '')
        } catch {
          // Some runtimes throw when closing a socket that failed to connect; it is gone either way.
        }
      }
    }
    return openedAt
  }

  /**
   * An open connection was lost and the session goes on: reset the backoff after a long
   * enough uptime, and let the parts settle what was in flight (their requeued frames go
   * back to the front of the queue).
   */
  #connectionLost(openedAt: number): void {
    const session = this.#session as Session
    const now = this.#o.clock.now()
    if (now - openedAt >= this.#o.minUptimeMs) {
      session.step = 0
      session.authFailures = 0
    } else if (session.step > 1) {
      // Not proof of health: the next retry backs off as much as the one that opened it, and
      // never again quickly, so a server that accepts and drops at once is not hammered.
      session.step--
    }
    session.lostAt = now
    const requeued = this.#parts.lost(now)
    if (requeued.length > 0) this.#queue.requeue(requeued)
  }

  /** Ends in `closed` for a reason other than `close()`: a final close code, or giving up. */
  #endSession(close: CloseInfo | null, error: SocketError | null, lostOpen = false): void {
    const wasOpen = this.#dropConnection() !== null || lostOpen
    const generation = this.#generation
    this.#releaseSession(
      error ?? new SocketError('CLOSED', `the server closed the connection (${close?.code ?? ''})`),
    )
    // A `drop` or `close` listener that called close() and connect(): the new session is theirs.
    if (generation !== this.#generation) return
    if (wasOpen && close) {
      this.#announce(() => this.#events.emit('close', { ...close, willReconnect: false }))
      if (generation !== this.#generation) return
    }
    this.#setState('closed', {
      lastClose: close ?? this.#store.current.lastClose,
      lastError: error,
      nextRetryAt: null,
    })
    if (error && this.#state === 'closed') this.#report(error)
  }

  /** Releases what outlives a connection: network listeners, the parts, the queue, waiters. */
  #releaseSession(error: SocketError): void {
    this.#session?.stopNetwork?.()
    this.#session = null
    this.#parts.ended(error)
    this.#queue.close(error)
  }

  // ── Network and page signals ────────────────────────────────────────────────────────

  #onNetwork(signal: NetworkSignal): void {
    const state = this.#state
    const session = this.#session as Session
    this.#o.logger.debug('network signal', { signal, state })
    if (signal === 'suspend') {
      // Close cleanly so the page may enter the back/forward cache; resume on `restore`.
      if (state === 'open' || state === 'connecting' || state === 'reconnecting') {
        session.suspended = true
        this.#reconnect(
          // 1001, going away: what browsers send when a page is left, and a close that a
          // reliable session survives (1000 ends it).
          { code: 1001, reason: 'page suspended', wasClean: true },
          'page-suspended',
          null,
        )
      }
      return
    }
    if (signal === 'restore') {
      if (!session.suspended) return
      session.suspended = false // so the state is `reconnecting`, never `open`
    } else if (signal !== 'wake') this.#store.update({ online: signal === 'online' })
    if (state === 'open') this.#parts.wake()
    else if (signal !== 'offline') this.#retryNow()
    else if (this.#waiting()) {
      // Attempts now would fail and burn the attempt budget: wait for `online`.
      this.#timer.clear()
      this.#store.update({ nextRetryAt: null })
    }
  }

  /** Between attempts: reconnecting, with no native socket and no attempt in progress. */
  #waiting(): boolean {
    return this.#state === 'reconnecting' && this.#ws === null && this.#pending === null
  }

  /**
   * The network or the page says "now": attempt at once if waiting to retry, but never
   * before the floor the server asked for (1013, `retry-after`).
   */
  #retryNow(): void {
    const session = this.#session
    if (!session || !this.#waiting() || session.suspended || !this.#online()) return
    const waitMs = session.floorAt - this.#o.clock.now()
    if (waitMs <= 0) {
      this.#attempt(this.#retryReason())
      return
    }
    this.#timer.set(() => this.#attempt(this.#retryReason()), waitMs)
    this.#store.update({ nextRetryAt: session.floorAt })
  }

  #retryReason(): AttemptReason {
    return this.#session?.refresh ? 'auth-failure' : 'reconnect'
  }

  // ── What the parts see ──────────────────────────────────────────────────────────────

  // What `SocketHost` may reach of a socket: set once, here, where private fields are in scope.
  static {
    provideReach<ReconnectingSocket<SocketSchema>>({
      options: (socket) => socket.#o,
      generation: (socket) => socket.#generation,
      active: (socket) => socket.#isActive(),
      buffered: (socket) => socket.#ws?.bufferedAmount ?? 0,
      encode: (socket, envelope) => socket.#encode(envelope),
      write: (socket, build) => socket.#write(build),
      submit: (socket, frame, type, owner) => socket.#queue.submit(frame, type, owner),
      update: (socket, patch) => socket.#store.update(patch),
      emit: (socket, event, payload) => socket.#events.emit(event, payload as never),
      report: (socket, error) => socket.#report(error),
      drop: (socket, close, reason) => {
        if (socket.#openedAt !== null) socket.#reconnect(close, reason)
      },
      reconnect: (socket, close, reason) => {
        if (socket.#openedAt !== null) socket.#reconnect(close, reason, 0)
      },
      stop: (socket, close, error) => {
        if (socket.#isActive()) socket.#endSession(close, error)
      },
      ready: (socket, resumed) => {
        const open = socket.#held
        socket.#held = null
        open?.(resumed)
      },
      drain: (socket) => socket.#queue.drain(),
      replays: (socket) => socket.#parts.replays(),
      sessionLost: (socket, report) => {
        const generation = socket.#generation
        const { resent, rejected } = socket.#parts.sessionLost()
        if (generation !== socket.#generation) return
        socket.#events.emit('sessionlost', {
          ...report,
          resentRequests: resent,
          rejectedRequests: rejected,
        })
      },
    })
  }

  /** Writes a protocol frame straight to the open socket; a throwing builder is reported. */
  #write(build: () => Frame): boolean {
    const ws = this.#ws
    if (ws === null || ws.readyState !== 1) return false
    let frame: Frame
    try {
      frame = build()
      if (!isFrame(frame)) {
        throw new SocketError(
          'HANDLER_FAILED',
          `a protocol frame must be a string or binary data (got ${describeValue(frame)})`,
        )
      }
    } catch (error) {
      this.#report(asSocketError(error, 'HANDLER_FAILED'))
      return false
    }
    ws.send(frame)
    this.#stats.messagesSent++
    return true
  }

  #queueChanged(): void {
    // The queue count in the snapshot is updated once per burst of sends, not per message.
    if (this.#queueCountDirty) return
    this.#queueCountDirty = true
    queueMicrotask(() => {
      this.#queueCountDirty = false
      const queuedMessages = this.#queue.length
      if (queuedMessages !== this.#store.current.queuedMessages)
        this.#store.update({ queuedMessages })
    })
  }

  #encode(envelope: Envelope): Frame {
    try {
      return this.#o.codec.encode(envelope)
    } catch (error) {
      // A codec's own ENCODE_FAILED says more than ours could (rawCodec and requests).
      if (error instanceof SocketError && error.code === 'ENCODE_FAILED') throw error
      throw new SocketError('ENCODE_FAILED', `could not encode "${envelope.type}"`, {
        cause: error,
      })
    }
  }

  // ── State and reporting ─────────────────────────────────────────────────────────────

  #setState(to: ConnectionState, patch?: Partial<SocketSnapshot>): void {
    const from = this.#state
    if (from === to) {
      if (patch) this.#store.update(patch)
      return
    }
    if (!canTransition(from, to))
      throw new Error(`resilient-socket: invalid transition ${from} → ${to}`)
    this.#state = to
    // The snapshot is always the current state; what waits is telling about it. A transition
    // made by a `state` listener or a subscriber (close() then connect(), say) is announced
    // after the current one has reached everyone, so every listener sees them in order.
    // A ping is only ever in flight while open, and a transition starts or ends that.
    this.#store.set({ pongDeadlineAt: null, ...patch, state: to })
    this.#announce(() => {
      this.#o.logger.debug('state', { from, to })
      this.#events.emit('state', { from, to })
      this.#store.notify()
    })
  }

  /**
   * Runs `deliver` now, or, if a lifecycle event is being delivered (a listener of it made
   * this one), after it and every one queued before. So every listener sees `state`,
   * `close` and `reconnecting` in the order they happened, however listeners re-enter.
   */
  #announce(deliver: () => void): void {
    if (this.#announcing) {
      this.#announcing.push(deliver)
      return
    }
    const queue = [deliver]
    this.#announcing = queue
    try {
      for (let i = 0; i < queue.length; i++) (queue[i] as () => void)()
    } finally {
      this.#announcing = null
    }
  }

  #report(error: SocketError): void {
    if (this.#events.has('error')) this.#events.emit('error', error)
    else this.#o.logger.warn(error.message, { code: error.code })
  }

  #isActive(): boolean {
    return this.#state !== 'closed' && this.#state !== 'closing'
  }

  #online(): boolean {
    return this.#o.network?.isOnline?.() ?? true
  }

  #redact(text: string): string {
    return this.#parts.redact(text)
  }
}

/** Wraps whatever a user callback threw, whatever it is (a string, `undefined`, a null-prototype object). */
function asSocketError(error: unknown, code: SocketError['code']): SocketError {
  return error instanceof SocketError
    ? error
    : new SocketError(code, describeValue(error), { cause: error })
}
