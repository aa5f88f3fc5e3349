import type { StandardSchemaV1 } from '@standard-schema/spec'
import { type Clock, TimerSlot } from './clock.ts'
import { handlerFailed, RemoteError, SocketError, type SocketErrorCode } from './errors.ts'
import type { EntryOwner, QueueEntry } from './send-queue.ts'
import { type Envelope, type Frame, frameBytes } from './wire.ts'

export type MessageHandler = (data: unknown, envelope: Envelope) => void

export interface RequestOptions {
  /**
   * Milliseconds to wait for the response, counted from the call (time spent queued
   * while offline included).
   * @default the socket's `requestTimeoutMs`
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

export interface DispatchHooks {
  clock: Clock
  /** Reports a failure (throwing handler, failed validation) without stopping dispatch. */
  report(error: SocketError): void
  /** An event nobody listens to. */
  unhandled(envelope: Envelope): void
  /** Whether the socket is still in use; an async validator may settle after close(). */
  alive(): boolean
  validators: {
    incoming?: Record<string, StandardSchemaV1 | undefined>
    responses?: Record<string, StandardSchemaV1 | undefined>
  }
}

/** A request waiting for its response. It is also the owner of its queue entry. */
interface PendingRequest extends EntryOwner {
  /** Written to a socket: once the connection drops, nobody knows whether it arrived. */
  sent?: boolean
  /** Settled (answered, failed, timed out or aborted); later outcomes are ignored. */
  cancelled: boolean
  readonly type: string
  fail(error: SocketError): void
  succeed(value: unknown): void
  /** The connection dropped after it was sent: the entry to send again, or none. */
  lost(now: number): QueueEntry[]
}

type Outcome = (value: unknown) => void
type SocketErrorOptions = ConstructorParameters<typeof SocketError>[2]

/**
 * Routes decoded envelopes to typed handlers and correlates responses with requests.
 * It owns the request timers and abort listeners, and releases each one exactly once.
 */
export interface Dispatcher {
  /** Requests waiting for their response. */
  readonly pendingCount: number
  on(type: string, handler: MessageHandler): () => void
  /** Registers a request before it is submitted; its promise settles exactly once. */
  track(
    id: string,
    type: string,
    frame: Frame,
    options: RequestOptions & { timeoutMs: number },
  ): { request: PendingRequest; promise: Promise<unknown> }
  dispatch(envelope: Envelope): void
  /**
   * The connection dropped. Requests already sent cannot be known to have arrived:
   * idempotent ones come back as queue entries to send again, the others reject.
   * Requests still queued are untouched: they go out on the next connection.
   */
  connectionLost(now: number): QueueEntry[]
  rejectAll(error: SocketError): void
}

// Closures over locals instead of methods over private fields: a fraction of the size
// once minified.
export function createDispatcher({
  clock,
  report,
  unhandled,
  alive,
  validators,
}: DispatchHooks): Dispatcher {
  // Copy-on-write lists, replaced on every on/off: a dispatch iterates the list it started
  // with (a handler added or removed meanwhile does not change it) without copying per message.
  const handlers = new Map<string, readonly MessageHandler[]>()
  const pending = new Map<string, PendingRequest>()

  /** Runs `ok` with the validated data (at once when there is no schema), or fails. */
  const validate = (
    schema: StandardSchemaV1 | undefined,
    { type, data }: Envelope,
    ok: Outcome,
    fail: (error: SocketError) => void,
  ): void => {
    const failed = (why: string, options?: SocketErrorOptions) =>
      fail(new SocketError('VALIDATION_FAILED', `"${type}" ${why}`, options))
    // Once: a thenable may call back more than once, and handlers must run at most once.
    let settled = false
    const threw = (cause: unknown) => {
      if (settled) return
      settled = true
      failed('validator threw', { cause })
    }
    // Whatever a validator hands back, sync or async: a result that is neither a success
    // nor issues fails validation instead of throwing out of a promise callback, where it
    // would become an unhandled rejection and the message would vanish without a report.
    const finish = (result: unknown) => {
      if (settled) return
      settled = true
      try {
        const { issues, value } = (result ?? {}) as {
          issues?: StandardSchemaV1.FailureResult['issues']
          value?: unknown
        }
        if (issues)
          failed(`failed validation: ${issues[0]?.message ?? 'invalid'}`, {
            details: { type, issues },
          })
        else if (typeof result === 'object' && result !== null && 'value' in result) ok(value)
        else failed('validator returned no Standard Schema result ({ value } or { issues })')
      } catch (cause) {
        failed('validator threw', { cause })
      }
    }
    if (!schema) ok(data)
    else
      try {
        const result = schema['~standard'].validate(data)
        // Any thenable, not only this realm's Promise.
        const then = (result as { then?: unknown } | null)?.then
        typeof then === 'function' ? then.call(result, finish, threw) : finish(result)
      } catch (error) {
        threw(error)
      }
  }

  const run = (list: readonly MessageHandler[], data: unknown, envelope: Envelope): void => {
    for (const handler of list) {
      try {
        handler(data, envelope)
      } catch (cause) {
        report(handlerFailed(`a handler for "${envelope.type}"`, cause))
      }
    }
  }

  return {
    get pendingCount() {
      return pending.size
    },

    on(type, handler) {
      const list = handlers.get(type) ?? []
      // Registering the same handler twice keeps one registration, as with a Set.
      if (!list.includes(handler)) handlers.set(type, [...list, handler])
      return () => {
        const rest = handlers.get(type)?.filter((h) => h !== handler)
        if (rest?.length) handlers.set(type, rest)
        else handlers.delete(type)
      }
    },

    track(id, type, frame, { timeoutMs, signal, idempotent }) {
      let request!: PendingRequest
      const promise = new Promise((resolve, reject) => {
        // Releases the queue entry, timer, abort listener and map slot, then settles.
        const end = (settle: Outcome, value: unknown) => {
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
      const timer = new TimerSlot(clock)
      timer.set(
        () => failWith('REQUEST_TIMEOUT', `got no response within ${timeoutMs} ms`),
        timeoutMs,
      )
      signal?.addEventListener('abort', abort)
      // Already aborted: settled at once, everything just set up released again.
      if (signal?.aborted) abort()
      return { request, promise }
    },

    dispatch(envelope) {
      const { type, re, error } = envelope
      if (re === undefined) {
        const list = handlers.get(type)
        const schema = own(validators.incoming, type)
        if (!list) unhandled(envelope)
        else if (!schema) run(list, envelope.data, envelope)
        else validate(schema, envelope, (data) => alive() && run(list, data, envelope), report)
        return
      }
      const request = pending.get(re)
      // A response after a timeout or abort: the caller has already been told.
      if (!request) return
      if (error) request.fail(new RemoteError(error.code, error.message, { type: request.type }))
      else
        validate(own(validators.responses, request.type), envelope, request.succeed, request.fail)
    },

    connectionLost: (now) => [...pending.values()].flatMap((r) => (r.sent ? r.lost(now) : [])),

    // Map iteration tolerates the deletions that fail() makes.
    rejectAll(error) {
      pending.forEach((request) => {
        request.fail(error)
      })
    },
  }
}

/**
 * The schema of a type, from the map's own keys only: a type named `toString` or
 * `constructor` must not find `Object.prototype`'s function and mistake it for a schema.
 */
function own(
  map: Record<string, StandardSchemaV1 | undefined> | undefined,
  type: string,
): StandardSchemaV1 | undefined {
  return map && Object.hasOwn(map, type) ? map[type] : undefined
}
