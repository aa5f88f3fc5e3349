import { SocketError } from './errors.ts'
import type { Frame } from './send-queue.ts'

/** What a server sent in an error response. */
export interface ErrorPayload {
  code: string
  message: string
}

/**
 * One message of the default wire format (PROTOCOL.md): an event has `type` and `data`;
 * a request adds `id`; a response carries `re` (the request's id) and `data` or `error`.
 * Types starting with `$` belong to the protocol itself.
 */
export interface Envelope {
  type: string
  id?: string
  re?: string
  data?: unknown
  error?: ErrorPayload
}

/** What a native `message` event can carry. */
export type MessageData = string | ArrayBuffer | Blob

/**
 * Turns envelopes into frames and back, so a server with its own format can be spoken to.
 * `decode` returns `undefined` for a frame that is not an envelope (it is then delivered
 * raw to `message` listeners), and throws for a malformed one (reported as `DECODE_FAILED`).
 */
export interface Codec {
  encode(envelope: Envelope): Frame
  decode(data: MessageData): Envelope | undefined
}

/** Keys that could reach an object's prototype if a payload were later merged into one. */
const FORBIDDEN = /^(__proto__|constructor|prototype)$/
/** One pass over the frame: could a forbidden key be in it (spelled out, or with `\u`)? */
const RISKY = /__proto__|constructor|prototype|\\u/

function decodeFailed(why: string): never {
  throw new SocketError('DECODE_FAILED', `malformed envelope: ${why}`)
}

/**
 * The default codec: one JSON object per text frame. Binary frames are not envelopes and
 * pass through untouched. Keys that could reach an object's prototype (`__proto__`,
 * `constructor`, `prototype`) are refused anywhere in the tree, so that no later merge of
 * a payload into an object can pollute it.
 */
export const jsonCodec: Codec = {
  encode: JSON.stringify,
  decode(data) {
    if (typeof data !== 'string') return undefined
    let e: Envelope | null
    try {
      // The reviver costs a call per key, so it runs only when a forbidden key could be
      // present. `\u` escapes can spell one out, hence the last alternative of RISKY.
      e = JSON.parse(
        data,
        RISKY.test(data)
          ? (key, value) => (FORBIDDEN.test(key) ? decodeFailed(`forbidden key "${key}"`) : value)
          : undefined,
      )
    } catch (cause) {
      throw cause instanceof SocketError
        ? cause
        : new SocketError('DECODE_FAILED', 'frame is not valid JSON', { cause })
    }
    // The envelope's shape. Anything but an object (array, string, null…) has no string
    // `type` either, so the first check also refuses those.
    if (typeof e?.type !== 'string' || !e.type) {
      decodeFailed('"type" must be a non-empty string')
    }
    for (const key of ['id', 're'] as const) {
      if (e[key] !== undefined && typeof e[key] !== 'string') {
        decodeFailed(`"${key}" must be a string`)
      }
    }
    const error = e.error
    if (
      error !== undefined &&
      (typeof error?.code !== 'string' || typeof error.message !== 'string')
    ) {
      decodeFailed('"error" needs string "code" and "message"')
    }
    return e
  },
}
