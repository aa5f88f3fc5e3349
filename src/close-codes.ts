/** What the socket knows about how a connection ended. */
export interface CloseInfo {
  /** The WebSocket close code (1006 when the connection failed or was cut without one). */
  code: number
  reason: string
  wasClean: boolean
}

/**
 * - `reconnect`: back off and try again.
 * - `refresh-auth`: get a fresh token (`forceRefresh: true`), then try again; twice in a
 *   row ends in `UNAUTHORIZED`.
 * - `stop`: the server does not want us back; end in `closed`.
 */
export type CloseAction = 'reconnect' | 'refresh-auth' | 'stop'

export interface CloseVerdict {
  action: CloseAction
  /** A floor for the next retry delay, in milliseconds. */
  minDelayMs?: number
}

/** The close code the library uses when the heartbeat declares a connection dead. */
export const HEARTBEAT_TIMEOUT_CODE = 4000

// The one table that decides what a close code means. Codes not listed: 3xxx and 4xxx
// are application codes (reconnect unless listed), anything else reconnects.
const TABLE: Readonly<Record<number, CloseAction>> = {
  1000: 'stop', // normal closure, initiated by the server
  1002: 'stop', // protocol error: retrying sends the same bytes again
  1003: 'stop', // unsupported data
  1007: 'stop', // invalid frame payload data
  1009: 'stop', // message too big
  1010: 'stop', // mandatory extension missing
  1015: 'stop', // TLS handshake failure: a certificate problem does not fix itself
  3000: 'refresh-auth', // IANA registry: Unauthorized
  3003: 'refresh-auth', // IANA registry: Forbidden
  4001: 'refresh-auth',
  4003: 'refresh-auth',
  4401: 'refresh-auth',
  4403: 'refresh-auth',
}

/** 1013 "try again later": the server is overloaded, so never come back sooner than this. */
const TRY_AGAIN_LATER_MIN_DELAY_MS = 5000

/**
 * Classifies a close. `authConfigured` matters for 1008 (policy violation), which
 * servers commonly use for a rejected credential: with auth it refreshes the token,
 * without it there is nothing to change, so it stops. An auth code without auth
 * configured also stops: a retry would be rejected the same way.
 */
export function classifyClose(code: number, authConfigured: boolean): CloseVerdict {
  if (code === 1013) return { action: 'reconnect', minDelayMs: TRY_AGAIN_LATER_MIN_DELAY_MS }
  const action = code === 1008 ? 'refresh-auth' : (TABLE[code] ?? 'reconnect')
  if (action === 'refresh-auth' && !authConfigured) return { action: 'stop' }
  return { action }
}

/**
 * A `retry-after=<seconds>` hint in the close reason (also `retry-after: 30`), which a
 * server sends to spread reconnects after a deploy. Returns milliseconds, or 0.
 */
export function retryAfterHintMs(reason: string): number {
  const match = /retry-after\s*[=:]\s*(\d+(?:\.\d+)?)/i.exec(reason)
  return match ? Math.min(Number(match[1]) * 1000, 3_600_000) : 0
}
