import { type Clock, TimerSlot } from './clock.ts'
import { SocketError } from './errors.ts'
import type { QueueOptions, WebSocketLike } from './options.ts'
import {
  type DropReason,
  type EntryOwner,
  type Frame,
  frameBytes,
  type OutboxEntry,
  type QueuedMessage,
  SendQueue,
} from './send-queue.ts'

/** What became of a message handed to `send()` / `sendRaw()`. */
export type SendResult = 'sent' | 'queued' | 'dropped'

/** While `bufferedAmount` is above the high-water mark, check this often whether it drained. */
const DRAIN_POLL_MS = 16

export interface OutboxHooks {
  /** A message left without being sent: report it. */
  dropped(message: QueuedMessage, reason: DropReason): void
  /** A frame was written to the socket. */
  written(): void
  /** The number of queued messages may have changed. */
  changed(): void
}

/**
 * Everything between `send()` and the native socket: the bounded queue, the order in
 * which queued and new messages go out, backpressure and `flush()`. The socket tells it
 * which native socket is open (`attach`) and whether sends are accepted at all.
 *
 * Order on every open: what `open` listeners send goes straight out (`priority`), then
 * the queue in FIFO order, then new sends, which queue behind anything still waiting.
 */
export class Outbox {
  /** `false` after `close()` or giving up: sends are dropped with reason `closed`. */
  accepting = true
  /** While `open` listeners run, their sends go out ahead of the queue. */
  priority = false
  readonly #queue: SendQueue | null
  readonly #reject: boolean
  readonly #highWaterMarkBytes: number
  readonly #clock: Clock
  readonly #hooks: OutboxHooks
  readonly #drainTimer: TimerSlot
  #target: WebSocketLike | null = null
  #flushWaiters: { resolve: () => void; reject: (error: SocketError) => void }[] = []

  constructor(
    queue: Required<QueueOptions> | false,
    highWaterMarkBytes: number,
    clock: Clock,
    hooks: OutboxHooks,
  ) {
    this.#clock = clock
    this.#hooks = hooks
    this.#highWaterMarkBytes = highWaterMarkBytes
    this.#reject = queue !== false && queue.overflow === 'reject'
    this.#queue = queue
      ? new SendQueue(queue, clock, (entry, reason) => this.#drop(entry, reason))
      : null
    this.#drainTimer = new TimerSlot(clock)
  }

  get length(): number {
    return this.#queue?.length ?? 0
  }

  get bytes(): number {
    return this.#queue?.bytes ?? 0
  }

  /** The open native socket to write to, or `null` while there is none. Call `drain()` after. */
  attach(target: WebSocketLike | null): void {
    this.#target = target
    if (!target) this.#drainTimer.clear()
  }

  submit(frame: Frame, type: string | undefined, owner?: EntryOwner): SendResult {
    if (!this.accepting) return this.#refuse(frame, type, owner, 'closed')
    const ws = this.#target
    const queue = this.#queue
    // The hot path: open, nothing waiting ahead of this message, socket buffer not full.
    if (
      ws !== null &&
      ws.readyState === 1 &&
      (queue === null ||
        this.priority ||
        (queue.length === 0 && ws.bufferedAmount <= this.#highWaterMarkBytes))
    ) {
      ws.send(frame)
      this.#hooks.written()
      owner?.settle('sent')
      return 'sent'
    }
    if (queue === null) return this.#refuse(frame, type, owner, 'not-open')
    const message = { data: frame, type, bytes: frameBytes(frame), queuedAt: this.#clock.now() }
    if (!queue.push({ message, owner })) {
      const full = this.#reject
        ? new SocketError('QUEUE_FULL', 'the send queue is full', {
            details: { queuedMessages: queue.length, queuedBytes: queue.bytes },
          })
        : undefined
      // A request fails with QUEUE_FULL itself, not with a generic DROPPED.
      this.#drop({ message, owner }, 'overflow', full)
      if (full) throw full
      return 'dropped'
    }
    this.#hooks.changed()
    if (ws !== null && !this.#drainTimer.armed) this.drain()
    return 'queued'
  }

  /** Writes queued messages while the socket accepts them; polls while it is backed up. */
  drain(): void {
    const ws = this.#target
    const queue = this.#queue
    // A socket past OPEN (the server's close is on its way) silently discards what it is
    // given: keep the queue for the next connection instead.
    if (ws !== null && ws.readyState === 1) {
      if (queue !== null) {
        let entry =
          queue.length > 0 && ws.bufferedAmount <= this.#highWaterMarkBytes
            ? queue.shift()
            : undefined
        while (entry) {
          ws.send(entry.message.data)
          this.#hooks.written()
          entry.owner?.settle('sent')
          entry =
            ws.readyState === 1 && ws.bufferedAmount <= this.#highWaterMarkBytes
              ? queue.shift()
              : undefined
        }
        this.#hooks.changed()
      }
      if (this.length > 0 || (this.#flushWaiters.length > 0 && ws.bufferedAmount > 0)) {
        this.#drainTimer.set(() => this.drain(), DRAIN_POLL_MS)
        return
      }
    } else if (this.length > 0) {
      return // Not open: the next open drains.
    }
    const waiters = this.#flushWaiters
    this.#flushWaiters = []
    for (const waiter of waiters) waiter.resolve()
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#flushWaiters.push({ resolve, reject })
      // From an `open` listener: the queue must wait for the other listeners' sends.
      if (!this.priority) this.drain()
    })
  }

  /** Puts messages back at the front (idempotent requests to send again after a reconnect). */
  requeue(entries: OutboxEntry[]): void {
    if (this.#queue) this.#queue.unshift(entries)
    else for (const entry of entries) entry.owner?.settle('not-open')
    this.#hooks.changed()
  }

  /**
   * Messages taken from another socket go first, ahead of anything queued here, keeping
   * their type and age (the TTL keeps counting). Where they cannot be kept they are
   * reported as drops, never thrown.
   */
  adopt(messages: readonly QueuedMessage[]): void {
    if (messages.length === 0) return
    if (!this.accepting || this.#queue === null) {
      const reason = this.accepting ? 'not-open' : 'closed'
      for (const message of messages) this.#hooks.dropped(message, reason)
      return
    }
    this.#queue.adopt(messages.map((message) => ({ message })))
    this.#hooks.changed()
    if (this.#target !== null && !this.#drainTimer.armed) this.drain()
  }

  /**
   * Events and raw frames waiting to be sent. Queued requests are not handed out: their
   * response would arrive on another socket, so they reject (`DROPPED`, reason `taken`).
   */
  take(): QueuedMessage[] {
    const messages: QueuedMessage[] = []
    for (const entry of this.#queue?.takeAll() ?? []) {
      if (entry.owner) entry.owner.settle('taken')
      else messages.push(entry.message)
    }
    this.#hooks.changed()
    return messages
  }

  /** Stops accepting, drops everything queued as `closed` and rejects `flush()` waiters. */
  close(error: SocketError): void {
    this.accepting = false
    this.attach(null)
    this.#queue?.clear('closed')
    this.#hooks.changed()
    const waiters = this.#flushWaiters
    this.#flushWaiters = []
    for (const waiter of waiters) waiter.reject(error)
  }

  #refuse(
    frame: Frame,
    type: string | undefined,
    owner: EntryOwner | undefined,
    reason: DropReason,
  ): 'dropped' {
    const message = { data: frame, type, bytes: frameBytes(frame), queuedAt: this.#clock.now() }
    this.#drop({ message, owner }, reason)
    return 'dropped'
  }

  #drop(entry: OutboxEntry, reason: DropReason, error?: SocketError): void {
    entry.owner?.settle(reason, error)
    this.#hooks.dropped(entry.message, reason)
  }
}
