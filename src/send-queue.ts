import { type Clock, TimerSlot } from './clock.ts'
import { SocketError } from './errors.ts'
import type { QueueOptions, WebSocketLike } from './options.ts'

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
export interface QueueEntry {
  readonly message: QueuedMessage
  readonly owner?: EntryOwner | undefined
}

/** UTF-8 bytes for text (counted without allocating an encoded copy), byte length for binary. */
export function frameBytes(frame: Frame): number {
  // Only a Blob has no `byteLength`.
  if (typeof frame !== 'string')
    return (frame as ArrayBufferView).byteLength ?? (frame as Blob).size
  let bytes = frame.length
  for (let i = 0; i < frame.length; i++) {
    const c = frame.charCodeAt(i)
    if (c > 0x7f) {
      bytes += c < 0x800 ? 1 : 2
      // A high surrogate (0xD800-0xDBFF) starts a pair: 2 UTF-16 units, 4 UTF-8 bytes.
      // (At the very end of the text, skipping past it just ends the loop.)
      if (c >> 10 === 0x36) i++
    }
  }
  return bytes
}

/** What became of a message handed to `send()` / `sendRaw()`. */
export type SendResult = 'sent' | 'queued' | 'dropped'

/** While `bufferedAmount` is above the high-water mark, check this often whether it drained. */
const DRAIN_POLL_MS = 16

export interface QueueHooks {
  /** A message left without being sent: report it. */
  dropped(message: QueuedMessage, reason: DropReason): void
  /** A frame was written to the socket. */
  written(): void
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
 */
export interface SendQueue {
  /** `false` after `close()` or giving up: sends are dropped with reason `closed`. */
  accepting: boolean
  /** While `open` listeners run, their sends go out ahead of the queue. */
  priority: boolean
  /** Queued messages (0 with `queue: false`). */
  readonly length: number
  /** Their total size in bytes. */
  readonly bytes: number
  /** The open native socket to write to, or `null` while there is none. Call `drain()` after. */
  attach(target: WebSocketLike | null): void
  /** Sends now, queues, or drops (throwing `QUEUE_FULL` under the `reject` policy). */
  submit(frame: Frame, type: string | undefined, owner?: EntryOwner): SendResult
  /** Writes queued messages while the socket accepts them; polls while it is backed up. */
  drain(): void
  flush(): Promise<void>
  /** Puts messages back at the front (idempotent requests to send again after a reconnect). */
  requeue(entries: QueueEntry[]): void
  /**
   * Messages taken from another socket go first, ahead of anything queued here, keeping
   * their type and age (the TTL keeps counting). Where they cannot be kept they are
   * reported as drops, never thrown.
   */
  adopt(messages: readonly QueuedMessage[]): void
  /**
   * Events and raw frames waiting to be sent. Queued requests are not handed out: their
   * response would arrive on another socket, so they reject (`DROPPED`, reason `taken`).
   */
  take(): QueuedMessage[]
  /** Stops accepting, drops everything queued as `closed` and rejects `flush()` waiters. */
  close(error: SocketError): void
}

export function createSendQueue(
  queue: Required<QueueOptions> | false,
  highWaterMarkBytes: number,
  clock: Clock,
  hooks: QueueHooks,
): SendQueue {
  // The state lives in this closure rather than in private fields: `x` minifies smaller than
  // `this.#x` (the bundle size is a feature).
  const { maxMessages = 0, maxBytes = 0, ttlMs = 0, overflow }: QueueOptions = queue || {}
  const dropOldest = overflow === 'drop-oldest'
  // The queue is `items` from index `head` on: taking from the front only moves `head`,
  // so that draining a long queue stays linear.
  let items: (QueueEntry | undefined)[] = []
  let head = 0
  let bytes = 0
  let target: WebSocketLike | null = null
  const flushWaiters: ((error?: SocketError) => void)[] = []
  const ttlTimer = new TimerSlot(clock)
  const drainTimer = new TimerSlot(clock)

  const count = () => items.length - head
  const over = (moreMessages: number, moreBytes: number) =>
    count() + moreMessages > maxMessages || bytes + moreBytes > maxBytes

  const drop = (entry: QueueEntry, reason: DropReason, error?: SocketError) => {
    entry.owner?.settle(reason, error)
    hooks.dropped(entry.message, reason)
  }

  const write = (ws: WebSocketLike, frame: Frame, owner?: EntryOwner) => {
    ws.send(frame)
    hooks.written()
    owner?.settle('sent')
  }

  // An entry left the queue: it no longer holds space, and its owner need not unqueue it.
  const release = (entry: QueueEntry) => {
    bytes -= entry.message.bytes
    if (entry.owner) entry.owner.unqueue = undefined
  }

  const reset = () => {
    items = []
    head = 0
    bytes = 0
    ttlTimer.clear()
  }

  const take = () => {
    const entry = items[head]
    if (entry) {
      items[head++] = undefined
      release(entry)
      if (!count()) reset()
      // Compacting once most of the array is consumed keeps every take amortized O(1).
      else if (head * 2 > items.length) {
        items = items.slice(head)
        head = 0
      }
    }
    return entry
  }

  /** Empties the queue; returns the entries whose owner has not given up. */
  const takeAll = () => {
    const all = items.slice(head) as QueueEntry[]
    for (const entry of all) release(entry)
    reset()
    return all.filter((entry) => !entry.owner?.cancelled)
  }

  const expire = () => {
    const now = clock.now()
    let first = items[head]
    while (ttlMs > 0 && first && now - first.message.queuedAt >= ttlMs) {
      take()
      if (!first.owner?.cancelled) drop(first, 'expired')
      first = items[head]
    }
  }

  // One timer for the whole queue: it fires when the oldest entry expires.
  const armTtl = () => {
    const first = items[head]
    if (ttlMs > 0 && first)
      ttlTimer.set(
        () => {
          expire()
          armTtl()
        },
        Math.max(0, first.message.queuedAt + ttlMs - clock.now()),
      )
  }

  /** Removes one entry wherever it is (its owner gave up, or adopting overflowed). */
  const remove = (entry: QueueEntry) => {
    const index = items.indexOf(entry, head)
    if (index === head) {
      take()
      armTtl()
    } else if (index > 0) {
      items.splice(index, 1)
      release(entry)
    }
  }

  // An entry joined the queue. A request that times out or is aborted leaves at once:
  // it must not hold queue space.
  const hold = (entry: QueueEntry) => {
    bytes += entry.message.bytes
    if (entry.owner) entry.owner.unqueue = () => remove(entry)
  }

  /** Puts entries at the front, in order, ignoring the bounds. */
  const unshift = (entries: QueueEntry[]) => {
    items = [...entries, ...items.slice(head)]
    head = 0
    entries.forEach(hold)
    armTtl()
  }

  /**
   * Appends an entry, evicting old ones under `drop-oldest`. Returns `false` when the
   * entry itself was not accepted; the caller reports that drop.
   */
  const push = (entry: QueueEntry) => {
    expire()
    const size = entry.message.bytes
    while (over(1, size)) {
      // A message larger than the whole byte budget can never be queued, whatever the policy.
      if (!dropOldest || size > maxBytes) return false
      const evicted = take() as QueueEntry
      if (!evicted.owner?.cancelled) drop(evicted, 'overflow')
    }
    items.push(entry)
    hold(entry)
    // Appending never changes the oldest entry, so an armed TTL timer stays right.
    if (!ttlTimer.armed) armTtl()
    return true
  }

  /** The next entry to send, after dropping expired ones and skipping cancelled ones. */
  const shift = () => {
    expire()
    let entry = take()
    while (entry?.owner?.cancelled) entry = take()
    return entry
  }

  const settleFlushes = (error?: SocketError) => {
    for (const settle of flushWaiters.splice(0)) settle(error)
  }

  // Messages were queued: send them now, unless there is no socket or it is backed up
  // (then the poll releases them).
  const queued = () => {
    hooks.changed()
    if (target && !drainTimer.armed) drain()
  }

  const drain = () => {
    const ws = target
    // A socket past OPEN (the server's close is on its way) silently discards what it is
    // given: keep the queue for the next connection instead.
    if (ws?.readyState === 1) {
      while (ws.readyState === 1 && ws.bufferedAmount <= highWaterMarkBytes) {
        const entry = shift()
        if (!entry) break
        write(ws, entry.message.data, entry.owner)
      }
      hooks.changed()
      if (count() || (flushWaiters.length && ws.bufferedAmount > 0))
        return drainTimer.set(drain, DRAIN_POLL_MS)
    } else if (count()) return // Not open: the next open drains.
    settleFlushes()
  }

  // A factory, not a class whose constructor returns this object: rollup 4 assumes
  // `new X()` yields `this` and tree-shakes reads of the returned object's fields.
  const sendQueue: SendQueue = {
    accepting: true,
    priority: false,
    attach: (ws) => {
      target = ws
      if (!ws) drainTimer.clear()
    },
    submit: (frame, type, owner) => {
      const ws = target
      // The hot path: open, nothing waiting ahead of this message, socket buffer not full.
      if (
        sendQueue.accepting &&
        ws?.readyState === 1 &&
        (!queue || sendQueue.priority || (!count() && ws.bufferedAmount <= highWaterMarkBytes))
      ) {
        write(ws, frame, owner)
        return 'sent'
      }
      const entry = {
        message: { data: frame, type, bytes: frameBytes(frame), queuedAt: clock.now() },
        owner,
      }
      const reason = !sendQueue.accepting ? 'closed' : !queue ? 'not-open' : 'overflow'
      if (reason === 'overflow' && push(entry)) {
        queued()
        return 'queued'
      }
      // A request fails with QUEUE_FULL itself, not with a generic DROPPED.
      const full =
        reason === 'overflow' && overflow === 'reject'
          ? new SocketError('QUEUE_FULL', 'the send queue is full', {
              details: { queuedMessages: count(), queuedBytes: bytes },
            })
          : undefined
      drop(entry, reason, full)
      if (full) throw full
      return 'dropped'
    },
    drain,
    flush: () =>
      new Promise((resolve, reject) => {
        flushWaiters.push((error) => (error ? reject(error) : resolve()))
        // From an `open` listener: the queue must wait for the other listeners' sends.
        if (!sendQueue.priority) drain()
      }),
    requeue: (entries) => {
      if (!queue) for (const entry of entries) entry.owner?.settle('not-open')
      else if (entries.length) unshift(entries)
      hooks.changed()
    },
    adopt: (messages) => {
      if (!messages.length) return
      const entries = messages.map((message) => ({ message }))
      if (!sendQueue.accepting || !queue) {
        for (const entry of entries) drop(entry, sendQueue.accepting ? 'not-open' : 'closed')
        return
      }
      unshift(entries)
      // Restore the bounds by refusing adopted entries: the oldest under `drop-oldest`,
      // otherwise the newest of them. Reported in queue order, never thrown.
      const refused: QueueEntry[] = []
      for (let i = 0; i < entries.length && over(0, 0); i++) {
        const entry = entries[dropOldest ? i : entries.length - 1 - i] as QueueEntry
        remove(entry)
        if (dropOldest) refused.push(entry)
        else refused.unshift(entry)
      }
      for (const entry of refused) drop(entry, 'overflow')
      queued()
    },
    take: () => {
      const messages: QueuedMessage[] = []
      for (const entry of takeAll()) {
        if (entry.owner) entry.owner.settle('taken')
        else messages.push(entry.message)
      }
      hooks.changed()
      return messages
    },
    close: (error) => {
      sendQueue.accepting = false
      sendQueue.attach(null)
      for (const entry of takeAll()) drop(entry, 'closed')
      hooks.changed()
      settleFlushes(error)
    },
    get length() {
      return count()
    },
    get bytes() {
      return bytes
    },
  }
  return sendQueue
}
