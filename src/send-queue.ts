import { type Clock, TimerSlot } from './clock.ts'
import { SocketError } from './errors.ts'
import type { WebSocketLike } from './transport.ts'
import { type Frame, frameBytes } from './wire.ts'

/**
 * - `drop-oldest`: make room by discarding the oldest queued messages.
 * - `drop-newest`: discard the message being sent; `send()` returns `'dropped'`.
 * - `reject`: like `drop-newest`, but `send()` throws a `SocketError` `QUEUE_FULL` (and
 *   `request()` rejects with it), for producers that must stop when the queue is full.
 *
 * Under every policy, a send made from a `drop` listener of an overflow drop while the
 * queue is still full throws `QUEUE_FULL`: resending each evicted message would otherwise
 * evict another, for ever.
 */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'reject'

/**
 * Why a message left the socket without being sent:
 * `overflow` (queue bounds), `expired` (`ttlMs`), `closed` (the socket was closed or gave
 * up), `not-open` (sent while not open with `queue: false`).
 */
export type DropReason = 'overflow' | 'expired' | 'closed' | 'not-open'

/** A message waiting in the send queue, as reported by `drop` and `takeQueued()`. */
export interface QueuedMessage {
  /** The frame exactly as it will be written to the socket (already encoded). */
  readonly data: Frame
  /** The message type, when it was sent with `send()` or `request()`. */
  readonly type: string | undefined
  /** Its size: UTF-8 bytes for text, byte length for binary. */
  readonly bytes: number
  /** When it was queued (epoch milliseconds). */
  readonly queuedAt: number
}

/** @internal Whoever waits on a queued message: a pending request. */
export interface EntryOwner {
  /**
   * Called once: `'sent'` when written to a socket, `'taken'` when handed out by
   * `takeQueued()`, or the reason it was dropped (with the error to fail with, if any).
   */
  settle(outcome: 'sent' | 'taken' | DropReason, error?: Error): void
  /**
   * Set by the queue while the entry waits in it. An owner that gives up (timed out,
   * aborted) calls it, so the queue never holds an entry whose owner is gone.
   */
  unqueue?: (() => void) | undefined
}

/** @internal A queued message and its owner, if any. */
export interface QueueEntry {
  readonly message: QueuedMessage
  readonly owner?: EntryOwner | undefined
}

export interface QueueOptions {
  /**
   * The most messages held, while not open or while the socket is backpressured. Off by
   * default: `maxBytes` is what protects memory, and a count bound would drop a burst of small
   * messages that a plain WebSocket carries.
   * @default Infinity
   */
  maxMessages?: number
  /**
   * The most bytes held (UTF-8 bytes of text, byte length of binary), while not open or while
   * the socket is backpressured. 16 MiB holds a minute of 1,000 messages/s of 256 B, or a
   * burst of 250,000 small messages, and is small next to what a tab or a Node process has.
   * @default 16777216 (16 MiB)
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

/** What became of a message handed to `send()` / `sendRaw()`. */
export type SendResult = 'sent' | 'queued' | 'dropped'

/**
 * While `bufferedAmount` is above the high-water mark the queue polls it (browsers have no
 * drain event). The poll starts prompt, so a fast network is never left idle, and backs off
 * while the buffer makes no progress, so a stalled one costs a few wake-ups a second.
 */
const POLL_MIN_MS = 0
const POLL_MAX_MS = 32

export interface QueueHooks {
  /** A message left without being sent: report it. */
  dropped(message: QueuedMessage, reason: DropReason): void
  /** A frame was written to the socket. */
  written(): void
  /** The frame to write for one leaving the queue (the reliable mode stamps its seq). */
  outbound?: ((frame: Frame) => Frame) | undefined
  /** While `true`, nothing leaves the queue (a full reliable window); `drain()` resumes. */
  blocked?: (() => boolean) | undefined
  /** The number of queued messages may have changed. */
  changed(): void
}

/**
 * Everything between `send()` and the native socket: the bounded FIFO queue (count, byte
 * and age bounds, every discarded message reported), the order in which queued and new
 * messages go out, backpressure and `flush()`. The socket tells it which native socket is
 * open (`attach`) and whether sends are accepted at all.
 *
 * Order on every open: what `open` listeners send goes straight out (`priority`), then
 * the queue in FIFO order, then new sends, which queue behind anything still waiting.
 *
 * A class rather than closures over local state: every socket owns one, and methods on the
 * prototype keep an idle socket's heap small (closures cost about 2.4 KB per instance).
 */
export class SendQueue {
  /** `false` after `close()` or giving up: sends are dropped with reason `closed`. */
  accepting = true
  /** While `open` listeners run, their sends go out ahead of the queue. */
  priority = false

  readonly #enabled: boolean
  readonly #maxMessages: number
  readonly #maxBytes: number
  readonly #ttlMs: number
  readonly #overflow: OverflowPolicy | undefined
  readonly #highWaterMarkBytes: number
  readonly #clock: Clock
  readonly #hooks: QueueHooks
  // The queue is `#items` from index `#head` on: taking from the front only moves `#head`,
  // so that draining a long queue stays linear.
  #items: (QueueEntry | undefined)[] = []
  #head = 0
  #bytes = 0
  #target: WebSocketLike | null = null
  readonly #flushWaiters: ((error?: SocketError) => void)[] = []
  /** How many times `close()` ran: tells a `send()` whether its entry outlived a listener's close. */
  #closes = 0
  /** What `close()` rejected `flush()` with: a later `flush()` rejects with it too. */
  #closedWith: SocketError | undefined
  /** An overflow drop is being announced (see `#drop`). */
  #overflowing = false
  #pollMs = POLL_MIN_MS
  /** `bufferedAmount` after the last batch, to tell whether the network made progress. */
  #lastBuffered = 0
  readonly #ttlTimer: TimerSlot
  readonly #drainTimer: TimerSlot

  constructor(
    queue: Required<QueueOptions> | false,
    highWaterMarkBytes: number,
    clock: Clock,
    hooks: QueueHooks,
  ) {
    const { maxMessages = 0, maxBytes = 0, ttlMs = 0, overflow }: QueueOptions = queue || {}
    this.#enabled = queue !== false
    this.#maxMessages = maxMessages
    this.#maxBytes = maxBytes
    this.#ttlMs = ttlMs
    this.#overflow = overflow
    this.#highWaterMarkBytes = highWaterMarkBytes
    this.#clock = clock
    this.#hooks = hooks
    this.#ttlTimer = new TimerSlot(clock)
    this.#drainTimer = new TimerSlot(clock)
  }

  /** Queued messages (0 with `queue: false`). */
  get length(): number {
    return this.#items.length - this.#head
  }

  /** Their total size in bytes. */
  get bytes(): number {
    return this.#bytes
  }

  /** The open native socket to write to, or `null` while there is none. Call `drain()` after. */
  attach(target: WebSocketLike | null): void {
    this.#target = target
    if (!target) this.#drainTimer.clear()
  }

  /** Sends now, queues, or drops (throwing `QUEUE_FULL` under the `reject` policy). */
  submit(frame: Frame, type: string | undefined, owner?: EntryOwner): SendResult {
    const ws = this.#target
    // The hot path: open, nothing waiting ahead of this message, socket buffer not full.
    if (
      this.accepting &&
      ws?.readyState === 1 &&
      !this.#hooks.blocked?.() &&
      (!this.#enabled ||
        this.priority ||
        // mock-socket's WebSocket has no `bufferedAmount`: undefined means nothing is buffered.
        (!this.length && (ws.bufferedAmount ?? 0) <= this.#highWaterMarkBytes))
    ) {
      this.#write(ws, frame, owner)
      return 'sent'
    }
    const entry = {
      message: { data: frame, type, bytes: frameBytes(frame), queuedAt: this.#clock.now() },
      owner,
    }
    let reason: DropReason = !this.accepting ? 'closed' : !this.#enabled ? 'not-open' : 'overflow'
    if (reason === 'overflow') {
      const closes = this.#closes
      if (this.#push(entry)) {
        // A `drop` listener closed the socket (and maybe connected it again), which dropped
        // this entry as `closed`.
        if (closes !== this.#closes) return 'dropped'
        this.#queued()
        return 'queued'
      }
      // A `drop` listener may have closed the socket while room was being made.
      if (!this.accepting) reason = 'closed'
      else if (this.#overflowing)
        throw this.#full('the queue is full: no resend from an overflow `drop` listener')
    }
    // A request fails with QUEUE_FULL itself, not with a generic DROPPED.
    const full =
      reason === 'overflow' && this.#overflow === 'reject'
        ? this.#full('the send queue is full')
        : undefined
    this.#drop(entry, reason, full)
    if (full) throw full
    return 'dropped'
  }

  /** Writes queued messages now, in one batch up to the high-water mark (see `#writeBatch`). */
  drain(): void {
    this.#pollMs = POLL_MIN_MS
    this.#writeBatch()
  }

  flush(): Promise<void> {
    // Closed (maybe from an `open` listener, where nothing drains until the listeners end).
    if (!this.accepting) return Promise.reject(this.#closedWith)
    return new Promise((resolve, reject) => {
      this.#flushWaiters.push((error) => (error ? reject(error) : resolve()))
      // From an `open` listener: the queue must wait for the other listeners' sends.
      if (!this.priority) this.drain()
    })
  }

  /** Puts messages back at the front (idempotent requests to send again after a reconnect). */
  requeue(entries: QueueEntry[]): void {
    if (!this.#enabled) for (const entry of entries) entry.owner?.settle('not-open')
    else if (entries.length) this.#putFirst(entries)
    this.#hooks.changed()
  }

  /**
   * Messages taken from another socket go first, ahead of anything queued here, keeping
   * their type and age (the TTL keeps counting). Where they cannot be kept they are
   * reported as drops, never thrown.
   */
  adopt(messages: readonly QueuedMessage[]): void {
    if (!messages.length) return
    // Measured again: `bytes` came from outside, and the bounds must hold whatever it says.
    const entries = messages.map((message) => ({
      message: {
        ...message,
        bytes: frameBytes(message.data),
        // An age that is not a time would make the TTL timer spin; count it from now.
        queuedAt: Number.isFinite(message.queuedAt) ? message.queuedAt : this.#clock.now(),
      },
    }))
    if (!this.accepting || !this.#enabled) {
      for (const entry of entries) this.#drop(entry, this.accepting ? 'not-open' : 'closed')
      return
    }
    this.#putFirst(entries)
    this.#queued()
  }

  /**
   * Puts entries at the front, then restores the bounds by refusing some of those entries:
   * the oldest under `drop-oldest`, otherwise the newest of them. Reported in queue order,
   * never thrown.
   */
  #putFirst(entries: QueueEntry[]): void {
    this.#unshift(entries)
    const dropOldest = this.#overflow === 'drop-oldest'
    const refused: QueueEntry[] = []
    for (let i = 0; i < entries.length && this.#over(0, 0); i++) {
      const entry = entries[dropOldest ? i : entries.length - 1 - i] as QueueEntry
      this.#remove(entry)
      if (dropOldest) refused.push(entry)
      else refused.unshift(entry)
    }
    for (const entry of refused) this.#drop(entry, 'overflow')
  }

  /**
   * Events and raw frames waiting to be sent. Queued requests are not handed out: their
   * response would arrive on another socket, so they reject (`DROPPED`, reason `taken`).
   */
  take(): QueuedMessage[] {
    const messages: QueuedMessage[] = []
    for (const entry of this.#takeAll()) {
      if (entry.owner) entry.owner.settle('taken')
      else messages.push(entry.message)
    }
    this.#hooks.changed()
    return messages
  }

  /** Stops accepting, drops everything queued as `closed` and rejects `flush()` waiters. */
  close(error: SocketError): void {
    this.accepting = false
    this.#closes++
    this.#closedWith = error
    this.attach(null)
    for (const entry of this.#takeAll()) this.#drop(entry, 'closed')
    this.#hooks.changed()
    this.#settleFlushes(error)
  }

  #over(moreMessages: number, moreBytes: number): boolean {
    return (
      this.length + moreMessages > this.#maxMessages || this.#bytes + moreBytes > this.#maxBytes
    )
  }

  #drop(entry: QueueEntry, reason: DropReason, error?: SocketError): void {
    entry.owner?.settle(reason, error)
    // While an overflow drop is announced the queue is full: a listener that sends the
    // message again would evict another one, whose listener sends it again, for ever.
    // Such a send throws QUEUE_FULL instead (see `submit`).
    const outer = this.#overflowing
    this.#overflowing ||= reason === 'overflow'
    try {
      this.#hooks.dropped(entry.message, reason)
    } finally {
      this.#overflowing = outer
    }
  }

  #full(message: string): SocketError {
    return new SocketError('QUEUE_FULL', message, {
      details: { queuedMessages: this.length, queuedBytes: this.#bytes },
    })
  }

  #write(ws: WebSocketLike, frame: Frame, owner?: EntryOwner): void {
    const outbound = this.#hooks.outbound
    ws.send(outbound ? outbound(frame) : frame)
    this.#hooks.written()
    owner?.settle('sent')
  }

  // An entry joined the queue. A request that times out or is aborted leaves at once:
  // it must not hold queue space.
  #hold(entry: QueueEntry): void {
    this.#bytes += entry.message.bytes
    if (entry.owner) entry.owner.unqueue = () => this.#remove(entry)
  }

  // An entry left the queue: it no longer holds space, and its owner need not unqueue it.
  #release(entry: QueueEntry): void {
    this.#bytes -= entry.message.bytes
    if (entry.owner) entry.owner.unqueue = undefined
  }

  #reset(): void {
    this.#items = []
    this.#head = 0
    this.#bytes = 0
    this.#ttlTimer.clear()
  }

  #take(): QueueEntry | undefined {
    const entry = this.#items[this.#head]
    if (entry) {
      this.#items[this.#head++] = undefined
      this.#release(entry)
      if (!this.length) this.#reset()
      // Compacting once most of the array is consumed keeps every take amortized O(1).
      else if (this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head)
        this.#head = 0
      }
    }
    return entry
  }

  /** Empties the queue; returns its entries in order. */
  #takeAll(): QueueEntry[] {
    const all = this.#items.slice(this.#head) as QueueEntry[]
    for (const entry of all) this.#release(entry)
    this.#reset()
    return all
  }

  #expire(): void {
    const ttlMs = this.#ttlMs
    const now = this.#clock.now()
    let first = this.#items[this.#head]
    let expired = false
    while (ttlMs > 0 && first && now - first.message.queuedAt >= ttlMs) {
      this.#take()
      this.#drop(first, 'expired')
      first = this.#items[this.#head]
      expired = true
    }
    if (expired) this.#hooks.changed()
  }

  // One timer for the whole queue: it fires when the oldest entry expires.
  #armTtl(): void {
    const first = this.#items[this.#head]
    if (this.#ttlMs > 0 && first) {
      const dueInMs = first.message.queuedAt + this.#ttlMs - this.#clock.now()
      this.#ttlTimer.set(
        () => {
          this.#expire()
          this.#armTtl()
        },
        Math.max(0, dueInMs),
      )
    }
  }

  /** Removes one entry wherever it is (its owner gave up, or adopting overflowed). */
  #remove(entry: QueueEntry): void {
    const index = this.#items.indexOf(entry, this.#head)
    if (index === this.#head) {
      this.#take()
      this.#armTtl()
    } else if (index > 0) {
      this.#items.splice(index, 1)
      this.#release(entry)
    }
    this.#hooks.changed()
  }

  /** Puts entries at the front, in order, ignoring the bounds. */
  #unshift(entries: QueueEntry[]): void {
    this.#items = [...entries, ...this.#items.slice(this.#head)]
    this.#head = 0
    for (const entry of entries) this.#hold(entry)
    this.#armTtl()
  }

  /**
   * Appends an entry, evicting old ones under `drop-oldest`. Returns `false` when the
   * entry itself was not accepted; the caller reports that drop.
   */
  #push(entry: QueueEntry): boolean {
    this.#expire()
    const size = entry.message.bytes
    // An `expired` drop listener may have closed the socket; and from an overflow drop
    // listener, nothing that needs room is queued (see `#drop`).
    if (!this.accepting) return false
    if (
      this.#over(1, size) &&
      // A message larger than the whole byte budget can never be queued, whatever the policy.
      (this.#overflowing || this.#overflow !== 'drop-oldest' || size > this.#maxBytes)
    ) {
      return false
    }
    const evicted: QueueEntry[] = []
    while (this.#over(1, size)) evicted.push(this.#take() as QueueEntry)
    this.#items.push(entry)
    this.#hold(entry)
    // Appending never changes the oldest entry, so an armed TTL timer stays right.
    if (!this.#ttlTimer.armed) this.#armTtl()
    // Announced once the new entry is in, so that the queue is full while listeners run.
    for (const old of evicted) this.#drop(old, 'overflow')
    return true
  }

  /** The next entry to send, after dropping expired ones. */
  #shift(): QueueEntry | undefined {
    this.#expire()
    return this.#take()
  }

  /**
   * Writes queued messages until the socket's buffer reaches the high-water mark; then polls
   * until it has room again (and, for `flush()`, until it is empty).
   */
  #writeBatch(): void {
    const ws = this.#target
    // A socket past OPEN (the server's close is on its way) silently discards what it is
    // given: keep the queue for the next connection instead.
    if (ws?.readyState === 1) {
      while (ws.readyState === 1 && (ws.bufferedAmount ?? 0) <= this.#highWaterMarkBytes) {
        // Held back by a part (a full window): it calls drain() when there is room again.
        if (this.#hooks.blocked?.()) return
        const entry = this.#shift()
        if (!entry) break
        this.#write(ws, entry.message.data, entry.owner)
      }
      this.#lastBuffered = ws.bufferedAmount ?? 0
      this.#hooks.changed()
      if (this.length || (this.#flushWaiters.length && this.#lastBuffered > 0)) {
        this.#drainTimer.set(() => this.#poll(), this.#pollMs)
        return
      }
    } else if (this.length) return // Not open: the next open drains.
    this.#settleFlushes()
  }

  // Prompt while the buffer shrinks, backing off while it does not.
  #poll(): void {
    const buffered = this.#target?.bufferedAmount ?? 0
    this.#pollMs =
      buffered < this.#lastBuffered
        ? POLL_MIN_MS
        : Math.min(Math.max(1, this.#pollMs * 2), POLL_MAX_MS)
    this.#writeBatch()
  }

  #settleFlushes(error?: SocketError): void {
    for (const settle of this.#flushWaiters.splice(0)) settle(error)
  }

  // Messages were queued: send them now, unless there is no socket or it is backed up
  // (then the poll releases them).
  #queued(): void {
    this.#hooks.changed()
    if (this.#target && !this.#drainTimer.armed) this.drain()
  }
}
