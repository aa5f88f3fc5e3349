import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { RequestOptions } from './dispatch.ts'

/**
 * Describes the messages of an application, from the client's point of view:
 *
 * ```ts
 * interface ChatSchema {
 *   incoming: { chat: { from: string; text: string }; presence: { online: string[] } }
 *   outgoing: { chat: { text: string }; typing: undefined }
 *   requests: { history: { request: { room: string }; response: { text: string }[] } }
 * }
 * const socket = new ReconnectingSocket<ChatSchema>(url)
 * ```
 *
 * `incoming` is what the server sends, `outgoing` what the client sends with `send()`,
 * `requests` the request → response pairs of `request()`. A missing map allows nothing.
 */
export interface SocketSchema {
  incoming?: Record<string, unknown>
  outgoing?: Record<string, unknown>
  requests?: Record<string, { request: unknown; response: unknown }>
}

/** The schema of a socket created without one: any type name, `unknown` data. */
export interface UntypedSchema {
  incoming: Record<string, unknown>
  outgoing: Record<string, unknown>
  requests: Record<string, { request: unknown; response: unknown }>
}

// biome-ignore lint/complexity/noBannedTypes: `{}` is exactly "no message types".
type Empty = {}

export type IncomingOf<S extends SocketSchema> =
  S['incoming'] extends Record<string, unknown> ? S['incoming'] : Empty
export type OutgoingOf<S extends SocketSchema> =
  S['outgoing'] extends Record<string, unknown> ? S['outgoing'] : Empty
export type RequestsOf<S extends SocketSchema> =
  S['requests'] extends Record<string, { request: unknown; response: unknown }>
    ? S['requests']
    : Empty

export type IncomingType<S extends SocketSchema> = keyof IncomingOf<S> & string
export type OutgoingType<S extends SocketSchema> = keyof OutgoingOf<S> & string
export type RequestType<S extends SocketSchema> = keyof RequestsOf<S> & string

export type RequestData<
  S extends SocketSchema,
  K extends RequestType<S>,
> = RequestsOf<S>[K] extends {
  request: infer R
}
  ? R
  : never
export type ResponseData<
  S extends SocketSchema,
  K extends RequestType<S>,
> = RequestsOf<S>[K] extends {
  response: infer R
}
  ? R
  : never

/** Data that may be `undefined` may be left out. */
export type DataArgs<T> = undefined extends T ? [data?: T] : [data: T]

/** The arguments of `request()` after the type: the data, then the options. */
export type RequestArgs<T> = undefined extends T
  ? [data?: T, options?: RequestOptions]
  : [data: T, options?: RequestOptions]

/**
 * Runtime validators per message type, any Standard Schema implementation (zod, valibot,
 * arktype…). Data that fails validation never reaches a handler or a request's caller.
 */
export interface SchemaValidators<S extends SocketSchema> {
  incoming?: { [K in IncomingType<S>]?: StandardSchemaV1<unknown, IncomingOf<S>[K]> }
  responses?: { [K in RequestType<S>]?: StandardSchemaV1<unknown, ResponseData<S, K>> }
}

export type { StandardSchemaV1 }
