import { obtainToken, type ResolvedAuth, type ResolvedToken } from './auth.ts'
import { type Clock, TimerSlot } from './clock.ts'
import { SocketError, UnauthorizedError } from './errors.ts'

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
  if (remainingMs <= 0) return null
  return Math.max(remainingMs - renewBeforeMs, remainingMs / 3, MIN_RENEW_DELAY_MS)
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
export class TokenRenewal {
  readonly #auth: ResolvedAuth
  readonly #clock: Clock
  readonly #hooks: RenewalHooks
  readonly #timer: TimerSlot
  #fetch: AbortController | null = null

  constructor(auth: ResolvedAuth, clock: Clock, hooks: RenewalHooks) {
    this.#auth = auth
    this.#clock = clock
    this.#hooks = hooks
    this.#timer = new TimerSlot(clock)
  }

  /** Plans the renewal of the token the open connection uses (nothing without `expiresAt`). */
  schedule(token: ResolvedToken): void {
    if (token.expiresAt === null) return
    const delayMs = renewalDelayMs(token.expiresAt, this.#clock.now(), this.#auth.renewBeforeMs)
    if (delayMs !== null) this.#timer.set(() => void this.#renew(), delayMs)
  }

  stop(): void {
    this.#timer.clear()
    this.#fetch?.abort()
    this.#fetch = null
  }

  async #renew(): Promise<void> {
    const fetch = new AbortController()
    this.#fetch = fetch
    let token: ResolvedToken
    try {
      const context = { reason: 'renew', forceRefresh: true, attempt: 0 } as const
      token = await obtainToken(this.#auth, context, this.#clock, fetch)
    } catch (error) {
      if (this.#fetch !== fetch) return // stopped meanwhile
      this.#fetch = null
      if (error instanceof UnauthorizedError) this.#hooks.unauthorized(error)
      // Otherwise the server closes with an auth code at expiry, and the normal path retries.
      else
        this.#hooks.report(
          error instanceof SocketError ? error : new SocketError('AUTH_FAILED', String(error)),
        )
      return
    }
    if (this.#fetch !== fetch) return // stopped meanwhile
    this.#fetch = null
    if (this.#auth.placement === 'message') {
      this.#hooks.sendAuth(token)
      this.schedule(token)
    } else {
      this.#hooks.reconnectWith(token)
    }
  }
}
