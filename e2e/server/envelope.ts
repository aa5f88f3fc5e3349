import { jsonCodec } from '../../src/codec.ts'
import type { Envelope } from '../../src/wire.ts'

/**
 * One decoded inbound text frame. The server decodes with the client's own codec, so both
 * sides hold a frame to the same rules (PROTOCOL.md §1): one decoder, one set of rules.
 */
export type InboundEnvelope = Envelope

export type ErrorBody = NonNullable<Envelope['error']>

/** What the server writes; `undefined` fields vanish in JSON.stringify. */
export type OutboundEnvelope = Envelope

/**
 * The envelope, or null for a frame the protocol refuses: not a JSON object, no string
 * `type` (a client sends no bare responses), a key that could reach a prototype (refused
 * here as the client refuses it, rather than silently dropped), and so on.
 */
export function decodeEnvelope(text: string): InboundEnvelope | null {
  try {
    const envelope = jsonCodec.decode(text)
    return envelope && envelope.type !== '' ? envelope : null
  } catch {
    return null
  }
}

export function encodeEnvelope(envelope: OutboundEnvelope): string {
  return JSON.stringify(envelope)
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
