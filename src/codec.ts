import { SocketError } from './errors.ts'
import {
  type Envelope,
  type ErrorPayload,
  type Frame,
  isFrame,
  isProtocolType,
  type MessageData,
} from './wire.ts'

/**
 * Turns envelopes into frames and back, so a server with its own format can be spoken to.
 * `decode` returns `undefined` for a frame that is not an envelope (it is then delivered
 * raw to `message` listeners), and throws for a malformed one (reported as `DECODE_FAILED`).
 * What it returns is checked as the default codec checks its own envelopes (PROTOCOL.md §1),
 * except for the prototype-key guard: a decode that builds objects from untrusted input
 * should refuse `__proto__`, `constructor` and `prototype` keys itself.
 */
export interface Codec {
  encode(envelope: Envelope): Frame
  decode(data: MessageData): Envelope | undefined
}

/** Keys that could reach an object's prototype if a payload were later merged into one. */
const FORBIDDEN = ['__proto__', 'constructor', 'prototype']

// A cheap scan for frames that may hold a forbidden key: one spelled out, between quotes,
// then a colon; or any `\u` escape of `_` or a letter (`\u005f`…`\u007a`), through which
// JSON text can spell one too. It matches more than it must (the tail of a longer key like
// `"a\"constructor":`, an escape anywhere), so a match leads to a walk of the parsed tree,
// not to a refusal; escapes of other characters (`caf\u00e9`) cost nothing.
const RISKY = /"(?:__proto__|constructor|prototype)"\s*:|\\u00[5-7]/

/** The first forbidden own key anywhere in a parsed tree. A loop, so depth cannot overflow the stack. */
function forbiddenKey(root: unknown): string | undefined {
  const stack = [root]
  while (stack.length) {
    const node = stack.pop() as Record<string, unknown>
    if (!Array.isArray(node)) {
      for (const key of FORBIDDEN) if (Object.hasOwn(node, key)) return key
    }
    for (const value of Object.values(node)) {
      if (typeof value === 'object' && value !== null) stack.push(value)
    }
  }
  return undefined
}

function decodeFailed(message: string): never {
  throw new SocketError('DECODE_FAILED', message)
}

const USE_RAW = 'for a server that does not speak the envelope, use codec: rawCodec'

/** `JSON.parse`, and the prototype-key guard over the text; throws `DECODE_FAILED`. */
function parse(text: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new SocketError('DECODE_FAILED', `frame is not JSON; ${USE_RAW}`, { cause })
  }
  return guard(text, value)
}

/**
 * Refuses a parsed value with a forbidden key. JSON.parse defines `__proto__` as an own key,
 * so nothing is polluted yet: refusing the frame keeps such a key from ever reaching code
 * that might merge it into an object.
 */
function guard(text: string, value: unknown): unknown {
  const key = RISKY.test(text) ? forbiddenKey(value) : undefined
  if (key !== undefined) decodeFailed(`malformed envelope: forbidden key "${key}"`)
  return value
}

/**
 * Checks that a decoded value is an envelope (PROTOCOL.md §1) and returns it, or throws
 * `DECODE_FAILED` saying what is wrong. Fields given as `null` count as absent (pydantic and
 * others write unset optional fields that way); `data: null` stays `null`. A response (a
 * string `re`) without a `type` gets `type: ''`. The value is copied when a field has to be
 * changed, never modified.
 *
 * @param notEnvelope the message for a value that is not an envelope at all
 */
export function checkEnvelope(
  value: unknown,
  notEnvelope = 'codec.decode must return an envelope ({ type: string, … }) or undefined',
): Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    decodeFailed(notEnvelope)
  }
  let e = value as Record<string, unknown>
  for (const key of ['type', 'id', 're', 'error']) {
    if (e[key] === null) {
      if (e === value) e = { ...e }
      delete e[key]
    }
  }
  if (e.type === undefined && typeof e.re === 'string') e = { ...e, type: '' }
  if (typeof e.type !== 'string' || (e.type === '' && e.re === undefined)) {
    decodeFailed(notEnvelope)
  }
  for (const key of ['id', 're']) {
    if (e[key] !== undefined && typeof e[key] !== 'string') {
      decodeFailed(`malformed envelope: "${key}" must be a string`)
    }
  }
  const error = e.error as Partial<ErrorPayload> | undefined
  if (
    error !== undefined &&
    (typeof error?.code !== 'string' || typeof error.message !== 'string')
  ) {
    decodeFailed('malformed envelope: "error" needs string "code" and "message"')
  }
  return e as unknown as Envelope
}

/**
 * The default codec: one JSON object per text frame (PROTOCOL.md §1). Binary frames are not
 * envelopes and pass through untouched. Keys that could reach an object's prototype
 * (`__proto__`, `constructor`, `prototype`) are refused anywhere in the tree, so that no
 * later merge of a payload into an object can pollute it. A text frame that is not an
 * envelope is refused with `DECODE_FAILED`; for a server that sends other text, use
 * {@link rawCodec}.
 */
export const jsonCodec: Codec = {
  encode: JSON.stringify,
  decode: (data) =>
    typeof data === 'string'
      ? checkEnvelope(parse(data), `frame is not a JSON envelope (no "type"); ${USE_RAW}`)
      : undefined,
}

// Cheap tests first, so that the frames of a plain server are not parsed twice.
const OBJECT_START = /^\s*\{/
// A `$` spelled out or as `\u0024`: a protocol envelope has one, however its key is written.
const MAYBE_PROTOCOL = /\$|\\u0024/i

/**
 * The protocol envelope (a JSON object whose `type` starts with `$`, such as `$pong`, or
 * the server's echo of the client's own `$ping`) in a frame, or `undefined` when the frame
 * is anything else. For the socket, to keep protocol frames away from application code
 * whatever the codec. Throws `DECODE_FAILED` only for a protocol envelope that breaks the
 * rules of PROTOCOL.md §1 (it is reported, and delivered nowhere).
 */
export function protocolEnvelope(data: MessageData): Envelope | undefined {
  if (typeof data !== 'string' || !OBJECT_START.test(data) || !MAYBE_PROTOCOL.test(data)) {
    return undefined
  }
  let value: { type?: unknown } | null
  try {
    value = JSON.parse(data)
  } catch {
    return undefined
  }
  const type = value?.type
  if (typeof type !== 'string' || !isProtocolType(type)) return undefined
  return checkEnvelope(guard(data, value))
}

/** `ArrayBuffer`, typed arrays, `DataView` and `Blob`: what a WebSocket sends as binary. */
function isBinary(data: unknown): data is Frame {
  return typeof data !== 'string' && isFrame(data)
}

/**
 * A codec for a server that does not speak the envelope: it sends and receives plain text
 * or binary frames, and every frame it sends reaches `message` listeners as is
 * (`envelope: undefined`); `onMessage()` handlers and `unhandled` never see them.
 *
 * - `send(type, data)` sends `data` itself: a string as a text frame, an `ArrayBuffer`, typed
 *   array or `Blob` as a binary frame, anything else as `JSON.stringify(data)`. The type
 *   only names the message for the schema and the `drop` event; the server never sees it.
 *   `send(type)` with no data throws `ENCODE_FAILED`: there is nothing to send.
 * - `request()` rejects with `ENCODE_FAILED`: a server without the envelope has no way to
 *   say which request it answers.
 * - The socket's own frames (`$ping` with `heartbeat: true`, `$auth` with `message`
 *   placement) still go out as JSON envelopes, and inbound JSON envelopes with a `$` type
 *   (a `$pong`, or an echo server returning the client's `$ping`) are recognised and kept
 *   away from application code. Against a server that answers neither, leave the heartbeat
 *   off, or give it a `ping` and `isPong` the server understands.
 */
export const rawCodec: Codec = {
  encode(envelope) {
    const { type, id, data } = envelope
    if (isProtocolType(type)) return JSON.stringify(envelope)
    if (id !== undefined) {
      throw new SocketError(
        'ENCODE_FAILED',
        'rawCodec cannot send requests: a server without the envelope cannot answer them',
      )
    }
    if (typeof data === 'string' || isBinary(data)) return data
    const text = JSON.stringify(data)
    if (text === undefined) {
      throw new SocketError('ENCODE_FAILED', `rawCodec: send("${type}") has no data to send`)
    }
    return text
  },
  decode: protocolEnvelope,
}
