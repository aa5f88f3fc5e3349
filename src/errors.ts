/**
 * Every failure the library reports carries one of these codes. They are part of the
 * public API: match on `error.code`, never on the message text.
 */
export type SocketErrorCode =
  /** An option or argument is invalid. Thrown synchronously; the message says how to fix it. */
  | 'INVALID_OPTIONS'
  /** No WebSocket constructor is available in this runtime and none was injected. */
  | 'NO_WEBSOCKET'
  /** One connection attempt failed (refused, DNS, TLS, handshake rejected). Transient. */
  | 'CONNECTION_FAILED'
  /** One connection attempt was not open within `connectTimeoutMs`. Transient. */
  | 'CONNECT_TIMEOUT'
  /** The token provider threw or exceeded `auth.timeoutMs`. Transient: the attempt backs off. */
  | 'AUTH_FAILED'
  /** The server refused the credentials twice in a row, or the provider threw `UnauthorizedError`. Final. */
  | 'UNAUTHORIZED'
  /** The retry policy gave up (returned `null`, threw, or `maxAttempts` was reached). Final. */
  | 'RETRIES_EXHAUSTED'
  /** The server closed with a code that means "do not come back" (see PROTOCOL.md). Final. */
  | 'CLOSED_BY_SERVER'
  /**
   * The socket was closed (by `close()`, or by the server with 1000); pending requests and
   * `flush()` reject with this.
   */
  | 'CLOSED'
  /** An inbound frame could not be decoded (not JSON, wrong shape, forbidden keys, too large). */
  | 'DECODE_FAILED'
  /** An outbound message could not be encoded by the codec. */
  | 'ENCODE_FAILED'
  /** A Standard Schema validator rejected an inbound message or response. */
  | 'VALIDATION_FAILED'
  /** A user callback (event listener, message handler, retry policy, codec) threw. */
  | 'HANDLER_FAILED'
  /** A request got no response within its `timeoutMs`. */
  | 'REQUEST_TIMEOUT'
  /** A request was cancelled through its `AbortSignal`. */
  | 'ABORTED'
  /** The connection dropped after a request was sent and the request was not `idempotent`. */
  | 'CONNECTION_LOST'
  /** The server answered a request with an error envelope; see `RemoteError`. */
  | 'REMOTE_ERROR'
  /** The send queue is full and its overflow policy is `'reject'`. */
  | 'QUEUE_FULL'
  /** A queued message (or request) was dropped before it could be sent; `details.reason` says why. */
  | 'DROPPED'
  /**
   * Reliable mode: the server did not continue the session (`sessionlost` says what is in
   * doubt); a request sent in it that was not `idempotent` rejects with this.
   */
  | 'SESSION_LOST'
  /** Reliable mode: the peer broke the sequencing rules (a gap, a bad seq or ack). The socket resumes. */
  | 'PROTOCOL_ERROR'
  /** Reliable mode: the server does not speak it (no `$session` in time, or another first frame). Final. */
  | 'UNSUPPORTED'
  /** Reliable mode: another instance of this client took the session over (close 4010). Final. */
  | 'DISPLACED'

/** The one error class of the library. `code` is stable; `message` is for humans. */
export class SocketError extends Error {
  override name = 'SocketError'
  // `declare`: assigned in the constructor, so no separate field definitions are emitted.
  declare readonly code: SocketErrorCode
  /** Structured context (never tokens or payloads). */
  declare readonly details: Readonly<Record<string, unknown>> | undefined

  constructor(
    code: SocketErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    // Only a defined cause is installed: `'cause' in error` stays false otherwise.
    super(message, options?.cause === undefined ? undefined : options)
    this.code = code
    this.details = options?.details
  }
}

/**
 * Throw this from `auth.getToken()` to say "the user is not authorized any more": the
 * socket stops at once instead of backing off and asking again.
 */
export class UnauthorizedError extends SocketError {
  override name = 'UnauthorizedError'
  constructor(message = 'Unauthorized', options?: { cause?: unknown }) {
    super('UNAUTHORIZED', message, options)
  }
}

/** The server answered a request with `{ error: { code, message } }`. */
export class RemoteError extends SocketError {
  override name = 'RemoteError'
  /** The server's own error code, verbatim. */
  declare readonly remoteCode: string
  constructor(remoteCode: string, message: string, details?: Record<string, unknown>) {
    super('REMOTE_ERROR', message, { details })
    this.remoteCode = remoteCode
  }
}

/** A user callback threw: `HANDLER_FAILED`, "<what> threw", with the thrown value as cause. */
export function handlerFailed(what: string, cause: unknown): SocketError {
  return new SocketError('HANDLER_FAILED', `${what} threw`, { cause })
}

export function invalidOption(message: string): SocketError {
  return new SocketError('INVALID_OPTIONS', message)
}

/** Throws `INVALID_OPTIONS` unless `value` is one of `allowed`: "name must be 'a', 'b' or 'c'". */
export function checkOneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(value as string)) {
    throw invalidOption(
      `${name} must be '${allowed.slice(0, -1).join("', '")}' or '${allowed.at(-1)}' (got ${String(value)})`,
    )
  }
}

/**
 * A short text for any value a user callback threw or returned, for error messages. Never
 * throws: `String(Object.create(null))` does, and so may a `message` getter or a Proxy.
 */
export function describeValue(value: unknown): string {
  let text = ''
  try {
    if (typeof value === 'function') text = 'a function'
    else if (typeof value !== 'object' || value === null) text = String(value)
    else {
      const { message } = value as { message?: unknown }
      text =
        typeof message === 'string' && message
          ? message
          : value instanceof Error
            ? value.name
            : (JSON.stringify(value) ?? '')
      if (text === '{}') text = ''
    }
  } catch {}
  text ||= value === '' ? 'an empty string' : 'an object without a message'
  // A provider may throw a whole HTML error page.
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/**
 * Whether `key` looks like a slip for `name`: the letters of the shorter one appear in the
 * longer one in order, ignoring case, and it is at least half as long. That catches what
 * people type (a missing unit, `ttl` for `ttlMs`; a dropped or an extra letter; the wrong
 * case) at a fraction of an edit distance's code; a swapped pair of letters is not caught,
 * and then the message lists every option instead.
 */
function resembles(key: string, name: string): boolean {
  const [short, long] = [key, name]
    .map((word) => word.toLowerCase())
    .sort((a, b) => a.length - b.length) as [string, string]
  let matched = 0
  for (const c of long) if (c === short[matched]) matched++
  return matched === short.length && short.length * 2 >= long.length
}

/**
 * Throws `INVALID_OPTIONS` for the first key of `value` that is not in `allowed`, naming
 * the closest allowed key: "unknown option retry.initialDelay; did you mean initialDelayMs?".
 * Only object literals are checked: a class instance (say, a token manager that has a
 * `getToken` method) may carry fields of its own.
 */
export function checkKeys(prefix: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'object' || value === null) return
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue
    // The shortest look-alike is the closest: `timeout` means `timeoutMs`, not `probeTimeoutMs`.
    const [best] = allowed
      .filter((name) => resembles(key, name))
      .sort((a, b) => a.length - b.length)
    throw invalidOption(
      `unknown option ${prefix}${key}; ${best ? `did you mean ${best}?` : `the options are ${allowed.join(', ')}`}`,
    )
  }
}
