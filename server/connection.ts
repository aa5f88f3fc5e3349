import { randomUUID } from 'node:crypto'
import { jsonCodec } from '../src/codec.ts'
import type { Envelope } from '../src/wire.ts'
import { frameBytes } from '../src/wire.ts'
import { AuthRejected, RequestError, ServerError } from './errors.ts'
import type {
  AuthGrant,
  ConnectionContext,
  EventListener,
  MessageContext,
  ResolvedOptions,
} from './options.ts'
import type { SessionState, StoreEvent } from './store.ts'
import {
  CLOSE_DISPLACED,
  CLOSE_FORBIDDEN,
  CLOSE_LIMIT,
  CLOSE_PROTOCOL,
  CLOSE_RESTART,
  CLOSE_UNAUTHORIZED,
  isSeq,
  type LostReason,
  withSeq,
} from './wire-rules.ts'

/**
 * The minimal socket the core drives; an adapter (`attach()` for `ws`) provides it. Text
 * frames are strings, binary ones `Uint8Array`s.
 */
export interface ServerSocket {
  send(frame: string | Uint8Array): void
  close(code: number, reason: string): void
}

/** What an adapter feeds back into the core for one socket. */
export interface SocketHooks {
  /** A frame arrived: a string for a text frame, a `Uint8Array` for a binary one. */
  message(data: string | Uint8Array): void
  /** The socket closed (or died); call it once. */
  closed(code?: number, reason?: string): void
}

/** What one connection needs from the server around it. */
export interface ConnectionHost<U> {
  readonly options: ResolvedOptions<U>
  listeners(type: string): readonly EventListener<U>[]
  /** One run per (principal, request id) at a time on this node: a repeat waits for it. */
  readonly inflight: Map<string, Promise<string>>
  forget(connection: Connection<U>): void
}

type Step = () => Promise<void> | void

const READ_BATCH = 256
const MAX_SID_LENGTH = 128
const INTERNAL_MESSAGE = 'internal error'
const UNDELIVERABLE = new Set(['CLOSED', 'UNACKED_LIMIT', 'SESSION_GONE', 'DISPLACED'])

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * One socket speaking the protocol: first-message auth and renewal, `$ping`, requests and
 * events, and, when the client's first frame asks for it, a reliable session over the store.
 * Frames are classified as they arrive (auth and session order are rules about arrival) and
 * handled one at a time in arrival order; a reliable session also waits for each handler,
 * because its commit must follow it.
 */
export class Connection<U> {
  readonly id: string
  readonly extra: unknown
  /** What callbacks see: the connection's public face, without the core's methods. */
  readonly context: ConnectionContext<U>
  readonly #socket: ServerSocket
  readonly #host: ConnectionHost<U>
  readonly #o: ResolvedOptions<U>
  #closed = false
  #chain: Promise<void> = Promise.resolve()
  #pending = 0

  // Auth: 'open' needs none; 'waiting' wants $auth first; 'checking' runs authenticate.
  #auth: 'open' | 'waiting' | 'checking' | 'done'
  #grant: AuthGrant<U> | undefined
  #authTimer: NodeJS.Timeout | undefined
  #expiryTimer: NodeJS.Timeout | undefined

  // Mode: undecided until the first frame that is not $auth or $ping.
  #mode: 'undecided' | 'starting' | 'plain' | 'reliable' = 'undecided'
  #sid: string | undefined
  #generation = 0
  /** The store's epoch at attach: a later one means it restarted, and this socket must resume. */
  #epoch = 0
  /** The session's delivery-id prefix: `sid`, or `sid.lineage` after lost commits. */
  #deliveryPrefix = ''
  /** Highest client seq committed. */
  #in = 0
  /** Highest `in` told to the client, and how many commits since. */
  #ackSent = 0
  #commitsSinceAck = 0
  #ackTimer: NodeJS.Timeout | undefined
  /** Highest server seq written to this socket (or seen by the client before it resumed). */
  #written = 0
  /** Highest server seq the client acknowledged. */
  #clientAcked = 0
  /** Frames this connection appended, until written: spares the pump a store read. */
  readonly #local = new Map<number, string>()
  #pumping = false
  #pumpAgain = false
  #unwatch: (() => void) | undefined

  constructor(id: string, socket: ServerSocket, host: ConnectionHost<U>, extra: unknown) {
    this.id = id
    this.extra = extra
    this.#socket = socket
    this.#host = host
    this.#o = host.options
    this.#auth = this.#o.requireAuth(extra) ? 'waiting' : 'open'
    const self = this
    this.context = {
      id,
      extra,
      get principal() {
        return self.principal
      },
      get user() {
        return self.user
      },
      get sid() {
        return self.sid
      },
      send: (type, data) => this.send(type, data),
      close: (code, reason) => this.close(code, reason),
    }
  }

  get principal(): string | undefined {
    return this.#grant?.principal
  }

  get user(): U | undefined {
    return this.#grant?.user
  }

  get sid(): string | undefined {
    return this.#sid
  }

  get isClosed(): boolean {
    return this.#closed
  }

  /** Starts the auth clock, or checks the token the adapter found in the upgrade request. */
  start(token: string | undefined): void {
    if (token !== undefined) {
      this.#auth = 'checking'
      this.#enqueue(() => this.#authenticate(token))
    } else if (this.#auth === 'waiting') {
      this.#authTimer = setTimeout(() => {
        this.#authTimer = undefined
        if (this.#auth === 'waiting' || this.#auth === 'checking') {
          this.close(CLOSE_UNAUTHORIZED, 'auth timeout')
        }
      }, this.#o.authTimeoutMs)
    }
    this.#callback('onConnect', () => this.#o.onConnect?.(this.context))
  }

  // ─── Receive path ──────────────────────────────────────────────────────────

  message(data: string | Uint8Array): void {
    if (this.#closed) return
    if (typeof data !== 'string') {
      if (this.#auth === 'waiting') {
        this.close(CLOSE_UNAUTHORIZED, 'binary frame before $auth')
        return
      }
      this.#enqueue(() => this.#callback('onBinary', () => this.#o.onBinary?.(data, this.context)))
      return
    }
    if (data.length > this.#o.maxMessageBytes && frameBytes(data) > this.#o.maxMessageBytes) {
      this.close(1009, 'message too big')
      return
    }
    let envelope: Envelope | undefined
    let failure: unknown
    try {
      envelope = jsonCodec.decode(data)
    } catch (error) {
      failure = error
    }
    const type = envelope?.type
    if (this.#auth === 'waiting') {
      if (type !== '$auth') {
        this.close(CLOSE_UNAUTHORIZED, 'unauthorized')
        return
      }
      this.#auth = 'checking'
    }
    if (type !== '$auth' && type !== '$ping') {
      const opensSession = type === '$hello' || type === '$resume'
      if (this.#mode === 'undecided' && envelope !== undefined) {
        this.#mode = opensSession && this.#o.reliable ? 'starting' : 'plain'
      } else if (this.#mode === 'starting') {
        // The client cannot have seen a $session that was not sent yet.
        this.close(CLOSE_PROTOCOL, 'frame before $session')
        return
      } else if (this.#mode === 'reliable' && opensSession) {
        this.close(CLOSE_PROTOCOL, `${type} in an open session`)
        return
      }
    }
    // A ping is answered at once, not behind handlers still running: a handler slower than
    // the client's heartbeat timeout would otherwise get a live connection declared dead,
    // and the resume replay the slow request into the same fate. Only while the session
    // starts (its `$session` must be the first frame) or auth is being checked does it wait.
    if (
      type === '$ping' &&
      (this.#mode === 'plain' || this.#mode === 'reliable') &&
      this.#auth !== 'checking'
    ) {
      if (this.#mode === 'reliable' && (envelope as { seq?: unknown }).seq !== undefined) {
        this.close(CLOSE_PROTOCOL, 'a $ frame carries no seq')
        return
      }
      this.#write(JSON.stringify({ type: '$pong', re: envelope?.id }))
      return
    }
    if (this.#pending >= this.#o.maxPendingFrames) {
      this.close(
        this.#mode === 'plain' ? 1008 : CLOSE_LIMIT,
        'too many frames waiting to be handled',
      )
      return
    }
    this.#enqueue(() =>
      envelope === undefined ? this.#malformed(data, failure) : this.#handle(envelope),
    )
  }

  #enqueue(step: Step): void {
    this.#pending += 1
    this.#chain = this.#chain.then(async () => {
      this.#pending -= 1
      if (this.#closed) return
      try {
        await step()
      } catch (error) {
        this.#fail(error)
      }
    })
  }

  /** Store failures and other surprises: reported, and the socket closed with 1011. */
  #fail(error: unknown): void {
    const reported =
      error instanceof ServerError
        ? error
        : new ServerError('STORE_FAILED', 'the session store failed', { cause: error })
    this.#report(reported)
    this.close(1011, 'internal error')
  }

  async #handle(envelope: Envelope): Promise<void> {
    const { type } = envelope
    const seq = (envelope as { seq?: unknown }).seq
    if (type.startsWith('$')) {
      if (seq !== undefined && this.#mode === 'reliable') {
        return this.close(CLOSE_PROTOCOL, 'a $ frame carries no seq')
      }
      switch (type) {
        case '$auth':
          return this.#onAuth(envelope)
        case '$ping':
          return this.#write(JSON.stringify({ type: '$pong', re: envelope.id }))
        case '$hello':
        case '$resume':
          if (this.#mode === 'starting') return this.#startSession(envelope)
          return
        case '$ack':
          if (this.#mode === 'reliable')
            await this.#onClientAck((envelope as { ack?: unknown }).ack)
          return
        default:
          // Unknown `$` types are the protocol's future: ignored (PROTOCOL.md §4).
          return
      }
    }
    if (this.#mode !== 'reliable') {
      // Handlers run concurrently here: nothing waits on their outcome.
      this.#dispatch(envelope, undefined).catch((error: unknown) => this.#fail(error))
      return
    }
    if (!isSeq(seq)) return this.close(CLOSE_PROTOCOL, 'bad seq')
    const ack = (envelope as { ack?: unknown }).ack
    if (ack !== undefined && !(await this.#onClientAck(ack))) return
    if (!this.#admit(seq)) return
    await this.#dispatch(envelope, `${this.#deliveryPrefix}:${seq}`)
    await this.#commit(seq)
  }

  /**
   * A text frame the codec refused. It is reported and dropped; a request among them gets a
   * `DECODE_FAILED` answer so it does not wait out its timeout. In a session its seq is
   * consumed: were it skipped, the next frame would be a gap, the client would resume and
   * replay the same frame, forever.
   */
  async #malformed(text: string, failure: unknown): Promise<void> {
    const message = failure instanceof Error ? failure.message : 'malformed frame'
    this.#report(new ServerError('DECODE_FAILED', message, { cause: failure }))
    // Reading two primitives off a JSON.parse result is safe even with a `__proto__` key in it.
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {}
    const id = isRecord(parsed) && typeof parsed.id === 'string' ? parsed.id : undefined
    const answer = async (): Promise<void> => {
      if (id === undefined) return
      const type = isRecord(parsed) && typeof parsed.type === 'string' ? parsed.type : ''
      await this.#respond(
        JSON.stringify({ type, re: id, error: { code: 'DECODE_FAILED', message } }),
      )
    }
    if (this.#mode !== 'reliable') return answer()
    const seq = isRecord(parsed) ? parsed.seq : undefined
    if (seq === undefined && !isRecord(parsed)) return // not JSON: unsequenced, like binary
    if (!isSeq(seq)) return this.close(CLOSE_PROTOCOL, 'bad seq')
    if (!this.#admit(seq)) return
    await answer()
    await this.#commit(seq)
  }

  // ─── Auth ──────────────────────────────────────────────────────────────────

  async #onAuth(envelope: Envelope): Promise<void> {
    if (this.#o.authenticate === undefined) return
    const token = isRecord(envelope.data) ? envelope.data.token : undefined
    if (typeof token !== 'string' || token === '') {
      return this.close(CLOSE_UNAUTHORIZED, 'unauthorized')
    }
    await this.#authenticate(token)
    if (!this.#closed && envelope.id !== undefined && this.#grant !== undefined) {
      this.#write(
        JSON.stringify({
          type: '$auth',
          re: envelope.id,
          data: { expiresAt: this.#grant.expiresAt ?? null },
        }),
      )
    }
  }

  async #authenticate(token: string): Promise<void> {
    const authenticate = this.#o.authenticate
    if (authenticate === undefined) {
      if (this.#auth === 'checking') this.#auth = 'done'
      return
    }
    const renewal = this.#grant !== undefined
    let grant: AuthGrant<U> | false | null | undefined
    try {
      grant = await authenticate(token, { extra: this.extra, renewal })
    } catch (error) {
      if (!(error instanceof AuthRejected)) {
        this.#report(new ServerError('HANDLER_FAILED', 'authenticate threw', { cause: error }))
      }
      const code = error instanceof AuthRejected ? error.closeCode : CLOSE_UNAUTHORIZED
      return this.close(code, code === CLOSE_FORBIDDEN ? 'forbidden' : 'unauthorized')
    }
    if (this.#closed) return
    if (!grant || typeof grant.principal !== 'string') {
      return this.close(CLOSE_UNAUTHORIZED, 'unauthorized')
    }
    if (renewal && grant.principal !== this.#grant?.principal) {
      // Sessions and cached results belong to a principal; one connection is one principal.
      return this.close(CLOSE_FORBIDDEN, 'principal changed')
    }
    this.#grant = grant
    this.#auth = 'done'
    clearTimeout(this.#authTimer)
    this.#authTimer = undefined
    clearTimeout(this.#expiryTimer)
    this.#expiryTimer = undefined
    if (typeof grant.expiresAt === 'number') {
      const inMs = Math.max(0, Math.min(grant.expiresAt - Date.now(), 2 ** 31 - 1))
      this.#expiryTimer = setTimeout(() => this.close(CLOSE_UNAUTHORIZED, 'token expired'), inMs)
    }
  }

  // ─── Requests and events ───────────────────────────────────────────────────

  async #dispatch(envelope: Envelope, deliveryId: string | undefined): Promise<void> {
    // A response from the client: the server sends no requests (yet), so nothing waits on it.
    if (envelope.re !== undefined) return
    const ctx: MessageContext<U> = Object.create(this.context, {
      deliveryId: { value: deliveryId },
      requestId: { value: envelope.id },
    })
    const { onReceive } = this.#o
    // Not awaited: an observer must not hold up the handler (nor, in a session, the commit).
    if (onReceive !== undefined) {
      void this.#callback('onReceive', () => onReceive(envelope.type, envelope.data, ctx))
    }
    if (envelope.id === undefined) return this.#event(envelope, ctx)
    await this.#respond(await this.#answer(envelope, envelope.id, ctx))
  }

  async #respond(body: string): Promise<void> {
    try {
      await this.#emit(body, 'response')
    } catch (error) {
      // The answer had nowhere to go: the socket closed meanwhile (the client resends an
      // idempotent request, answered from the cache), or it did not fit and the socket was
      // closed with 4008 for it. Either way the client hears of it; nothing to report.
      if (!(error instanceof ServerError) || !UNDELIVERABLE.has(error.code)) throw error
    }
  }

  async #event({ type, data }: Envelope, ctx: MessageContext<U>): Promise<void> {
    const listeners = this.#host.listeners(type)
    if (listeners.length === 0) {
      await this.#callback('onUnhandledEvent', () => this.#o.onUnhandledEvent?.(type, data, ctx))
      return
    }
    await Promise.all(
      listeners.map((listener) => this.#callback(`on("${type}")`, () => listener(data, ctx))),
    )
  }

  /** The encoded response: from the result cache, from a run in flight, or from the handler. */
  async #answer(envelope: Envelope, id: string, ctx: MessageContext<U>): Promise<string> {
    const principal = this.principal ?? ''
    const key = `${principal.length}:${principal}${id}`
    const cached = this.#o.resultTtlMs > 0 ? await this.#o.store.lookup(principal, id) : undefined
    if (cached !== undefined) return cached
    const running = this.#host.inflight.get(key)
    if (running !== undefined) return running
    const run = this.#run(envelope, id, ctx)
    this.#host.inflight.set(key, run)
    try {
      const body = await run
      if (this.#o.resultTtlMs > 0) {
        await this.#o.store.remember(principal, id, body, this.#o.resultTtlMs)
      }
      return body
    } finally {
      this.#host.inflight.delete(key)
    }
  }

  async #run({ type, data }: Envelope, id: string, ctx: MessageContext<U>): Promise<string> {
    const handler = Object.hasOwn(this.#o.handlers, type) ? this.#o.handlers[type] : undefined
    const error = (code: string, message: string): string =>
      JSON.stringify({ type, re: id, error: { code, message } })
    if (handler === undefined) {
      return error('UNKNOWN_REQUEST', `no handler for request type "${type}"`)
    }
    try {
      const value = await handler(data, ctx)
      return JSON.stringify({ type, re: id, data: value })
    } catch (thrown) {
      if (thrown instanceof RequestError) return error(thrown.code, thrown.message)
      this.#report(new ServerError('HANDLER_FAILED', `handlers.${type} threw`, { cause: thrown }))
      return error('INTERNAL', INTERNAL_MESSAGE)
    }
  }

  /** Runs a user callback; a throw or a rejection is reported, never propagated. */
  async #callback(what: string, run: () => unknown): Promise<void> {
    try {
      await run()
    } catch (error) {
      this.#report(new ServerError('HANDLER_FAILED', `${what} threw`, { cause: error }))
    }
  }

  #report(error: ServerError): void {
    try {
      this.#o.onError(error, this.context)
    } catch {
      // onError is the last place a failure can go.
    }
  }

  // ─── Sending ───────────────────────────────────────────────────────────────

  send(type: string, data?: unknown): Promise<void> {
    if (typeof type !== 'string' || type === '' || type.startsWith('$')) {
      return Promise.reject(
        new ServerError('INVALID_OPTIONS', 'send(type): a non-empty type not starting with $'),
      )
    }
    let body: string
    try {
      body = JSON.stringify({ type, data })
    } catch (cause) {
      return Promise.reject(new ServerError('HANDLER_FAILED', 'data is not JSON', { cause }))
    }
    return this.#emit(body, 'push')
  }

  /**
   * Sends an encoded envelope. In a session it is appended to the store first (seq assigned,
   * logged), then written by the pump; a frame that does not fit is never dropped quietly.
   */
  async #emit(body: string, kind: 'push' | 'response'): Promise<void> {
    if (this.#mode !== 'reliable' || this.#sid === undefined) {
      if (this.#closed) throw new ServerError('CLOSED', 'the connection is closed')
      this.#write(body)
      return
    }
    // A response belongs to this attachment: fenced once the session moved, so that a node
    // that lost the session unawares (a half-open socket) does not answer twice.
    const result = await this.#o.store.append(
      this.#sid,
      body,
      { maxFrames: this.#o.maxUnackedFrames, maxBytes: this.#o.maxUnackedBytes },
      kind === 'response' ? this.#generation : undefined,
    )
    if (result.status === 'appended') {
      // Stored, so it is not lost; but after a store restart this socket's numbers may not
      // follow the log's, and only a resume can tell.
      if (result.epoch > this.#epoch) return this.#storeRestarted()
      this.#local.set(result.seq, body)
      void this.#pump()
      return
    }
    if (result.status === 'gone') {
      throw new ServerError('SESSION_GONE', 'the session expired or was lost')
    }
    if (result.status === 'fenced') {
      this.close(CLOSE_DISPLACED, 'displaced')
      throw new ServerError('DISPLACED', 'the session moved to a newer attachment')
    }
    if (result.status === 'restarted') {
      this.#storeRestarted()
      throw new ServerError('STORE_RESTARTED', 'the session store lost this attachment')
    }
    if (kind === 'response' || this.#o.whenUnackedFull === 'close') {
      this.close(CLOSE_LIMIT, 'unacked limit')
    }
    throw new ServerError('UNACKED_LIMIT', 'the client has not acknowledged enough frames')
  }

  #write(frame: string): void {
    if (this.#closed) return
    try {
      this.#socket.send(frame)
    } catch (error) {
      this.#report(new ServerError('CLOSED', 'the socket refused a frame', { cause: error }))
    }
  }

  /** Writes logged frames in seq order: this connection's own first, then any from the store. */
  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#pumpAgain = false
        while (!this.#closed && this.#sid !== undefined) {
          const next = this.#written + 1
          const own = this.#local.get(next)
          const batch =
            own !== undefined
              ? [{ seq: next, body: own }]
              : await this.#o.store.read(this.#sid, this.#written, READ_BATCH, this.#epoch)
          if (batch === 'gone') return this.close(CLOSE_LIMIT, 'session gone')
          if (batch === 'restarted') return this.#storeRestarted()
          if (batch.length === 0) break
          for (const frame of batch) {
            if (this.#closed || frame.seq !== this.#written + 1) break
            this.#local.delete(frame.seq)
            this.#written = frame.seq
            const ack = this.#in > this.#ackSent ? this.#in : undefined
            if (ack !== undefined) this.#ackWritten(ack)
            this.#write(withSeq(frame.body, frame.seq, ack))
          }
        }
      } while (this.#pumpAgain && !this.#closed)
    } catch (error) {
      this.#fail(error)
    } finally {
      this.#pumping = false
    }
  }

  // ─── Reliable session ──────────────────────────────────────────────────────

  async #startSession(envelope: Envelope): Promise<void> {
    const data = envelope.data
    if (!isRecord(data)) return this.close(CLOSE_PROTOCOL, `${envelope.type} needs data`)
    const store = this.#o.store
    const principal = this.principal ?? ''
    let resumed = false
    let reason: LostReason | undefined
    let state: SessionState
    let kept = 0
    let seen = 0
    if (envelope.type === '$resume') {
      const { sid, acked } = data
      seen = data.seen as number
      if (
        typeof sid !== 'string' ||
        sid === '' ||
        sid.length > MAX_SID_LENGTH ||
        !isCount(seen) ||
        !isCount(acked)
      ) {
        return this.close(CLOSE_PROTOCOL, 'bad $resume')
      }
      if (data.v !== 1) {
        reason = 'version'
      } else {
        const attached = await store.attach(sid, principal, seen, acked as number)
        if (attached.status !== 'attached') {
          reason = attached.status
        } else if (seen < attached.acked) {
          // The client forgot frames it had acknowledged (and the log no longer has):
          // resuming would skip them in silence.
          await store.end(sid, attached.generation)
          reason = 'rollback'
        } else {
          resumed = true
          state = attached
          kept = attached.kept
        }
      }
    } else if (data.v !== 1) {
      reason = 'version'
    }
    if (this.#closed) return
    // biome-ignore lint/style/noNonNullAssertion: assigned exactly when resumed
    state = resumed ? state! : await store.create(randomUUID(), principal)
    if (this.#closed) {
      await store.detach(state.sid, state.generation, this.#o.sessionTtlMs)
      return
    }
    this.#sid = state.sid
    this.#generation = state.generation
    this.#epoch = state.epoch
    this.#deliveryPrefix = state.lineage === '' ? state.sid : `${state.sid}.${state.lineage}`
    this.#in = state.in
    this.#ackSent = state.in
    // The attach trimmed the log to `seen` and numbered anything new above it, also when
    // the store lost frames the client had seen (then `kept`, below `seen`, tells the client).
    this.#written = resumed ? seen : 0
    this.#clientAcked = state.acked
    this.#unwatch = store.watch(state.sid, (event) => this.#onStoreEvent(event))
    const session: Record<string, unknown> = {
      sid: state.sid,
      resumed,
      in: state.in,
      out: resumed ? kept : state.out,
    }
    if (reason !== undefined) session.reason = reason
    this.#write(JSON.stringify({ type: '$session', data: session }))
    this.#mode = 'reliable'
    void this.#pump()
  }

  #onStoreEvent(event: StoreEvent): void {
    if (this.#closed) return
    if (event.type === 'attached') {
      if (event.generation > this.#generation) this.close(CLOSE_DISPLACED, 'displaced')
    } else if (event.epoch > this.#epoch) {
      this.#storeRestarted()
    } else if (event.seq > this.#written) {
      void this.#pump()
    }
  }

  /**
   * The store restarted since this socket attached, and may have lost frames it wrote or
   * acks it took: the client resumes, and the attach reconciles its `seen` with the log.
   */
  #storeRestarted(): void {
    this.close(CLOSE_RESTART, 'session store restarted')
  }

  /** The seq rules for an inbound frame: true when it is the next one and should be handled. */
  #admit(seq: number): boolean {
    if (seq <= this.#in) {
      this.#sendAck(true)
      return false
    }
    if (seq !== this.#in + 1) {
      this.close(CLOSE_PROTOCOL, 'seq gap')
      return false
    }
    return true
  }

  async #commit(seq: number): Promise<void> {
    const sid = this.#sid as string
    const result = await this.#o.store.accept(sid, this.#generation, seq)
    if (result === 'fenced') return this.close(CLOSE_DISPLACED, 'displaced')
    if (result === 'gone') return this.close(CLOSE_LIMIT, 'session gone')
    if (result === 'restarted') return this.#storeRestarted()
    if (result === 'gap') return this.close(CLOSE_PROTOCOL, 'seq gap')
    if (result === 'duplicate') return this.#sendAck(true)
    this.#in = seq
    this.#commitsSinceAck += 1
    if (this.#commitsSinceAck >= this.#o.ackAfterFrames) this.#sendAck(false)
    else if (this.#ackTimer === undefined) {
      // Armed from the receive path, so a stalled timer elsewhere cannot hold acks back.
      this.#ackTimer = setTimeout(() => {
        this.#ackTimer = undefined
        this.#sendAck(false)
      }, this.#o.ackDelayMs)
    }
  }

  /** `$ack` now; `again` sends it even when nothing new was committed (after a duplicate). */
  #sendAck(again: boolean): void {
    if (this.#closed || this.#sid === undefined) return
    if (!again && this.#in <= this.#ackSent) return
    this.#ackWritten(this.#in)
    this.#write(JSON.stringify({ type: '$ack', ack: this.#in }))
  }

  #ackWritten(ack: number): void {
    this.#ackSent = ack
    this.#commitsSinceAck = 0
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
  }

  /** The client's cumulative ack: false when it broke the rules (the socket is then closing). */
  async #onClientAck(ack: unknown): Promise<boolean> {
    if (!isCount(ack)) {
      this.close(CLOSE_PROTOCOL, 'bad ack')
      return false
    }
    if (ack > this.#written) {
      this.close(CLOSE_PROTOCOL, 'ack beyond sent')
      return false
    }
    if (ack > this.#clientAcked) await this.#storeAck(ack)
    return !this.#closed
  }

  async #storeAck(ack: number): Promise<void> {
    this.#clientAcked = ack
    const result = await this.#o.store.ack(this.#sid as string, this.#generation, ack, this.#epoch)
    if (result === 'fenced') this.close(CLOSE_DISPLACED, 'displaced')
    else if (result === 'gone') this.close(CLOSE_LIMIT, 'session gone')
    // Beyond what the store has, yet not beyond what this socket wrote: the store lost frames.
    else if (result === 'restarted' || result === 'beyond') this.#storeRestarted()
  }

  // ─── Closing ───────────────────────────────────────────────────────────────

  close(code = 1000, reason = ''): void {
    if (this.#closed) return
    // Before a clean close the client hears what was committed, so it need not replay it.
    if (this.#mode === 'reliable') this.#sendAck(false)
    try {
      this.#socket.close(code, reason)
    } catch (error) {
      this.#report(new ServerError('CLOSED', 'the socket refused to close', { cause: error }))
    }
    this.closed(code, reason)
  }

  /** The socket is gone (closed by either side, or dropped): stop, and detach the session. */
  closed(code = 1005, reason = ''): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#authTimer)
    clearTimeout(this.#expiryTimer)
    clearTimeout(this.#ackTimer)
    this.#authTimer = this.#expiryTimer = this.#ackTimer = undefined
    this.#unwatch?.()
    this.#local.clear()
    this.#host.forget(this)
    const sid = this.#sid
    if (sid !== undefined) {
      const store = this.#o.store
      // 1000 from either side ends the session (the client stops on it); anything else
      // may come back with $resume.
      const done =
        code === 1000
          ? store.end(sid, this.#generation)
          : store.detach(sid, this.#generation, this.#o.sessionTtlMs)
      done.catch((error: unknown) =>
        this.#report(
          new ServerError('STORE_FAILED', 'detaching the session failed', { cause: error }),
        ),
      )
    }
    this.#callback('onClose', () => this.#o.onClose?.(this.context, code, reason))
  }
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}
