/**
 * The words of the protocol, shared by the client and anything that speaks to it: frames,
 * the envelope, sizes and the reserved `$` names (PROTOCOL.md). A leaf: it imports nothing.
 */

/**
 * Anything `WebSocket#send` accepts in every runtime. Not a `SharedArrayBuffer`, nor a view
 * of one: browsers throw for those. A `Uint8Array` typed without its buffer (TypeScript's
 * default is `Uint8Array<ArrayBufferLike>`, which may be shared) needs `Uint8Array<ArrayBuffer>`.
 */
export type Frame = string | ArrayBuffer | ArrayBufferView<ArrayBuffer> | Blob

/** What a server sent in an error response. */
export interface ErrorPayload {
  code: string
  message: string
}

/**
 * One message of the default wire format (PROTOCOL.md): an event has `type` and `data`;
 * a request adds `id`; a response carries `re` (the request's id) and `data` or `error`.
 * Types starting with `$` belong to the protocol itself. A response that came without a
 * `type` has `type: ''` (its request's type is known from `re`).
 */
export interface Envelope {
  type: string
  id?: string
  re?: string
  data?: unknown
  error?: ErrorPayload
  /** The reliable mode's sequence number of an application frame (PROTOCOL.md §10.2). */
  seq?: number
  /** The reliable mode's cumulative acknowledgement: every frame up to this seq is processed. */
  ack?: number
}

/** What a native `message` event can carry. */
export type MessageData = string | ArrayBuffer | Blob

/** Types starting with `$` belong to the protocol itself (PROTOCOL.md §4). */
export function isProtocolType(type: string): boolean {
  return type.charCodeAt(0) === 36
}

// Brand checks: these getters throw for anything that is not really such an object (a
// lookalike with a forged `Symbol.toStringTag`, a SharedArrayBuffer), in any realm.
const arrayBufferBytes = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')
  ?.get as (this: unknown) => number
const blobSize =
  typeof Blob === 'function'
    ? (Object.getOwnPropertyDescriptor(Blob.prototype, 'size')?.get as (this: unknown) => number)
    : undefined

function passes(check: ((this: unknown) => number) | undefined, value: unknown): boolean {
  try {
    return check !== undefined && check.call(value) >= 0
  } catch {
    return false
  }
}

/**
 * Whether a value is a `Frame`: text, an `ArrayBuffer`, a view of one, or a `Blob`. Brand
 * checks, not `instanceof`: they also know objects from another realm (an iframe, jsdom),
 * and no lookalike passes them.
 */
export function isFrame(value: unknown): value is Frame {
  if (typeof value === 'string') return true
  if (ArrayBuffer.isView(value)) return passes(arrayBufferBytes, value.buffer)
  return passes(arrayBufferBytes, value) || passes(blobSize, value)
}

const NON_ASCII = /[^\0-\x7f]/

/** UTF-8 bytes for text (counted without allocating an encoded copy), byte length for binary. */
export function frameBytes(frame: Frame): number {
  // Only a Blob has no `byteLength`.
  if (typeof frame !== 'string')
    return (frame as ArrayBufferView).byteLength ?? (frame as Blob).size
  let bytes = frame.length
  // The regex engine finds the first non-ASCII character many times faster than a loop of
  // charCodeAt, and most frames have none: then the length is the byte count.
  const first = frame.search(NON_ASCII)
  if (first < 0) return bytes
  for (let i = first; i < frame.length; i++) {
    const c = frame.charCodeAt(i)
    if (c > 0x7f) {
      bytes += c < 0x800 ? 1 : 2
      // A high surrogate (0xD800-0xDBFF) then a low one (0xDC00-0xDFFF) is a pair: 2 UTF-16
      // units, 4 UTF-8 bytes. A lone surrogate goes out as U+FFFD, 3 bytes like any other.
      if (c >> 10 === 0x36 && frame.charCodeAt(i + 1) >> 10 === 0x37) i++
    }
  }
  return bytes
}
