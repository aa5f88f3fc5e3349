import { nanoid } from 'nanoid/non-secure'
import { checkNumbers, checkType } from './check.ts'
import { TimerSlot } from './clock.ts'
import { withDefaults } from './defaults.ts'
import { schemaOf, validate } from './dispatch.ts'
import { checkKeys, RemoteError, SocketError, type SocketErrorCode } from './errors.ts'
import type { Feature, Part, PartHost } from './part.ts'
import type { EntryOwner, QueueEntry } from './send-queue.ts'
import { type Envelope, type Frame, frameBytes } from './wire.ts'

export interface RequestsOptions {
  /**
   * Default milliseconds a `request()` waits for its response; `Infinity` waits for ever
   * (until the response, an abort, or `close()`).
   * @default 10000
   */
  timeoutMs?: number
}

export interface RequestOptions {
  /**
   * Milliseconds to wait for the response, counted from the call (time spent queued
   * while offline included).
   * @default the `timeoutMs` of `requests()`
   */
  timeoutMs?: number
  /** Cancels the request; it rejects with `ABORTED` and, if still queued, is never sent. */
  signal?: AbortSignal
  /**
   * Safe to send twice: if the connection drops after it was sent, it is sent again after
   * the reconnect instead of rejecting with `CONNECTION_LOST`.
   * @default false
   */
  idempotent?: boolean
}

/** @internal The request/response part, as the socket's `request()` sees it. */
export interface RequestsPart extends Part {
  /** Requests waiting for their response. */
  readonly pendingCount: number
  request(type: string, data?: unknown, options?: RequestOptions): Promise<unknown>
}

/** A request waiting for its response. It is also the owner of its queue entry. */
interface PendingRequest extends EntryOwner {
  /** Written to a socket: once the connection drops, nobody knows whether it arrived. */
  sent?: boolean
  /** Settled (answered, failed, timed out or aborted); later outcomes are ignored. */
  cancelled: boolean
  readonly type: string
  readonly frame: Frame
  readonly idempotent: boolean
  fail(error: SocketError): void
  succeed(value: unknown): void
  /** The connection dropped after it was sent: the entry to send again, or none. */
  lost(now: number): QueueEntry[]
}

type SocketErrorOptions = ConstructorParameters<typeof SocketError>[2]

const DEFAULTS = { timeoutMs: 10_000 }

/**
 * Request/response for `socket.request()`, for the `requests` option:
 * `requests: requests({ timeoutMs })`. A request is an envelope with an `id`; the server's
 * response carries it back as `re` (PROTOCOL.md §2). Throws `INVALID_OPTIONS` for options
 * it cannot use.
 */
export function requests(options: RequestsOptions = {}): Feature<RequestsPart> {
  checkKeys('requests.', options, Object.keys(DEFAULTS))
  const o = withDefaults(DEFAULTS, options)
  checkNumbers('requests.', o, DEFAULTS)
  return { feature: 'requests', create: (host) => requestsPart(o.timeoutMs, host) }
}

// Closures over locals instead of methods over private fields: a fraction of the size once
// minified, and only sockets that make requests create one. The part owns the request
// timers and abort listeners, and releases each one exactly once.
function requestsPart(defaultTimeoutMs: number, host: PartHost): RequestsPart {
  const pending = new Map<string, PendingRequest>()
  const responses = host.validators.responses

  const track = (
    id: string,
    type: string,
    frame: Frame,
    { timeoutMs, signal, idempotent }: RequestOptions & { timeoutMs: number },
  ): { request: PendingRequest; promise: Promise<unknown> } => {
    let request!: PendingRequest
    const promise = new Promise((resolve, reject) => {
      // Releases the queue entry, timer, abort listener and map slot, then settles.
      const end = (settle: (value: unknown) => void, value: unknown) => {
        if (request.cancelled) return
        request.cancelled = true
        request.unqueue?.()
        timer.clear()
        signal?.removeEventListener('abort', abort)
        pending.delete(id)
        settle(value)
      }
      request = {
        cancelled: false,
        type,
        frame,
        idempotent: idempotent === true,
        settle(outcome, error) {
          if (outcome === 'sent') request.sent = true
          else if (error) request.fail(error as SocketError)
          else
            failWith(outcome === 'closed' ? 'CLOSED' : 'DROPPED', `was not sent (${outcome})`, {
              details: { reason: outcome },
            })
        },
        fail: (error) => end(reject, error),
        succeed: (value) => end(resolve, value),
        lost(queuedAt) {
          if (!idempotent) {
            failWith('CONNECTION_LOST', 'got no response before the connection dropped')
            return []
          }
          request.sent = false
          const message = { data: frame, type, bytes: frameBytes(frame), queuedAt }
          return [{ message, owner: request }]
        },
      }
    })
    /** Fails the request with an error whose message names it. */
    const failWith = (code: SocketErrorCode, what: string, options?: SocketErrorOptions) =>
      request.fail(new SocketError(code, `request "${type}" ${what}`, options))
    const abort = () => failWith('ABORTED', 'was aborted', { cause: signal?.reason })
    pending.set(id, request)
    const timer = new TimerSlot(host.clock)
    timer.set(
      () => failWith('REQUEST_TIMEOUT', `got no response within ${timeoutMs} ms`),
      timeoutMs,
    )
    signal?.addEventListener('abort', abort)
    // Already aborted: settled at once, everything just set up released again.
    if (signal?.aborted) abort()
    return { request, promise }
  }

  return {
    get pendingCount() {
      return pending.size
    },

    request(type, data, options = {}) {
      try {
        checkType(type)
        const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
        if (!(timeoutMs > 0))
          throw new SocketError('INVALID_OPTIONS', 'request: timeoutMs must be a number > 0')
        const id = nanoid()
        const frame = host.encode(data === undefined ? { type, id } : { type, id, data })
        const { request, promise } = track(id, type, frame, { ...options, timeoutMs })
        if (!request.cancelled) {
          try {
            host.submit(frame, type, request)
          } catch (error) {
            request.fail(error as SocketError)
          }
        }
        return promise
      } catch (error) {
        return Promise.reject(error)
      }
    },

    response(envelope: Envelope) {
      const request = pending.get(envelope.re as string)
      // A response after a timeout or abort: the caller has already been told.
      if (!request) return
      const { error } = envelope
      if (error) request.fail(new RemoteError(error.code, error.message, { type: request.type }))
      else validate(schemaOf(responses, request.type), envelope, request.succeed, request.fail)
    },

    /**
     * Requests already sent cannot be known to have arrived: idempotent ones come back as
     * queue entries to send again, the others reject. Requests still queued are untouched:
     * they go out on the next connection.
     */
    // With a part that replays what was in flight (the reliable mode), nothing is lost yet.
    lost: (now) =>
      host.replays ? [] : [...pending.values()].flatMap((r) => (r.sent ? r.lost(now) : [])),

    /**
     * The reliable session was lost: what was sent in it may or may not have run.
     * `idempotent` requests go out again with the same id (a server answers a repeated id
     * from its result cache), the others reject with `SESSION_LOST`.
     */
    sessionLost() {
      const resent: string[] = []
      const rejected: string[] = []
      for (const [id, request] of pending) {
        if (!request.sent) continue
        if (request.idempotent) {
          request.sent = false
          resent.push(id)
          host.submit(request.frame, request.type, request)
        } else {
          rejected.push(id)
          request.fail(
            new SocketError(
              'SESSION_LOST',
              `request "${request.type}" may or may not have run: the server lost the session`,
            ),
          )
        }
      }
      return { resent, rejected }
    },

    // Map iteration tolerates the deletions that fail() makes.
    ended(error) {
      pending.forEach((request) => {
        request.fail(error)
      })
    },
  }
}
