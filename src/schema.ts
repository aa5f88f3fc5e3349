import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { RequestOptions } from './requests.ts'

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
  incoming?: MessageMap<unknown>
  outgoing?: MessageMap<unknown>
  requests?: MessageMap<{ request: unknown; response: unknown }>
}

/** The schema of a socket created without one: any type name not starting with `$`, `unknown` data. */
export interface UntypedSchema {
  incoming: MessageMap<unknown>
  outgoing: MessageMap<unknown>
  requests: MessageMap<{ request: unknown; response: unknown }>
}

/**
 * The message types the protocol keeps for itself (`$ping`, `$pong`, `$auth`, PROTOCOL.md
 * §4). `send()` and `request()` refuse them with `INVALID_OPTIONS`, and an inbound one never
 * reaches `onMessage()`, so a schema may not declare one.
 */
export type ProtocolType = `$${string}`

declare const reserved: unique symbol

/** What the data of a `$` type would have to be: a brand no schema can write. */
interface Reserved {
  readonly [reserved]: 'message types starting with "$" belong to the protocol'
}

/**
 * Message type → data. The second index signature makes a `$` key a compile error in a
 * schema. (Not `never`: a typed socket must stay assignable to an untyped one, and `never`
 * as the untyped data of a `$` type would break that.)
 */
export type MessageMap<T> = { [type: string]: T; [type: ProtocolType]: T & Reserved }

/**
 * The type of the `type` argument of `onMessage()`, `send()` and `request()`, where
 * `Declared` is the schema's type names for that direction. A schema that lists its names
 * cannot list a `$` one ({@link MessageMap}), so there it is `K` itself, and generic code
 * over a typed socket can pass its own `K` through. An untyped socket accepts any `string`,
 * and no type says "a string not starting with `$`": there a `$` literal becomes a sentence
 * that the compile error quotes, while a value typed just `string` is checked at run time.
 */
export type AppMessageType<
  K extends string,
  Declared extends string = string,
> = string extends Declared ? (K extends ProtocolType ? ReservedTypeError : K) : K

type ReservedTypeError = 'message types starting with "$" belong to the protocol (PROTOCOL.md §4)'

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

/**
 * Data that may be `undefined` may be left out. So may the data of a `$` type on an untyped
 * socket, so that the compile error is about the type name, not about a missing argument.
 */
export type DataArgs<T> = undefined extends T
  ? [data?: T]
  : [T] extends [never]
    ? [data: T]
    : [T] extends [Reserved]
      ? [data?: unknown]
      : [data: T]

/** The arguments of `request()` after the type: the data, then the options. */
export type RequestArgs<T> = undefined extends T
  ? [data?: T, options?: RequestOptions]
  : [data: T, options?: RequestOptions]

/**
 * Runtime validators per message type, any Standard Schema implementation (zod, valibot,
 * arktype…). Data that fails validation never reaches a handler or a request's caller.
 */
export interface SchemaValidators<S extends SocketSchema> {
  incoming?: { [K in IncomingType<S>]?: StandardSchemaV1<unknown, IncomingOf<S>[K]> } & NoProtocol
  responses?: { [K in RequestType<S>]?: StandardSchemaV1<unknown, ResponseData<S, K>> } & NoProtocol
}

/** A validator for a `$` type would never run: the protocol's frames bypass validation. */
type NoProtocol = { [K in ProtocolType]?: never }

export type { StandardSchemaV1 }

type Digit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9'
type ToNumber<T> = T extends `${infer N extends number}` ? N : never

/**
 * A code `close()` accepts: 1000 (normal closure) or an application code, 3000–4999. The
 * others are the protocol's own (RFC 6455 §7.4), and browsers throw for them. Spelled as
 * digits so that the declaration stays one line while the type is the 2,001 literals.
 */
export type CloseCode = 1000 | ToNumber<`${3 | 4}${Digit}${Digit}${Digit}`>

/**
 * The type of `close()`'s `code`: a literal is checked at compile time (`close(1005)` is an
 * error that names `CloseCode`), while a value typed just `number` passes, to be checked at
 * run time (`INVALID_OPTIONS`), so that a code held in a variable needs no cast.
 */
export type ValidCloseCode<C extends number> = number extends C
  ? C
  : C extends CloseCode
    ? C
    : CloseCode
