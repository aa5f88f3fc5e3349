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

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
/** One pass over the frame: could a forbidden key be in it (spelled out, or with `\u`)? */
const RISKY = /__proto__|constructor|prototype|\\u/

function rejectForbiddenKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new SocketError('DECODE_FAILED', `forbidden key "${key}"`)
  return value
}

/** Checks the envelope shape; throws `DECODE_FAILED` saying what is wrong. */
export function checkEnvelope(value: unknown): Envelope {
  const fail = (why: string): never => {
    throw new SocketError('DECODE_FAILED', `malformed envelope: ${why}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not an object')
  const e = value as Record<string, unknown>
  if (typeof e.type !== 'string' || e.type === '') fail('"type" must be a non-empty string')
  if (e.id !== undefined && typeof e.id !== 'string') fail('"id" must be a string')
  if (e.re !== undefined && typeof e.re !== 'string') fail('"re" must be a string')
  if (e.error !== undefined) {
    const error = e.error as Record<string, unknown> | null
    if (typeof error !== 'object' || error === null) fail('"error" must be an object')
    else if (typeof error.code !== 'string' || typeof error.message !== 'string') {
      fail('"error" needs string "code" and "message"')
    }
  }
  return e as unknown as Envelope
}

/**
 * The default codec: one JSON object per text frame. Binary frames are not envelopes and
 * pass through untouched. Keys that could reach an object's prototype (`__proto__`,
 * `constructor`, `prototype`) are refused anywhere in the tree, so that no later merge of
 * a payload into an object can pollute it.
 */
export const jsonCodec: Codec = {
  encode: (envelope) => JSON.stringify(envelope),
  decode(data) {
    if (typeof data !== 'string') return undefined
    // The reviver costs a call per key, so it runs only when a forbidden key could be
    // present. `\u` escapes can spell one out, hence the last test.
    const careful = RISKY.test(data)
    let parsed: unknown
    try {
      parsed = careful ? JSON.parse(data, rejectForbiddenKeys) : JSON.parse(data)
    } catch (error) {
      if (error instanceof SocketError) throw error
      throw new SocketError('DECODE_FAILED', 'frame is not valid JSON', { cause: error })
    }
    return checkEnvelope(parsed)
  },
}
