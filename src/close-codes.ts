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

// The tables that decide what a close code means. Codes not listed: 3xxx and 4xxx are
// application codes (reconnect unless listed), anything else reconnects.
const STOP_CODES = [
  1000, // normal closure, initiated by the server
  1002, // protocol error: retrying sends the same bytes again
  1003, // unsupported data
  1007, // invalid frame payload data
  1009, // message too big
  1010, // mandatory extension missing
  1015, // TLS handshake failure: a certificate problem does not fix itself
]

/** Codes that mean "your credentials were refused": refresh the token, or stop without auth. */
export const AUTH_CODES = [
  3000, // IANA registry: Unauthorized
  3003, // IANA registry: Forbidden
  4001,
  4003,
  4401,
  4403,
]

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
  if (code === 1008 || AUTH_CODES.includes(code)) {
    return { action: authConfigured ? 'refresh-auth' : 'stop' }
  }
  return { action: STOP_CODES.includes(code) ? 'stop' : 'reconnect' }
}

/**
 * A `retry-after=<seconds>` hint in the close reason (also `retry-after: 30`), which a
 * server sends to spread reconnects after a deploy. Returns milliseconds, or 0.
 */
export function retryAfterHintMs(reason: string): number {
  const match = /retry-after\s*[=:]\s*(\d+(?:\.\d+)?)/i.exec(reason)
  // Capped at an hour so a misconfigured server cannot park clients for days.
  return match ? Math.min(Number(match[1]) * 1000, 3_600_000) : 0
}
