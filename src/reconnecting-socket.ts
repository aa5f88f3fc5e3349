import { nanoid } from 'nanoid/non-secure'
import { obtainToken, placeToken, type ResolvedToken, redact, type TokenReason } from './auth.ts'
import { TimerSlot } from './clock.ts'
import { type CloseInfo, HEARTBEAT_TIMEOUT_CODE } from './close-codes.ts'
import { checkEnvelope, jsonCodec, protocolEnvelope, rawCodec } from './codec.ts'
import { type ConnectionState, canTransition } from './connection-state.ts'
import { createDispatcher, type Dispatcher, type RequestOptions } from './dispatch.ts'
import { SafeEmitter } from './emitter.ts'
import { describeValue, handlerFailed, SocketError, UnauthorizedError } from './errors.ts'
import type {
  ReconnectReason,
  SocketEventName,
  SocketEvents,
  SocketSnapshot,
  SocketStats,
} from './events.ts'
import { Heartbeat } from './heartbeat.ts'
import { type NetworkSignal, watchNetwork } from './network.ts'
import {
  checkUrl,
  hasBaseUrl,
  type ResolvedOptions,
  resolveOptions,
  type SocketOptions,
  type UrlProvider,
} from './options.ts'
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
import { createTokenRenewal, type TokenRenewal } from './token-renewal.ts'
import type { WebSocketLike } from './transport.ts'
import {
  type Envelope,
  type Frame,
  frameBytes,
  isFrame,
  isProtocolType,
  type MessageData,
} from './wire.ts'

export type { SendResult }

const ABNORMAL = 1006

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
 * A WebSocket that stays connected: it reconnects with backoff, queues sends while
 * offline, detects dead connections with heartbeats, refreshes tokens and speaks typed
 * request/response. See README.md for the guide and PROTOCOL.md for the wire format.
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
  /** Created on first use: an idle socket with no handlers and no requests needs none. */
  #dispatcherInstance: Dispatcher | null = null
  readonly #queue: SendQueue
  readonly #heartbeat: Heartbeat | null
  readonly #isPong: ((data: unknown) => boolean) | undefined
  /** The retry delay or the connect timeout: never both at once. */
  readonly #timer: TimerSlot
  readonly #renewal: TokenRenewal | null
  readonly #stats = {
    connectAttempts: 0,
    opens: 0,
    reconnects: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
  }

  #state: ConnectionState = 'idle'
  readonly #store: SnapshotStore
  #generation = 0
  #ws: WebSocketLike | null = null
  /** Aborts the async part of the attempt (or token renewal) in flight. */
  #pending: AbortController | null = null
  /** Attempts in a row that did not open (what `maxAttempts` counts). */
  #failures = 0
  /** The backoff step of the last retry; see `RetryContext.attempt`. */
  #step = 0
  #authFailures = 0
  #forceRefresh = false
  #token: ResolvedToken | null = null
  /** A token fetched ahead of a quiet reconnect, used by the next attempt. */
  #nextToken: ResolvedToken | null = null
  #openedAt = 0
  #lostAt = 0
  #openedInSession = false
  /** Before this time (epoch ms) no attempt starts, whatever the network or page says. */
  #retryFloorAt = 0
  /**
   * The current native socket has opened. Not the same as `state === 'open'`: a
   * transition is announced only after the work it implies is done, so the state lags.
   */
  #isOpen = false
  #suspended = false
  #stopNetwork: (() => void) | null = null
  /** Transitions waiting to be announced while one is (see `#setState`). */
  #announcing: (() => void)[] | null = null
  #queueCountDirty = false

  constructor(url: UrlProvider, options: SocketOptions<S> = {}) {
    this.#o = resolveOptions(options)
    this.#events = new SafeEmitter((event, error) => {
      if (event === 'error') this.#o.logger.error('an error listener threw', { error })
      else this.#report(handlerFailed(`a "${event}" listener`, error))
    })
    this.#store = new SnapshotStore(
      {
        state: 'idle',
        attempt: 0,
        nextRetryAt: null,
        online: this.#online(),
        rttMs: null,
        pongDeadlineAt: null,
        queuedMessages: 0,
        lastClose: null,
        lastError: null,
      },
      (error) => this.#report(handlerFailed('a snapshot subscriber', error)),
    )
    // A path ('/ws') can only be resolved against a page's location: during server-side
    // rendering there is none, so it is checked when an attempt is made instead.
    if (typeof url !== 'function' && (hasBaseUrl() || !/^\.{0,2}\//.test(String(url)))) {
      checkUrl(url)
    }
    this.#url = url
    const { clock, queue, heartbeat } = this.#o
    this.#timer = new TimerSlot(clock)
    this.#renewal = this.#o.auth
      ? createTokenRenewal(this.#o.auth, clock, {
          sendAuth: (token) => {
            this.#token = token
            this.#sendControl(() => this.#authFrame(token))
          },
          reconnectWith: (token) => {
            this.#nextToken = token
            const close = { code: 1000, reason: 'token refresh', wasClean: true }
            if (this.#announceReconnect(close, 'token-refresh', 0)) this.#attempt('renew')
          },
          unauthorized: (error) =>
            this.#stop({ code: 1000, reason: 'unauthorized', wasClean: true }, error),
          report: (error) => this.#report(error),
        })
      : null
    this.#queue = new SendQueue(queue, this.#o.highWaterMarkBytes, clock, {
      dropped: (message, reason) => {
        this.#stats.messagesDropped++
        this.#events.emit('drop', { message, reason })
      },
      written: () => {
        this.#stats.messagesSent++
        this.#heartbeat?.noteOutbound()
      },
      changed: () => this.#queueChanged(),
    })
    this.#isPong = heartbeat ? heartbeat.isPong : undefined
    this.#heartbeat = heartbeat
      ? new Heartbeat(heartbeat, clock, {
          sendPing: (deadlineAt) => {
            const generation = this.#generation
            const sent = this.#sendControl(() =>
              heartbeat.ping ? heartbeat.ping() : this.#encode({ type: '$ping', id: nanoid() }),
            )
            // A throwing ping() is reported as `error`, whose listener may have closed the socket.
            if (!sent || generation !== this.#generation) return
            this.#store.update({ pongDeadlineAt: deadlineAt })
            if (generation === this.#generation)
              this.#events.emit('heartbeat', { phase: 'ping', deadlineAt })
          },
          deadline: (pongDeadlineAt) => this.#store.update({ pongDeadlineAt }),
          buffered: () => this.#ws?.bufferedAmount ?? 0,
          onDead: () =>
            this.#connectionEnded(
              { code: HEARTBEAT_TIMEOUT_CODE, reason: 'heartbeat timeout', wasClean: false },
              'heartbeat-timeout',
            ),
          onRtt: (rttMs) => {
            const generation = this.#generation
            this.#store.update({ rttMs, pongDeadlineAt: null })
            if (generation === this.#generation)
              this.#events.emit('heartbeat', { phase: 'pong', rttMs })
          },
        })
      : null
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
      pendingRequests: this.#dispatcherInstance?.pendingCount ?? 0,
      rttMs: this.#store.current.rttMs,
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
    return this.#dispatcher.on(type, handler as (data: unknown, envelope: Envelope) => void)
  }

  /** Starts connecting. Does nothing unless the socket is `idle` or `closed`. */
  connect(): void {
    if (this.#state !== 'idle' && this.#state !== 'closed') return
    this.#failures = 0
    this.#step = 0
    this.#authFailures = 0
    this.#forceRefresh = false
    this.#openedInSession = false
    this.#suspended = false
    this.#retryFloorAt = 0
    this.#queue.accepting = true
    this.#lostAt = this.#o.clock.now()
    if (this.#o.network) {
      this.#stopNetwork = watchNetwork(this.#o.network, (signal) => this.#onNetwork(signal))
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
    if (!Number.isInteger(code) || (code !== 1000 && !(code >= 3000 && code <= 4999))) {
      throw new SocketError(
        'INVALID_OPTIONS',
        `close: code must be 1000 or 3000-4999 (got ${describeValue(code)})`,
      )
    }
    if (typeof reason !== 'string' || frameBytes(reason) > 123) {
      throw new SocketError('INVALID_OPTIONS', 'close: reason must be at most 123 bytes of UTF-8')
    }
    const from = this.#state
    if (from === 'closed' || from === 'closing') return
    // From `closing`, close() and connect() are no-ops, so listeners cannot interfere here.
    if (from !== 'idle') this.#setState('closing')
    const wasOpen = this.#lose({ code, reason })
    // Everything is released before `closed` is announced, so a listener that calls
    // connect() from there starts a clean session.
    this.#teardown(new SocketError('CLOSED', 'the socket was closed'))
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
        `sendRaw: data must be a string, ArrayBuffer, typed array, DataView or Blob (got ${describeValue(data)})`,
      )
    }
    return this.#queue.submit(data, undefined)
  }

  /**
   * Sends a request and resolves with the response's data. Rejects with a `SocketError`:
   * `REQUEST_TIMEOUT`, `ABORTED`, `CONNECTION_LOST` (dropped after sending, unless
   * `idempotent`), `REMOTE_ERROR` (a `RemoteError` with the server's code), `VALIDATION_FAILED`,
   * `CLOSED` or `DROPPED`. While not open the request is queued; its timeout runs from the call.
   */
  request<K extends RequestType<S>, Declared extends string = RequestType<S>>(
    type: AppMessageType<K, Declared>,
    ...args: RequestArgs<RequestData<S, K>>
  ): Promise<ResponseData<S, K>> {
    const [data, options = {}] = args as [unknown, RequestOptions?]
    try {
      checkType(type)
      const timeoutMs = options.timeoutMs ?? this.#o.requestTimeoutMs
      if (!(timeoutMs > 0))
        throw new SocketError('INVALID_OPTIONS', 'request: timeoutMs must be a number > 0')
      const id = nanoid()
      const frame = this.#encode(data === undefined ? { type, id } : { type, id, data })
      const { request, promise } = this.#dispatcher.track(id, type, frame, {
        ...options,
        timeoutMs,
      })
      if (!request.cancelled) {
        try {
          this.#queue.submit(frame, type, request)
        } catch (error) {
          request.fail(error as SocketError)
        }
      }
      return promise as Promise<ResponseData<S, K>>
    } catch (error) {
      return Promise.reject(error)
    }
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
    const bad = Array.isArray(messages)
      ? messages.findIndex((message) => !isFrame(message?.data))
      : -2
    if (bad !== -1) {
      const got = bad === -2 ? messages : (messages[bad] as { data?: unknown } | undefined)?.data
      throw new SocketError(
        'INVALID_OPTIONS',
        `adoptQueued: pass the array takeQueued() returned; each message's data must be a frame (got ${describeValue(got)})`,
      )
    }
    this.#queue.adopt(messages)
  }

  // ── Attempts ────────────────────────────────────────────────────────────────────────

  #attempt(reason: TokenReason): void {
    const generation = ++this.#generation
    const pending = new AbortController()
    this.#pending = pending
    this.#timer.set(
      () =>
        this.#attemptFailed(
          generation,
          new SocketError('CONNECT_TIMEOUT', `no connection within ${this.#o.connectTimeoutMs} ms`),
        ),
      this.#o.connectTimeoutMs,
    )
    void this.#open(generation, reason, pending)
    // Subscribers run last: one of them may close the socket.
    if (generation === this.#generation) this.#store.update({ nextRetryAt: null })
  }

  async #open(generation: number, reason: TokenReason, pending: AbortController): Promise<void> {
    const { auth, WebSocket: Ctor } = this.#o
    let handshake: { url: string; protocols: string[]; headers?: Record<string, string> }
    try {
      const url = typeof this.#url === 'function' ? await this.#url() : this.#url
      if (generation !== this.#generation) return
      handshake = { url: checkUrl(url), protocols: this.#o.protocols }
      if (auth) {
        const token =
          this.#nextToken ??
          (await obtainToken(
            auth,
            {
              reason,
              forceRefresh: this.#forceRefresh || reason === 'renew',
              attempt: this.#failures,
            },
            this.#o.clock,
            pending,
            // The token in use, so that a provider error quoting it is redacted.
            this.#token?.token ?? null,
          ))
        if (generation !== this.#generation) return
        this.#nextToken = null
        this.#forceRefresh = false
        this.#token = token
        handshake = placeToken(handshake, auth, token.token)
      }
    } catch (error) {
      if (generation !== this.#generation) return
      if (error instanceof UnauthorizedError) this.#stop(null, error)
      // The token path only throws SocketErrors; anything else came from the URL provider.
      else this.#attemptFailed(generation, asSocketError(error, 'CONNECTION_FAILED'))
      return
    }
    let ws: WebSocketLike
    try {
      // undici (Node's global WebSocket) takes an init object with headers.
      const init = handshake.headers && {
        protocols: handshake.protocols,
        headers: handshake.headers,
      }
      ws = new Ctor(handshake.url, (init as unknown as string[]) ?? handshake.protocols)
    } catch (error) {
      this.#attemptFailed(generation, describeValue(error))
      return
    }
    this.#stats.connectAttempts++
    this.#ws = ws
    ws.binaryType = this.#o.binaryType
    ws.onopen = () => generation === this.#generation && this.#onOpen(ws, generation)
    ws.onmessage = (event: { data: MessageData }) =>
      generation === this.#generation && this.#onMessage(event.data)
    ws.onclose = (event: { code: number; reason: string; wasClean: boolean }) => {
      if (generation !== this.#generation) return
      const close = { code: event.code, reason: event.reason, wasClean: event.wasClean }
      if (this.#state === 'open') this.#connectionEnded(close, 'connection-lost')
      else this.#attemptFailed(generation, `closed with ${event.code} before opening`, close)
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

  #onOpen(ws: WebSocketLike, generation: number): void {
    const { auth } = this.#o
    let authFrame: Frame | undefined
    if (auth?.placement === 'message' && this.#token) {
      try {
        authFrame = this.#authFrame(this.#token)
      } catch (error) {
        this.#attemptFailed(generation, error as SocketError) // #encode throws ENCODE_FAILED
        return
      }
    }
    this.#timer.clear()
    this.#pending = null
    this.#isOpen = true
    // An attempt that opened did not fail, however soon the connection is lost again.
    this.#failures = 0
    this.#openedAt = this.#o.clock.now()
    const reconnected = this.#openedInSession
    this.#openedInSession = true
    this.#stats.opens++
    if (reconnected) this.#stats.reconnects++
    if (authFrame !== undefined) {
      ws.send(authFrame)
      this.#stats.messagesSent++
    }
    this.#heartbeat?.start()
    if (this.#token) this.#renewal?.schedule(this.#token)
    this.#setState('open', { nextRetryAt: null, lastError: null })
    if (this.#ws !== ws) return // a `state` listener closed it
    // Order on every open: the auth message, then what `open` listeners send (they go
    // straight out, ahead of the queue), then the queue, then new sends.
    let protocol = ws.protocol
    if (auth?.placement === 'protocol' && protocol.startsWith(`${auth.param}.`)) protocol = ''
    this.#queue.attach(ws)
    this.#queue.priority = true
    try {
      this.#events.emit('open', { reconnected, protocol })
    } finally {
      this.#queue.priority = false
    }
    if (this.#ws === ws) this.#queue.drain()
  }

  #onMessage(data: MessageData): void {
    this.#stats.messagesReceived++
    const heartbeat = this.#heartbeat
    if (heartbeat) {
      if (this.#isPong && this.#callIsPong(data)) {
        heartbeat.notePong()
        return
      }
      heartbeat.noteInbound()
    }
    const max = this.#o.maxMessageBytes
    if (max !== Number.POSITIVE_INFINITY && tooLarge(data, max)) {
      this.#report(
        new SocketError('DECODE_FAILED', `inbound frame larger than maxMessageBytes (${max})`),
      )
      return
    }
    let envelope: Envelope | undefined
    try {
      envelope = this.#decode(data)
    } catch (error) {
      const generation = this.#generation
      this.#report(asSocketError(error, 'DECODE_FAILED'))
      // Not an envelope, but still a frame the server sent: `message` listeners get it as
      // is, unless it is one of the protocol's own (which belong to nobody else), or an
      // `error` listener closed the socket.
      if (generation !== this.#generation || isProtocolFrame(data)) return
      envelope = undefined
    }
    // `$`-types belong to the protocol: never handed to application handlers.
    if (envelope !== undefined && isProtocolType(envelope.type)) {
      if (envelope.type === '$pong') heartbeat?.notePong()
      return
    }
    const generation = this.#generation
    if (this.#events.has('message')) this.#events.emit('message', { data, envelope })
    // A `message` listener may have closed the socket: its handlers must not run after that.
    if (envelope === undefined || generation !== this.#generation) return
    if (this.#dispatcherInstance) this.#dispatcherInstance.dispatch(envelope)
    else if (envelope.re === undefined) this.#events.emit('unhandled', envelope)
  }

  /**
   * The codec's envelope, checked unless it is the default codec (which checks its own), or
   * the protocol envelope in a frame a custom codec did not recognise, so that a `$ping`
   * echo or a `$pong` never reaches application code whatever the codec.
   */
  #decode(data: MessageData): Envelope | undefined {
    const codec = this.#o.codec
    const decoded = codec.decode(data)
    if (codec === jsonCodec) return decoded
    if (decoded !== undefined) return checkEnvelope(decoded)
    return codec === rawCodec ? undefined : protocolEnvelope(data)
  }

  #callIsPong(data: MessageData): boolean {
    try {
      return (this.#isPong as (data: unknown) => boolean)(data)
    } catch (error) {
      this.#report(handlerFailed('heartbeat.isPong', error))
      return false
    }
  }

  /** Writes a protocol frame straight to the open socket; a throwing builder is reported. */
  /** Returns whether the frame was written. */
  #sendControl(build: () => Frame): boolean {
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

  // ── Losing a connection, deciding what next ─────────────────────────────────────────

  /** A string is the runtime's own description of the failure; it may quote the URL and its token. */
  #attemptFailed(generation: number, error: SocketError | string, close?: CloseInfo): void {
    if (generation !== this.#generation) return
    if (typeof error === 'string') error = new SocketError('CONNECTION_FAILED', this.#redact(error))
    this.#store.update({ lastError: error })
    this.#report(error)
    // An `error` listener or a subscriber may have closed the socket meanwhile.
    if (generation !== this.#generation) return
    this.#connectionEnded(
      close ?? { code: ABNORMAL, reason: '', wasClean: false },
      'attempt-failed',
    )
  }

  #connectionEnded(close: CloseInfo, reason: ReconnectReason): void {
    // A heartbeat verdict cuts the socket with its own code; anything else is gone already.
    const cutWith = close.code === HEARTBEAT_TIMEOUT_CODE ? close : undefined
    const wasOpen = this.#lose(cutWith)
    const generation = this.#generation
    // Settling what was in flight can report drops, whose listeners may close the socket.
    if (wasOpen) this.#lostOpenConnection()
    if (generation !== this.#generation) return
    const { clock, auth, shouldReconnect, maxAttempts, retry } = this.#o
    const now = clock.now()
    const online = this.#online()
    const plan = planReconnect(
      {
        close,
        authConfigured: auth !== undefined,
        shouldReconnect,
        failures: this.#failures,
        step: this.#step,
        authFailures: this.#authFailures,
        maxAttempts,
        retry,
        elapsedMs: now - this.#lostAt,
        online,
      },
      (error) => this.#report(error),
    )
    // shouldReconnect, the policy or an error listener may have closed the socket.
    if (generation !== this.#generation) return
    if (plan.action === 'stop') {
      this.#stop(close, plan.error, wasOpen)
      return
    }
    const { delayMs, failures } = plan
    this.#failures = failures
    this.#step = plan.step
    this.#authFailures = plan.authFailures
    if (plan.refreshAuth) {
      this.#forceRefresh = true
      reason = 'auth-failure'
    }
    // Offline or suspended: no attempt (it would fail and burn the budget) until the signal.
    // A policy's `Infinity` means the same: wait for the network or the page to say "now".
    const waiting = !online || this.#suspended || delayMs === Number.POSITIVE_INFINITY
    this.#retryFloorAt = now + plan.floorMs
    if (!waiting) this.#timer.set(() => this.#attempt(this.#retryReason()), delayMs)
    // Announced after the timer is armed, so a listener that calls close() cancels it.
    this.#enterReconnecting(close, reason, wasOpen, waiting ? null : delayMs, {
      attempt: failures,
      online,
    })
    this.#o.logger.debug('reconnecting', { attempt: failures, delayMs, code: close.code })
  }

  /** Ends in `closed` for a reason other than `close()`: a final close code, or giving up. */
  #stop(close: CloseInfo | null, error: SocketError | null, lostOpen = false): void {
    const wasOpen = this.#lose() || lostOpen
    const generation = this.#generation
    this.#teardown(
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

  /**
   * Cuts the current native socket loose and stops everything that belongs to one
   * connection. Returns whether it had opened.
   */
  #lose(closeWith?: { code: number; reason: string }): boolean {
    const wasOpen = this.#isOpen
    this.#isOpen = false
    this.#generation++
    this.#timer.clear()
    this.#queue.attach(null)
    this.#renewal?.stop()
    this.#heartbeat?.stop()
    this.#pending?.abort()
    this.#pending = null
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
    return wasOpen
  }

  /**
   * The bookkeeping of an open connection lost on the way to a reconnect: reset the
   * counters after a long enough uptime, and settle what was in flight (idempotent
   * requests go back to the queue, the others fail with CONNECTION_LOST).
   */
  #lostOpenConnection(): void {
    const now = this.#o.clock.now()
    if (now - this.#openedAt >= this.#o.minUptimeMs) {
      this.#step = 0
      this.#authFailures = 0
    } else if (this.#step > 1) {
      // Not proof of health: the next retry backs off as much as the one that opened it, and
      // never again quickly, so a server that accepts and drops at once is not hammered.
      this.#step--
    }
    this.#lostAt = now
    if (this.#dispatcherInstance) this.#queue.requeue(this.#dispatcherInstance.connectionLost(now))
  }

  /** Releases what outlives a connection: network listeners, requests, the queue, waiters. */
  #teardown(error: SocketError): void {
    this.#stopNetwork?.()
    this.#stopNetwork = null
    this.#token = null
    this.#nextToken = null
    this.#dispatcherInstance?.rejectAll(error)
    this.#queue.close(error)
  }

  // ── Network and page signals ────────────────────────────────────────────────────────

  #onNetwork(signal: NetworkSignal): void {
    const state = this.#state
    this.#o.logger.debug('network signal', { signal, state })
    if (signal === 'suspend') {
      // Close cleanly so the page may enter the back/forward cache; resume on `restore`.
      if (state === 'open' || state === 'connecting' || state === 'reconnecting') {
        this.#suspended = true
        const close = { code: 1000, reason: 'page suspended', wasClean: true }
        this.#announceReconnect(close, 'page-suspended', null)
      }
      return
    }
    if (signal === 'restore') {
      if (!this.#suspended) return
      this.#suspended = false // so the state is `reconnecting`, never `open`
    } else if (signal !== 'wake') this.#store.update({ online: signal === 'online' })
    if (state === 'open') this.#heartbeat?.probe()
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
   * A reconnect we start ourselves (page suspended, token refresh): cut the connection
   * cleanly and announce it. Returns `false` if a listener closed the socket meanwhile.
   */
  #announceReconnect(close: CloseInfo, reason: ReconnectReason, delayMs: number | null): boolean {
    const wasOpen = this.#lose(close)
    const generation = this.#generation
    if (wasOpen) this.#lostOpenConnection()
    if (generation !== this.#generation) return false
    return this.#enterReconnecting(close, reason, wasOpen, delayMs, {})
  }

  /**
   * Announces `reconnecting`: the state, then `close` (if a connection was open), then the
   * `reconnecting` event. Returns `false` if a listener closed the socket meanwhile.
   */
  #enterReconnecting(
    close: CloseInfo,
    reason: ReconnectReason,
    wasOpen: boolean,
    delayMs: number | null,
    patch: Partial<SocketSnapshot>,
  ): boolean {
    const generation = this.#generation
    const nextRetryAt = delayMs === null ? null : this.#o.clock.now() + delayMs
    this.#setState('reconnecting', { lastClose: close, nextRetryAt, ...patch })
    if (generation !== this.#generation) return false
    if (wasOpen) this.#announce(() => this.#events.emit('close', { ...close, willReconnect: true }))
    if (generation !== this.#generation) return false
    const event = { attempt: this.#failures, delayMs, reason, lastClose: close }
    this.#announce(() => this.#events.emit('reconnecting', event))
    return generation === this.#generation
  }

  /**
   * The network or the page says "now": attempt at once if waiting to retry, but never
   * before the floor the server asked for (1013, `retry-after`).
   */
  #retryNow(): void {
    if (!this.#waiting() || this.#suspended || !this.#online()) return
    const waitMs = this.#retryFloorAt - this.#o.clock.now()
    if (waitMs <= 0) {
      this.#attempt(this.#retryReason())
      return
    }
    this.#timer.set(() => this.#attempt(this.#retryReason()), waitMs)
    this.#store.update({ nextRetryAt: this.#retryFloorAt })
  }

  #retryReason(): TokenReason {
    return this.#forceRefresh ? 'auth-failure' : 'reconnect'
  }

  // ── Sending ─────────────────────────────────────────────────────────────────────────

  /** The queue count in the snapshot is updated once per burst of sends, not per message. */
  get #dispatcher(): Dispatcher {
    this.#dispatcherInstance ??= createDispatcher({
      clock: this.#o.clock,
      report: (error) => this.#report(error),
      unhandled: (envelope) => this.#events.emit('unhandled', envelope),
      alive: () => this.#state !== 'closed' && this.#state !== 'closing',
      validators: this.#o.validate as never,
    })
    return this.#dispatcherInstance
  }

  #queueChanged(): void {
    if (this.#queueCountDirty) return
    this.#queueCountDirty = true
    queueMicrotask(() => {
      this.#queueCountDirty = false
      const queuedMessages = this.#queue.length
      if (queuedMessages !== this.#store.current.queuedMessages)
        this.#store.update({ queuedMessages })
    })
  }

  #authFrame({ token }: ResolvedToken): Frame {
    return this.#encode({ type: '$auth', data: { token } })
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

  #online(): boolean {
    return this.#o.network?.isOnline?.() ?? true
  }

  #redact(text: string): string {
    return redact(text, this.#token?.token ?? null)
  }
}

function checkType(type: unknown): void {
  if (typeof type !== 'string' || type === '' || isProtocolType(type)) {
    throw new SocketError(
      'INVALID_OPTIONS',
      `message type must be a non-empty string not starting with "$" (got ${describeValue(type)})`,
    )
  }
}

/** Wraps whatever a user callback threw, whatever it is (a string, `undefined`, a null-prototype object). */
function asSocketError(error: unknown, code: SocketError['code']): SocketError {
  return error instanceof SocketError
    ? error
    : new SocketError(code, describeValue(error), { cause: error })
}

/** Whether an undecodable frame is one of the protocol's own (`{"type":"$…`). */
function isProtocolFrame(data: MessageData): boolean {
  try {
    return protocolEnvelope(data) !== undefined
  } catch {
    return true // a malformed protocol envelope: reported, delivered nowhere
  }
}

function tooLarge(data: MessageData, max: number): boolean {
  if (typeof data !== 'string') return frameBytes(data) > max
  // UTF-8 is never shorter than the UTF-16 length, nor longer than three times it.
  if (data.length > max) return true
  return data.length * 3 > max && frameBytes(data) > max
}
