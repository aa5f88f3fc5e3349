import type { Clock } from './clock.ts'
import { withDefaults } from './defaults.ts'
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

const PLACEMENTS: readonly AuthPlacement[] = ['query', 'protocol', 'message', 'header']

/** RFC 7230 `token`: what a Sec-WebSocket-Protocol entry (and so our auth param) may be. */
export const PROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export function resolveAuth(auth: AuthOptions): ResolvedAuth {
  const resolved = withDefaults<ResolvedAuth>(
    {
      placement: 'query',
      param: 'access_token',
      timeoutMs: 10_000,
      renewBeforeMs: 30_000,
    } as ResolvedAuth,
    auth,
  )
  const { getToken, placement, param, timeoutMs, renewBeforeMs } = resolved
  const fail = (problem: string): never => {
    throw invalidOption(`auth.${problem}`)
  }
  if (typeof getToken !== 'function') fail('getToken must be a function returning the token')
  if (!PLACEMENTS.includes(placement)) {
    fail(`placement must be one of ${PLACEMENTS.join(', ')} (got ${String(placement)})`)
  }
  // Browsers cannot set handshake headers; only Node's global WebSocket takes them.
  if (
    placement === 'header' &&
    !(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node
  ) {
    fail(
      "placement 'header' needs Node (browsers cannot set handshake headers): use 'query', 'protocol' or 'message'",
    )
  }
  if (typeof param !== 'string' || !PROTOCOL_TOKEN.test(param)) {
    fail('param must be a non-empty name of letters, digits, "_", "-" or "."')
  }
  if (!(timeoutMs >= 1 && timeoutMs < Infinity)) {
    fail(`timeoutMs must be a finite number >= 1 (got ${String(timeoutMs)})`)
  }
  if (!(renewBeforeMs >= 0 && renewBeforeMs < Infinity)) {
    fail(`renewBeforeMs must be a finite number >= 0 (got ${String(renewBeforeMs)})`)
  }
  return resolved
}

export interface ResolvedToken {
  token: string
  expiresAt: number | null
}

/** Every AUTH_FAILED is about what the provider did: its messages name it. */
const authFailed = (problem: string, cause?: unknown): SocketError =>
  new SocketError('AUTH_FAILED', `auth.getToken ${problem}`, { cause })

function normalizeToken(value: unknown): ResolvedToken {
  const { token, expiresAt: at } =
    typeof value === 'string' ? { token: value } : ((value ?? {}) as Partial<TokenResult>)
  const expiresAt = at instanceof Date ? +at : at
  if (
    typeof token !== 'string' ||
    !token ||
    (expiresAt !== undefined && !Number.isFinite(expiresAt))
  ) {
    throw authFailed('must return a non-empty string or { token, expiresAt?: epoch ms | Date }')
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
  const { signal } = controller
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      reject(authFailed(`gave no token within ${auth.timeoutMs} ms (auth.timeoutMs)`))
      // Tells the provider to stop, and (through the listener below) settles.
      controller.abort()
    }, auth.timeoutMs)
    const settle = (): void => {
      clock.clearTimeout(timer)
      signal.removeEventListener('abort', settle)
    }
    signal.addEventListener('abort', settle)
    // Inside a `then`, a provider that throws is handled like one that rejects.
    Promise.resolve()
      .then(() => auth.getToken({ ...context, signal }))
      .then(normalizeToken, (error: unknown) => {
        throw error instanceof UnauthorizedError ? error : authFailed('failed', error)
      })
      .finally(settle)
      .then(resolve, reject)
  })
}

export interface Handshake {
  url: string
  protocols: string[]
  headers?: Record<string, string>
}

/** Puts the token where the placement says. `message` placement leaves the handshake alone. */
export function placeToken(handshake: Handshake, auth: ResolvedAuth, token: string): Handshake {
  const { placement, param } = auth
  if (placement === 'query') {
    const url = new URL(
      handshake.url,
      (globalThis as { location?: { href?: string } }).location?.href,
    )
    url.searchParams.set(param, token)
    return { ...handshake, url: url.href }
  }
  if (placement === 'header') return { ...handshake, headers: { Authorization: `Bearer ${token}` } }
  if (placement === 'message') return handshake
  if (!PROTOCOL_TOKEN.test(token)) {
    throw authFailed(
      "returned a token that cannot travel in Sec-WebSocket-Protocol; use placement 'query' or 'message'",
    )
  }
  return { ...handshake, protocols: [...handshake.protocols, `${param}.${token}`] }
}

/** Replaces every occurrence of the token (raw and URL-encoded) in a text to be logged or thrown. */
export function redact(text: string, token: string | null): string {
  // Raw, percent-encoded, and form-encoded as URLSearchParams writes it into the query
  // (`~ ! ' ( )` escaped, space as `+`).
  return token
    ? [token, encodeURIComponent(token), `${new URLSearchParams({ '': token })}`.slice(1)].reduce(
        (out, form) => out.replaceAll(form, '[redacted]'),
        text,
      )
    : text
}
