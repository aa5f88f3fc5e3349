import type { StandardSchemaV1 } from '@standard-schema/spec'
import { type Clock, TimerSlot } from './clock.ts'
import type { Envelope } from './codec.ts'
import { RemoteError, SocketError } from './errors.ts'
import { type DropReason, type Frame, frameBytes, type OutboxEntry } from './send-queue.ts'

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
class PendingRequest {
  sent = false
  cancelled = false
  unqueue: (() => void) | undefined
  readonly id: string
  readonly type: string
  readonly frame: Frame
  readonly idempotent: boolean
  readonly timer: TimerSlot
  onAbort: (() => void) | undefined
  readonly #resolve: (value: unknown) => void
  readonly #reject: (error: SocketError) => void
  readonly #forget: (request: PendingRequest) => void

  constructor(
    init: { id: string; type: string; frame: Frame; idempotent: boolean; clock: Clock },
    resolve: (value: unknown) => void,
    reject: (error: SocketError) => void,
    forget: (request: PendingRequest) => void,
  ) {
    this.id = init.id
    this.type = init.type
    this.frame = init.frame
    this.idempotent = init.idempotent
    this.timer = new TimerSlot(init.clock)
    this.#resolve = resolve
    this.#reject = reject
    this.#forget = forget
  }

  settle(outcome: 'sent' | 'taken' | DropReason, error?: Error): void {
    if (outcome === 'sent') this.sent = true
    else if (error instanceof SocketError) this.fail(error)
    else
      this.fail(
        new SocketError(
          outcome === 'closed' ? 'CLOSED' : 'DROPPED',
          `request "${this.type}" was not sent (${outcome})`,
          { details: { reason: outcome } },
        ),
      )
  }

  fail(error: SocketError): void {
    if (this.cancelled) return
    this.finish()
    this.#reject(error)
  }

  succeed(value: unknown): void {
    if (this.cancelled) return
    this.finish()
    this.#resolve(value)
  }

  finish(): void {
    this.cancelled = true
    this.unqueue?.()
    this.timer.clear()
    this.onAbort?.()
    this.#forget(this)
  }
}

/**
 * Routes decoded envelopes to typed handlers and correlates responses with requests.
 * It owns the request timers and abort listeners, and releases each one exactly once.
 */
export class Dispatcher {
  #handlers = new Map<string, Set<MessageHandler>>()
  #pending = new Map<string, PendingRequest>()
  #hooks: DispatchHooks

  constructor(hooks: DispatchHooks) {
    this.#hooks = hooks
  }

  get pendingCount(): number {
    return this.#pending.size
  }

  on(type: string, handler: MessageHandler): () => void {
    let set = this.#handlers.get(type)
    if (!set) {
      set = new Set()
      this.#handlers.set(type, set)
    }
    set.add(handler)
    return () => {
      set.delete(handler)
      if (set.size === 0 && this.#handlers.get(type) === set) this.#handlers.delete(type)
    }
  }

  /** Registers a request before it is submitted; its promise settles exactly once. */
  track(
    id: string,
    type: string,
    frame: Frame,
    { timeoutMs, signal, idempotent = false }: RequestOptions & { timeoutMs: number },
  ): { request: PendingRequest; promise: Promise<unknown> } {
    let request!: PendingRequest
    const promise = new Promise<unknown>((resolve, reject) => {
      request = new PendingRequest(
        { id, type, frame, idempotent, clock: this.#hooks.clock },
        resolve,
        reject,
        (r) => {
          if (this.#pending.get(r.id) === r) this.#pending.delete(r.id)
        },
      )
    })
    if (signal?.aborted) {
      request.fail(aborted(type, signal))
      return { request, promise }
    }
    this.#pending.set(id, request)
    request.timer.set(
      () =>
        request.fail(
          new SocketError(
            'REQUEST_TIMEOUT',
            `request "${type}" got no response within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    )
    if (signal) {
      const onAbort = (): void => request.fail(aborted(type, signal))
      signal.addEventListener('abort', onAbort, { once: true })
      request.onAbort = () => signal.removeEventListener('abort', onAbort)
    }
    return { request, promise }
  }

  dispatch(envelope: Envelope): void {
    if (envelope.re !== undefined) this.#respond(envelope)
    else this.#deliver(envelope)
  }

  /**
   * The connection dropped. Requests already sent cannot be known to have arrived:
   * idempotent ones come back as queue entries to send again, the others reject.
   * Requests still queued are untouched: they go out on the next connection.
   */
  connectionLost(now: number): OutboxEntry[] {
    const resend: OutboxEntry[] = []
    for (const request of [...this.#pending.values()]) {
      if (!request.sent) continue
      if (request.idempotent) {
        request.sent = false
        resend.push({
          message: {
            data: request.frame,
            type: request.type,
            bytes: frameBytes(request.frame),
            queuedAt: now,
          },
          owner: request,
        })
      } else {
        request.fail(
          new SocketError(
            'CONNECTION_LOST',
            `the connection dropped before request "${request.type}" was answered`,
          ),
        )
      }
    }
    return resend
  }

  rejectAll(error: SocketError): void {
    for (const request of [...this.#pending.values()]) request.fail(error)
  }

  #respond(envelope: Envelope): void {
    const request = this.#pending.get(envelope.re as string)
    // A response after a timeout or abort: the caller has already been told.
    if (!request) return
    if (envelope.error) {
      request.fail(
        new RemoteError(envelope.error.code, envelope.error.message, { type: request.type }),
      )
      return
    }
    const schema = this.#hooks.validators.responses?.[request.type]
    if (!schema) request.succeed(envelope.data)
    else
      this.#validate(
        schema,
        envelope,
        (value) => request.succeed(value),
        (error) => request.fail(error),
      )
  }

  #deliver(envelope: Envelope): void {
    const handlers = this.#handlers.get(envelope.type)
    if (!handlers) {
      this.#hooks.unhandled(envelope)
      return
    }
    const schema = this.#hooks.validators.incoming?.[envelope.type]
    if (!schema) this.#call(handlers, envelope.data, envelope)
    else
      this.#validate(
        schema,
        envelope,
        (value) => this.#hooks.alive() && this.#call(handlers, value, envelope),
        (error) => this.#hooks.report(error),
      )
  }

  #call(handlers: Set<MessageHandler>, data: unknown, envelope: Envelope): void {
    // A copy when several handlers run, so one that unsubscribes another cannot skip it.
    for (const handler of handlers.size === 1 ? handlers : [...handlers]) {
      try {
        handler(data, envelope)
      } catch (error) {
        this.#hooks.report(
          new SocketError('HANDLER_FAILED', `a handler for "${envelope.type}" threw`, {
            cause: error,
          }),
        )
      }
    }
  }

  #validate(
    schema: StandardSchemaV1,
    envelope: Envelope,
    ok: (value: unknown) => void,
    fail: (error: SocketError) => void,
  ): void {
    const finish = (result: StandardSchemaV1.Result<unknown>): void => {
      if (!result.issues) {
        ok(result.value)
        return
      }
      const first = result.issues[0]
      fail(
        new SocketError(
          'VALIDATION_FAILED',
          `"${envelope.type}" failed validation: ${first?.message ?? 'invalid'}`,
          {
            details: { type: envelope.type, issues: result.issues },
          },
        ),
      )
    }
    try {
      const result = schema['~standard'].validate(envelope.data)
      if (result instanceof Promise) {
        result.then(finish, (error: unknown) =>
          fail(
            new SocketError('VALIDATION_FAILED', `the validator for "${envelope.type}" threw`, {
              cause: error,
            }),
          ),
        )
      } else finish(result)
    } catch (error) {
      fail(
        new SocketError('VALIDATION_FAILED', `the validator for "${envelope.type}" threw`, {
          cause: error,
        }),
      )
    }
  }
}

function aborted(type: string, signal: AbortSignal): SocketError {
  return new SocketError('ABORTED', `request "${type}" was aborted`, { cause: signal.reason })
}
