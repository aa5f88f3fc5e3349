/** One decoded inbound text frame. `data` is whatever JSON the client sent. */
export interface InboundEnvelope {
  type: string
  id?: string
  data?: unknown
}

export interface ErrorBody {
  code: string
  message: string
}

/** What the server writes; `undefined` fields vanish in JSON.stringify. */
export interface OutboundEnvelope {
  type: string
  id?: string
  re?: string
  data?: unknown
  error?: ErrorBody
}

/**
 * JSON.parse already defines `__proto__` as an own property instead of calling the
 * setter, but any later spread or merge of client data would hit the setter; dropping
 * the key here means nothing downstream has to remember that.
 */
function withoutProtoKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value
}

/** The envelope, or null for anything that is not a JSON object with a string `type`. */
export function decodeEnvelope(text: string): InboundEnvelope | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(text, withoutProtoKeys)
  } catch {
    return null
  }
  if (!isRecord(parsed)) return null
  const { type, id, data } = parsed
  if (typeof type !== 'string' || type === '') return null
  if (id !== undefined && (typeof id !== 'string' || id === '')) return null
  const envelope: InboundEnvelope = { type }
  if (id !== undefined) envelope.id = id
  if ('data' in parsed) envelope.data = data
  return envelope
}

export function encodeEnvelope(envelope: OutboundEnvelope): string {
  return JSON.stringify(envelope)
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
