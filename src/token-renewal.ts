import { obtainToken, type ResolvedAuth, type ResolvedToken } from './auth.ts'
import { type Clock, TimerSlot } from './clock.ts'
import { describeValue, SocketError, UnauthorizedError } from './errors.ts'

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
      mine,
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
