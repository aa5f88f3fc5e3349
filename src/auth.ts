import { PROTOCOL_TOKEN } from './check.ts'
import { type Clock, TimerSlot } from './clock.ts'
import { withDefaults } from './defaults.ts'
import {
  checkKeys,
  describeValue,
  invalidOption,
  SocketError,
  UnauthorizedError,
} from './errors.ts'
import type { AttemptReason, Feature, Handshake, Part, PartHost } from './part.ts'

/**
 * Why a token is asked for: the first attempt after `connect()`, a reconnect, a retry
 * after the server rejected the credential, or a renewal before `expiresAt`.
 */
export type TokenReason = AttemptReason

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
 * - `message` (the default): a `$auth` envelope sent first on every connection, and again
 *   to renew over the open connection. The token stays out of URLs and handshake logs.
 * - `query`: a URL query parameter (`?access_token=…`). Works with any server, but the URL
 *   is not a secret: browsers print it, token included, in the page console on every
 *   failed attempt, and proxies and servers write it to their access logs.
 * - `protocol`: a `Sec-WebSocket-Protocol` entry `<param>.<token>`. Keeps it out of URLs;
 *   the token must consist of HTTP token characters (JWTs do).
 * - `header`: `Authorization: Bearer <token>`. Node's global WebSocket only; browsers
 *   cannot set handshake headers.
 */
export type AuthPlacement = 'query' | 'protocol' | 'message' | 'header'

export interface AuthOptions {
  /** Returns the token for the next connection attempt. May be async. */
  getToken(context: TokenContext): string | TokenResult | Promise<string | TokenResult>
  /**
   * Where the token travels. `'message'` needs a server that reads a first `$auth`
   * frame (PROTOCOL.md §6); `'query'` leaks the token into browser consoles and access logs.
   * @default 'message'
   */
  placement?: AuthPlacement
  /**
   * The query parameter name (`query`), or the protocol prefix (`protocol`).
   * @default 'access_token'
   */
  param?: string
  /**
   * Milliseconds `getToken` may take before the attempt counts as failed; `Infinity` for no
   * limit of its own (`connectTimeoutMs` still bounds the attempt, but not a renewal).
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

const AUTH_DEFAULTS = {
  placement: 'message',
  param: 'access_token',
  timeoutMs: 10_000,
  renewBeforeMs: 30_000,
} as ResolvedAuth

/**
 * A token provider called before every connection attempt, for the `auth` option:
 * `auth: auth({ getToken })`. Refreshes the token when the server refuses it (4001, 4003…)
 * and renews it before `expiresAt`. Throws `INVALID_OPTIONS` for options it cannot use.
 */
export function auth(options: AuthOptions): Feature {
  const resolved = resolveAuth(options)
  return { feature: 'auth', create: (host) => authPart(resolved, host) }
}

// A closure: only sockets with auth create one.
function authPart(auth: ResolvedAuth, host: PartHost): Part {
  /** The token of the current (or last) connection: sent on open, redacted from reports. */
  let token: ResolvedToken | null = null
  /** A token fetched ahead of a quiet reconnect, used by the next attempt. */
  let next: ResolvedToken | null = null
  const frame = (t: ResolvedToken) => host.encode({ type: '$auth', data: { token: t.token } })
  const renewal = createTokenRenewal(auth, host.clock, {
    sendAuth(renewed) {
      token = renewed
      host.write(() => frame(renewed))
    },
    reconnectWith(renewed) {
      next = renewed
      // 1001, going away and coming back: a reliable session survives it (1000 ends it).
      host.reconnect({ code: 1001, reason: 'token refresh', wasClean: true }, 'token-refresh')
    },
    unauthorized: (error) =>
      host.stop({ code: 1000, reason: 'unauthorized', wasClean: true }, error),
    report: (error) => host.report(error),
  })
  return {
    credentials: true,
    async handshake(handshake, { reason, forceRefresh, attempt, signal }) {
      // The token in use goes in, so that a provider error quoting it is redacted.
      const fresh =
        next ??
        (await obtainToken(
          auth,
          { reason, forceRefresh, attempt },
          host.clock,
          signal,
          token?.token ?? null,
        ))
      if (signal.aborted) return handshake
      next = null
      token = fresh
      return placeToken(handshake, auth, fresh.token)
    },
    opened() {
      if (!token) return
      // Encoded first: a token the codec cannot encode fails the attempt.
      if (auth.placement === 'message') {
        const first = frame(token)
        host.write(() => first)
      }
      renewal.schedule(token)
    },
    lost() {
      renewal.stop()
      return undefined
    },
    ended() {
      renewal.stop()
      token = next = null
    },
    redact: (text) => redact(text, token?.token ?? null),
  }
}

export function resolveAuth(auth: AuthOptions): ResolvedAuth {
  checkKeys('auth.', auth, ['getToken', ...Object.keys(AUTH_DEFAULTS)])
  const resolved = withDefaults<ResolvedAuth>(AUTH_DEFAULTS, auth)
  const { placement, param, timeoutMs, renewBeforeMs } = resolved
  const fail = (problem: string): never => {
    throw invalidOption(`auth.${problem}`)
  }
  // Read through the prototype and called on `auth`, so that a class with a `getToken`
  // method works too (the copy above has only own enumerable fields).
  if (typeof auth.getToken !== 'function') fail('getToken must be a function returning the token')
  resolved.getToken = (context) => auth.getToken(context)
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
  if (!(timeoutMs >= 1)) {
    fail(`timeoutMs must be a number >= 1, or Infinity for no limit (got ${String(timeoutMs)})`)
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

// A provider's own error text may quote a credential: the token it is refreshing, or a JWT
// from its token endpoint's response.
const JWT = /\beyJ[\w-]*\.[\w-]+\.[\w-]*/g

/** "auth.getToken failed: <the provider's reason>", with `known` and any JWT redacted. */
function providerFailed(error: unknown, known: string | null): SocketError {
  const reason = redact(describeValue(error), known).replace(JWT, '[redacted]')
  return authFailed(`failed: ${reason}`, error)
}

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
 * `SocketError` `AUTH_FAILED` (back off and retry) whose message carries the provider's
 * reason, with `known` (the token in use, if any) redacted from it. Aborting `abandoned`
 * clears the timer and tells the provider to stop.
 */
export function obtainToken(
  auth: ResolvedAuth,
  context: Omit<TokenContext, 'signal'>,
  clock: Clock,
  abandoned: AbortSignal,
  known: string | null = null,
): Promise<ResolvedToken> {
  // The provider's own signal: aborted when the caller abandons the fetch or it times out.
  const controller = new AbortController()
  const { signal } = controller
  const abort = (): void => controller.abort()
  return new Promise((resolve, reject) => {
    const timer = new TimerSlot(clock)
    timer.set(() => {
      reject(authFailed(`gave no token within ${auth.timeoutMs} ms (auth.timeoutMs)`))
      // Tells the provider to stop, and (through the listener below) settles.
      abort()
    }, auth.timeoutMs)
    const settle = (): void => {
      timer.clear()
      signal.removeEventListener('abort', settle)
      abandoned.removeEventListener('abort', abort)
    }
    signal.addEventListener('abort', settle)
    abandoned.addEventListener('abort', abort)
    // Inside a `then`, a provider that throws is handled like one that rejects.
    Promise.resolve()
      .then(() => auth.getToken({ ...context, signal }))
      .then(normalizeToken, (error: unknown) => {
        throw error instanceof UnauthorizedError ? error : providerFailed(error, known)
      })
      .finally(settle)
      .then(resolve, reject)
  })
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
      "returned a token that cannot travel in Sec-WebSocket-Protocol; use placement 'message'",
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

// ── Renewal before expiry ───────────────────────────────────────────────────────────

/** A renewal never comes sooner than this after the token arrived. */
const MIN_RENEW_DELAY_MS = 1000

/**
 * When to renew a token that expires at `expiresAt`: `renewBeforeMs` ahead of expiry, but
 * never within a third of the remaining lifetime or a second, so that a token living
 * shorter than the margin cannot renew in a loop. `null` for a token already expired: the
 * server rejects it (4001) and the refresh-after-auth-failure path takes over.
 */
export function renewalDelayMs(
  expiresAt: number,
  now: number,
  renewBeforeMs: number,
): number | null {
  const remainingMs = expiresAt - now
  return remainingMs > 0
    ? Math.max(remainingMs - renewBeforeMs, remainingMs / 3, MIN_RENEW_DELAY_MS)
    : null
}

export interface RenewalHooks {
  /** `message` placement: send the new token as `$auth` over the open connection. */
  sendAuth(token: ResolvedToken): void
  /** Other placements carry the token in the handshake: reconnect quietly with it. */
  reconnectWith(token: ResolvedToken): void
  /** The provider threw `UnauthorizedError`: the session is over. */
  unauthorized(error: UnauthorizedError): void
  report(error: SocketError): void
}

/**
 * Renews the token of an open connection before it expires, on one timer. `stop()`
 * (when the connection ends) clears the timer and abandons a fetch in flight.
 */
export interface TokenRenewal {
  /** Plans the renewal of the token the open connection uses (nothing without `expiresAt`). */
  schedule(token: ResolvedToken): void
  stop(): void
}

// State lives in closure variables rather than private fields: they minify to single letters.
export function createTokenRenewal(
  auth: ResolvedAuth,
  clock: Clock,
  hooks: RenewalHooks,
): TokenRenewal {
  const timer = new TimerSlot(clock)
  /** The renewal fetch in flight, if any. */
  let fetch: AbortController | null = null
  /** The token being renewed: redacted from the provider's error messages. */
  let current: string | null = null

  const renew = (): void => {
    const mine = new AbortController()
    fetch = mine
    // Discards the outcome of a fetch that `stop()` (or a newer renewal) abandoned.
    const ifCurrent =
      <T>(act: (value: T) => void) =>
      (value: T): void => {
        if (fetch !== mine) return
        fetch = null
        act(value)
      }
    obtainToken(
      auth,
      { reason: 'renew', forceRefresh: true, attempt: 0 },
      clock,
      mine.signal,
      current,
    ).then(
      ifCurrent((token: ResolvedToken) => {
        if (auth.placement === 'message') {
          hooks.sendAuth(token)
          schedule(token)
        } else hooks.reconnectWith(token)
      }),
      ifCurrent((error: unknown) => {
        if (error instanceof UnauthorizedError) hooks.unauthorized(error)
        // Otherwise the server closes with an auth code at expiry, and the normal path retries.
        else
          hooks.report(
            error instanceof SocketError
              ? error
              : new SocketError('AUTH_FAILED', describeValue(error), { cause: error }),
          )
      }),
    )
  }

  const schedule = ({ token, expiresAt }: ResolvedToken): void => {
    current = token
    const delayMs = expiresAt && renewalDelayMs(expiresAt, clock.now(), auth.renewBeforeMs)
    if (delayMs) timer.set(renew, delayMs)
  }

  const stop = (): void => {
    timer.clear()
    fetch?.abort()
    fetch = null
  }

  return { schedule, stop }
}
