import { type Clock, TimerSlot } from './clock.ts'

/** Anything `WebSocket#send` accepts. */
export type Frame = string | ArrayBufferLike | ArrayBufferView | Blob

/**
 * - `drop-oldest`: make room by discarding the oldest queued messages.
 * - `drop-newest`: discard the message being sent; `send()` returns `'dropped'`.
 * - `reject`: like `drop-newest`, but `send()` throws a `SocketError` `QUEUE_FULL` (and
 *   `request()` rejects with it), for producers that must stop when the queue is full.
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
  /** Set when the owner gave up (timed out, aborted): the entry is skipped, not sent. */
  readonly cancelled: boolean
  /** Set by the queue while the entry waits in it; the owner calls it when it gives up. */
  unqueue?: (() => void) | undefined
}

/** @internal A queued message and its owner, if any. */
export interface OutboxEntry {
  readonly message: QueuedMessage
  readonly owner?: EntryOwner | undefined
}

export interface QueueLimits {
  maxMessages: number
  maxBytes: number
  ttlMs: number
  overflow: OverflowPolicy
}

/** UTF-8 length of a string without allocating an encoded copy. */
export function utf8Length(text: string): number {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is 2 UTF-16 units and 4 UTF-8 bytes.
      bytes += 2
      i++
    } else bytes += 2
  }
  return bytes
}

export function frameBytes(frame: Frame): number {
  if (typeof frame === 'string') return utf8Length(frame)
  if (typeof Blob !== 'undefined' && frame instanceof Blob) return frame.size
  return (frame as ArrayBufferLike | ArrayBufferView).byteLength
}

/**
 * The bounded FIFO outbox. It enforces count, byte and age bounds and reports every
 * message it discards through `onDrop`; it never talks to a socket.
 */
export class SendQueue {
  #items: OutboxEntry[] = []
  #head = 0
  #bytes = 0
  #limits: QueueLimits
  #clock: Clock
  #onDrop: (entry: OutboxEntry, reason: DropReason) => void
  #ttlTimer: TimerSlot

  constructor(
    limits: QueueLimits,
    clock: Clock,
    onDrop: (entry: OutboxEntry, reason: DropReason) => void,
  ) {
    this.#limits = limits
    this.#clock = clock
    this.#onDrop = onDrop
    this.#ttlTimer = new TimerSlot(clock)
  }

  get length(): number {
    return this.#items.length - this.#head
  }

  get bytes(): number {
    return this.#bytes
  }

  /**
   * Appends an entry, evicting old ones under `drop-oldest`. Returns `false` when the
   * entry itself was not accepted; the caller reports that drop.
   */
  push(entry: OutboxEntry): boolean {
    this.#expire()
    const { maxMessages, maxBytes, overflow } = this.#limits
    const size = entry.message.bytes
    // A message larger than the whole byte budget can never be queued, whatever the policy.
    if (size > maxBytes) return false
    if (this.length + 1 > maxMessages || this.#bytes + size > maxBytes) {
      if (overflow !== 'drop-oldest') return false
      while (this.length > 0 && (this.length + 1 > maxMessages || this.#bytes + size > maxBytes)) {
        const evicted = this.#take() as OutboxEntry
        if (!evicted.owner?.cancelled) this.#onDrop(evicted, 'overflow')
      }
    }
    this.#items.push(entry)
    this.#bytes += size
    // A request that times out or is aborted leaves at once: it must not hold queue space.
    if (entry.owner) entry.owner.unqueue = () => this.#remove(entry)
    // Appending never changes the oldest entry, so an armed TTL timer stays right.
    if (!this.#ttlTimer.armed) this.#armTtl()
    return true
  }

  /** Puts entries back at the front, in order, ignoring the bounds (idempotent resends). */
  unshift(entries: OutboxEntry[]): void {
    if (entries.length === 0) return
    this.#items = [...entries, ...this.#items.slice(this.#head)]
    this.#head = 0
    for (const entry of entries) this.#bytes += entry.message.bytes
    this.#armTtl()
  }

  /**
   * Puts entries taken from another queue at the front, in order, then restores the bounds by
   * dropping adopted entries as `overflow` (reported, never thrown): the oldest under
   * `drop-oldest`, otherwise the newest of them.
   */
  adopt(entries: OutboxEntry[]): void {
    const { maxMessages, maxBytes, overflow } = this.#limits
    const oldestFirst = overflow === 'drop-oldest'
    const refused: OutboxEntry[] = []
    this.unshift(entries)
    for (let i = 0; i < entries.length; i++) {
      if (this.length <= maxMessages && this.#bytes <= maxBytes) break
      const entry = entries[oldestFirst ? i : entries.length - 1 - i] as OutboxEntry
      this.#remove(entry)
      if (oldestFirst) refused.push(entry)
      else refused.unshift(entry)
    }
    for (const entry of refused) this.#onDrop(entry, 'overflow')
  }

  /** Removes one entry wherever it is (its owner gave up). */
  #remove(entry: OutboxEntry): void {
    const index = this.#items.indexOf(entry, this.#head)
    if (index < 0) return
    if (index === this.#head) {
      this.#take()
      this.#armTtl()
      return
    }
    this.#items.splice(index, 1)
    this.#bytes -= entry.message.bytes
    if (entry.owner) entry.owner.unqueue = undefined
  }

  /** The next entry to send, skipping expired and cancelled ones; `undefined` when empty. */
  shift(): OutboxEntry | undefined {
    this.#expire()
    let entry = this.#take()
    while (entry?.owner?.cancelled) entry = this.#take()
    if (this.length === 0) this.#ttlTimer.clear()
    return entry
  }

  /** Removes and returns every entry (for `takeQueued()`), without reporting drops. */
  takeAll(): OutboxEntry[] {
    const all = this.#items.slice(this.#head).filter((e) => !e.owner?.cancelled)
    for (const entry of all) if (entry.owner) entry.owner.unqueue = undefined
    this.#reset()
    return all
  }

  /** Drops every entry with the given reason. */
  clear(reason: DropReason): void {
    const all = this.takeAll()
    for (const entry of all) this.#onDrop(entry, reason)
  }

  #take(): OutboxEntry | undefined {
    if (this.#head >= this.#items.length) return undefined
    const entry = this.#items[this.#head] as OutboxEntry
    this.#items[this.#head] = undefined as unknown as OutboxEntry
    this.#head++
    this.#bytes -= entry.message.bytes
    if (entry.owner) entry.owner.unqueue = undefined
    if (this.#head === this.#items.length) this.#reset()
    else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return entry
  }

  #reset(): void {
    this.#items = []
    this.#head = 0
    this.#bytes = 0
    this.#ttlTimer.clear()
  }

  #expire(): void {
    const { ttlMs } = this.#limits
    if (ttlMs <= 0) return
    const now = this.#clock.now()
    let head = this.#items[this.#head]
    while (head && now - head.message.queuedAt >= ttlMs) {
      this.#take()
      if (!head.owner?.cancelled) this.#onDrop(head, 'expired')
      head = this.#items[this.#head]
    }
  }

  // One timer for the whole queue: it fires when the oldest entry expires.
  #armTtl(): void {
    const { ttlMs } = this.#limits
    const head = this.#items[this.#head]
    if (ttlMs <= 0 || !head) return
    const dueInMs = Math.max(0, head.message.queuedAt + ttlMs - this.#clock.now())
    this.#ttlTimer.set(() => {
      this.#expire()
      this.#armTtl()
    }, dueInMs)
  }
}
