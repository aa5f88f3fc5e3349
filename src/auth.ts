import { type Clock, TimerSlot } from './clock.ts'
import { invalidOption, SocketError, UnauthorizedError } from './errors.ts'

/**
 * Why a token is asked for: the first attempt after `connect()`, a reconnect, a retry
 * after the server rejected the credential, or a renewal before `expiresAt`.
 */
export type TokenReason = 'connect' | 'reconnect' | 'auth-failure' | 'renew'

export interface TokenContext {
  reason: TokenReason
  /** `true` when a cached token must not be reused (the server rejected it, or it expires). */
  forceRefresh: boolean
  /** The retry number of this attempt (0 for the first attempt after `connect()`). */
  attempt: number
  /** Fires when the attempt is abandoned (`close()`, timeout): stop any fetch. */
  signal: AbortSignal
}

export interface TokenResult {
  token: string
  /** When the token stops being valid (epoch milliseconds or a `Date`); enables renewal. */
  expiresAt?: number | Date
}

/**
 * Where the token travels:
 * - `query`: a URL query parameter (`?access_token=…`). Works everywhere.
 * - `protocol`: a `Sec-WebSocket-Protocol` entry `<param>.<token>`. Keeps it out of URLs
 *   and logs; the token must consist of HTTP token characters (JWTs do).
 * - `message`: a `$auth` envelope sent first on every connection, and again to renew.
 * - `header`: `Authorization: Bearer <token>`. Node's global WebSocket only; browsers
 *   cannot set handshake headers.
 */
export type AuthPlacement = 'query' | 'protocol' | 'message' | 'header'

export interface AuthOptions {
  /** Returns the token for the next connection attempt. May be async. */
  getToken(context: TokenContext): string | TokenResult | Promise<string | TokenResult>
  /**
   * Where the token travels.
   * @default 'query'
   */
  placement?: AuthPlacement
  /**
   * The query parameter name (`query`), or the protocol prefix (`protocol`).
   * @default 'access_token'
   */
  param?: string
  /**
   * Milliseconds `getToken` may take before the attempt counts as failed.
   * @default 10000
   */
  timeoutMs?: number
  /**
   * With an `expiresAt`, renew this many milliseconds before it.
   * @default 30000
   */
  renewBeforeMs?: number
}

export type ResolvedAuth = Required<AuthOptions>

/** RFC 7230 `token`: what a Sec-WebSocket-Protocol entry (and so our auth param) may be. */
export const PROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export function resolveAuth(auth: AuthOptions): ResolvedAuth {
  if (typeof auth?.getToken !== 'function') {
    throw invalidOption(
      'auth.getToken must be a function that returns the token (or a promise of it)',
    )
  }
  const resolved: ResolvedAuth = {
    placement: 'query',
    param: 'access_token',
    timeoutMs: 10_000,
    renewBeforeMs: 30_000,
    ...auth,
  }
  if (!['query', 'protocol', 'message', 'header'].includes(resolved.placement)) {
    throw invalidOption(
      `auth.placement must be 'query', 'protocol', 'message' or 'header' (got ${String(resolved.placement)})`,
    )
  }
  if (resolved.placement === 'header' && !isNode()) {
    throw invalidOption(
      "auth.placement 'header' needs Node's global WebSocket: browsers cannot send handshake headers. Use 'query', 'protocol' or 'message'.",
    )
  }
  if (typeof resolved.param !== 'string' || !PROTOCOL_TOKEN.test(resolved.param)) {
    throw invalidOption(
      'auth.param must be a non-empty name made of letters, digits, "_", "-" or "."',
    )
  }
  return resolved
}

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process
  return typeof process?.versions?.node === 'string'
}

export interface ResolvedToken {
  token: string
  expiresAt: number | null
}

function normalizeToken(value: unknown): ResolvedToken {
  const raw = typeof value === 'string' ? { token: value } : (value as TokenResult | null)
  const token = raw?.token
  const expiresAt = raw?.expiresAt instanceof Date ? raw.expiresAt.getTime() : raw?.expiresAt
  if (typeof token !== 'string' || token === '') {
    throw new SocketError(
      'AUTH_FAILED',
      'auth.getToken must return a non-empty string or { token, expiresAt }',
    )
  }
  if (expiresAt !== undefined && !Number.isFinite(expiresAt)) {
    throw new SocketError('AUTH_FAILED', 'auth.getToken returned an expiresAt that is not a time')
  }
  return { token, expiresAt: expiresAt ?? null }
}

/**
 * Calls the provider under its timeout. Rejects with `UnauthorizedError` (stop), or a
 * `SocketError` `AUTH_FAILED` (back off and retry). Aborting `controller` clears the timer.
 */
export function obtainToken(
  auth: ResolvedAuth,
  context: Omit<TokenContext, 'signal'>,
  clock: Clock,
  controller: AbortController,
): Promise<ResolvedToken> {
  return new Promise((resolve, reject) => {
    const timer = new TimerSlot(clock)
    const settle = (): void => {
      timer.clear()
      controller.signal.removeEventListener('abort', settle)
    }
    controller.signal.addEventListener('abort', settle)
    timer.set(() => {
      settle()
      reject(
        new SocketError('AUTH_FAILED', `auth.getToken did not settle within ${auth.timeoutMs} ms`),
      )
      controller.abort()
    }, auth.timeoutMs)
    Promise.resolve()
      .then(() => auth.getToken({ ...context, signal: controller.signal }))
      .then(
        (value) => {
          settle()
          resolve(normalizeToken(value))
        },
        (error: unknown) => {
          settle()
          reject(
            error instanceof UnauthorizedError
              ? error
              : new SocketError('AUTH_FAILED', 'auth.getToken failed', { cause: error }),
          )
        },
      )
      .catch(reject)
  })
}

export interface Handshake {
  url: string
  protocols: string[]
  headers?: Record<string, string>
}

/** Puts the token where the placement says. `message` placement leaves the handshake alone. */
export function placeToken(handshake: Handshake, auth: ResolvedAuth, token: string): Handshake {
  switch (auth.placement) {
    case 'query': {
      const base = (globalThis as { location?: { href?: string } }).location?.href
      const url = new URL(handshake.url, base)
      url.searchParams.set(auth.param, token)
      return { ...handshake, url: url.toString() }
    }
    case 'protocol':
      if (!PROTOCOL_TOKEN.test(token)) {
        throw new SocketError(
          'AUTH_FAILED',
          "the token has characters a Sec-WebSocket-Protocol entry cannot carry; use placement 'query' or 'message'",
        )
      }
      return { ...handshake, protocols: [...handshake.protocols, `${auth.param}.${token}`] }
    case 'header':
      return { ...handshake, headers: { Authorization: `Bearer ${token}` } }
    default:
      return handshake
  }
}

/** Replaces every occurrence of the token (raw and URL-encoded) in a text to be logged or thrown. */
export function redact(text: string, token: string | null): string {
  if (!token) return text
  // Raw, percent-encoded, and form-encoded as URLSearchParams writes it into the query
  // (`~ ! ' ( )` escaped, space as `+`).
  const forms = [
    token,
    encodeURIComponent(token),
    new URLSearchParams([['', token]]).toString().slice(1),
  ]
  return forms.reduce((out, form) => out.split(form).join('[redacted]'), text)
}
