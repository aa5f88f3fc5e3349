import { describeValue, invalidOption, SocketError } from './errors.ts'
import { frameBytes, isFrame, isProtocolType } from './wire.ts'

/** RFC 7230 `token`: what a Sec-WebSocket-Protocol entry (and so the auth param) may be. */
export const PROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

// Number options for which 0 makes sense (no minimum uptime, queue behind any buffered byte,
// keep queued messages forever); every other number must be at least 1.
const ZERO_ALLOWED = ['minUptimeMs', 'highWaterMarkBytes', 'ttlMs']

/**
 * Checks each option of `values` that has a number default in `defaults`. `Infinity` means
 * what it says ("no limit", "no timeout"), unless `finite` is given: then it is refused,
 * and `finite` tells the user what to do instead.
 */
export function checkNumbers(
  prefix: string,
  values: object,
  defaults: object,
  finite?: string,
): void {
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = (values as Record<string, unknown>)[key]
    const min = ZERO_ALLOWED.includes(key) ? 0 : 1
    if (
      typeof fallback === 'number' &&
      (typeof value !== 'number' || !(value >= min) || (finite && value === Infinity))
    ) {
      throw invalidOption(
        `${prefix}${key} must be a ${finite ? 'finite ' : ''}number >= ${min} (got ${String(value)})${finite ? `; ${finite}` : ''}`,
      )
    }
  }
}

export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    throw invalidOption(`${name} must be a function`)
}

/** An application message type: a non-empty string, not one of the protocol's `$` names. */
export function checkType(type: unknown): void {
  if (typeof type !== 'string' || type === '' || isProtocolType(type)) {
    throw new SocketError(
      'INVALID_OPTIONS',
      `message type must be a non-empty string not starting with "$" (got ${describeValue(type)})`,
    )
  }
}

/** The arguments of `close()`: what a WebSocket may send in a close frame (RFC 6455 §7.4). */
export function checkClose(code: unknown, reason: unknown): void {
  if (
    !Number.isInteger(code) ||
    (code !== 1000 && !((code as number) >= 3000 && (code as number) <= 4999))
  ) {
    throw new SocketError(
      'INVALID_OPTIONS',
      `close: code must be 1000 or 3000-4999 (got ${describeValue(code)})`,
    )
  }
  if (typeof reason !== 'string' || frameBytes(reason) > 123) {
    throw new SocketError('INVALID_OPTIONS', 'close: reason must be at most 123 bytes of UTF-8')
  }
}

/** What `adoptQueued()` takes: the array `takeQueued()` returned, each message's data a frame. */
export function checkAdoptable(messages: unknown): void {
  const bad = Array.isArray(messages)
    ? messages.findIndex((message) => !isFrame(message?.data))
    : -2
  if (bad !== -1) {
    const got = bad === -2 ? messages : (messages as { data?: unknown }[])[bad]?.data
    throw new SocketError(
      'INVALID_OPTIONS',
      `adoptQueued: pass the array takeQueued() returned; each message's data must be a frame (got ${describeValue(got)})`,
    )
  }
}
