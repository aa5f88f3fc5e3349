import type { StandardSchemaV1 } from '@standard-schema/spec'
import { handlerFailed, SocketError } from './errors.ts'
import type { Envelope } from './wire.ts'

export type MessageHandler = (data: unknown, envelope: Envelope) => void

export type Schemas = Record<string, StandardSchemaV1 | undefined> | undefined
type SocketErrorOptions = ConstructorParameters<typeof SocketError>[2]

export interface HandlerHooks {
  /** Reports a failure (throwing handler, failed validation) without stopping dispatch. */
  report(error: SocketError): void
  /** An event nobody listens to. */
  unhandled(envelope: Envelope): void
  /** Whether the socket is still in use; an async validator may settle after close(). */
  alive(): boolean
  /** Standard Schema validators of inbound events, by type. */
  validators: Schemas
}

/** Routes decoded events (envelopes without `re`) to the typed handlers of `onMessage()`. */
export interface Handlers {
  on(type: string, handler: MessageHandler): () => void
  dispatch(envelope: Envelope): void
}

// Closures over locals instead of methods over private fields: a fraction of the size
// once minified, and only sockets with handlers create one.
export function createHandlers({ report, unhandled, alive, validators }: HandlerHooks): Handlers {
  // Copy-on-write lists, replaced on every on/off: a dispatch iterates the list it started
  // with (a handler added or removed meanwhile does not change it) without copying per message.
  const handlers = new Map<string, readonly MessageHandler[]>()

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

    dispatch(envelope) {
      const list = handlers.get(envelope.type)
      const schema = schemaOf(validators, envelope.type)
      if (!list) unhandled(envelope)
      else if (!schema) run(list, envelope.data, envelope)
      else validate(schema, envelope, (data) => alive() && run(list, data, envelope), report)
    },
  }
}

/**
 * Runs `ok` with the validated data (at once when there is no schema), or `fail` with
 * `VALIDATION_FAILED`: exactly one of them, once.
 */
export function validate(
  schema: StandardSchemaV1 | undefined,
  { type, data }: Envelope,
  ok: (value: unknown) => void,
  fail: (error: SocketError) => void,
): void {
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

/**
 * The schema of a type, from the map's own keys only: a type named `toString` or
 * `constructor` must not find `Object.prototype`'s function and mistake it for a schema.
 */
export function schemaOf(map: Schemas, type: string): StandardSchemaV1 | undefined {
  return map && Object.hasOwn(map, type) ? map[type] : undefined
}
