import { randomBytes } from 'node:crypto'

/**
 * What a connection holds on to instead of the token itself, so that expiring or
 * revoking tokens reaches every connection that used one without keeping secrets
 * around in connection state (or, by accident, in logs).
 */
export interface TokenGrant {
  expiresAt: number
  revoked: boolean
}

export interface IssuedToken {
  token: string
  expiresAt: number
}

/** setTimeout overflows past 2^31-1 ms; a week is plenty for a test server. */
export const MAX_TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1000

export class TokenStore {
  readonly #grants = new Map<string, TokenGrant>()
  readonly #defaultTtlMs: number
  #sweepAtSize = 1024

  constructor(defaultTtlMs: number) {
    this.#defaultTtlMs = defaultTtlMs
  }

  issue(ttlMs: number = this.#defaultTtlMs, now = Date.now()): IssuedToken {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TOKEN_TTL_MS) {
      throw new RangeError(`ttlMs must be an integer in 1..${MAX_TOKEN_TTL_MS}`)
    }
    this.#sweep(now)
    const token = randomBytes(24).toString('base64url')
    const grant: TokenGrant = { expiresAt: now + ttlMs, revoked: false }
    this.#grants.set(token, grant)
    return { token, expiresAt: grant.expiresAt }
  }

  /** The live grant behind a token, or null when it is unknown, expired or revoked. */
  verify(token: unknown, now = Date.now()): TokenGrant | null {
    if (typeof token !== 'string' || token === '') return null
    const grant = this.#grants.get(token)
    if (grant === undefined || grant.revoked || grant.expiresAt <= now) return null
    return grant
  }

  expireAll(now = Date.now()): number {
    const count = this.#grants.size
    for (const grant of this.#grants.values()) grant.expiresAt = Math.min(grant.expiresAt, now)
    this.#grants.clear()
    return count
  }

  /** Forgetting is enough for "rejected forever": new tokens are random, so no reuse. */
  invalidateAll(): number {
    const count = this.#grants.size
    for (const grant of this.#grants.values()) grant.revoked = true
    this.#grants.clear()
    return count
  }

  /** Expired tokens are dropped lazily, with amortised sweeps, so no timer is needed. */
  #sweep(now: number): void {
    if (this.#grants.size < this.#sweepAtSize) return
    for (const [token, grant] of this.#grants) {
      if (grant.expiresAt <= now) this.#grants.delete(token)
    }
    this.#sweepAtSize = Math.max(1024, this.#grants.size * 2)
  }
}
