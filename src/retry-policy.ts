import type { RandomSource } from './clock.ts'
import { AUTH_CODES, type CloseInfo, classifyClose, retryAfterHintMs } from './close-codes.ts'
import { withDefaults } from './defaults.ts'
import {
  checkOneOf,
  handlerFailed,
  invalidOption,
  SocketError,
  type SocketErrorCode,
} from './errors.ts'

export interface RetryContext {
  /** 1 for the first retry after a drop or failed attempt, 2 for the next, and so on. */
  attempt: number
  /** Milliseconds since the connection was lost (or since `connect()` if it never opened). */
  elapsedMs: number
  /** How the last connection or attempt ended. */
  lastClose: CloseInfo | null
  /** The browser's idea of connectivity (`true` where unknown, e.g. on Node). */
  online: boolean
}

/** Returns the delay before the next attempt in milliseconds, or `null` to give up. */
export type RetryPolicy = (context: RetryContext) => number | null

export interface BackoffOptions {
  /**
   * Upper bound of the first delay, in milliseconds.
   * @default 1000
   */
  initialDelayMs?: number
  /**
   * Growth factor of the upper bound per attempt.
   * @default 2
   */
  factor?: number
  /**
   * The largest delay, in milliseconds.
   * @default 30000
   */
  maxDelayMs?: number
  /**
   * `'full'`: a uniform delay in [0, bound] (spreads a thundering herd best);
   * `'equal'`: in [bound/2, bound]; `'none'`: exactly the bound.
   * @default 'full'
   */
  jitter?: 'full' | 'equal' | 'none'
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialDelayMs: 1000,
  factor: 2,
  maxDelayMs: 30_000,
  jitter: 'full',
}

/**
 * Exponential backoff: the bound for attempt n is `min(maxDelayMs, initialDelayMs * factor^(n-1))`,
 * and jitter picks the delay below it. Never gives up by itself (see `maxAttempts`).
 */
export function exponentialBackoff(
  options: BackoffOptions = {},
  random: RandomSource = Math.random,
): RetryPolicy {
  const { initialDelayMs, factor, maxDelayMs, jitter } = withDefaults(DEFAULT_BACKOFF, options)
  if (!(initialDelayMs >= 0 && maxDelayMs >= initialDelayMs && factor >= 1)) {
    throw invalidOption(
      'retry: need 0 <= initialDelayMs <= maxDelayMs and factor >= 1 ' +
        `(got initialDelayMs=${initialDelayMs}, maxDelayMs=${maxDelayMs}, factor=${factor})`,
    )
  }
  // Checked here because any other value would silently behave like 'equal'.
  checkOneOf('retry: jitter', jitter, ['full', 'equal', 'none'])
  return ({ attempt }) => {
    const bound = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, attempt - 1))
    if (jitter === 'none') return bound
    const r = random()
    return Math.round(jitter === 'full' ? r * bound : bound / 2 + (r * bound) / 2)
  }
}

/**
 * A fixed table of delays, SignalR style: attempt n waits `delaysMs[n - 1]`. Past the end
 * of the table it gives up, or keeps the last delay with `{ repeatLast: true }`.
 */
export function fromDelays(
  delaysMs: readonly number[],
  { repeatLast = false }: { repeatLast?: boolean } = {},
): RetryPolicy {
  if (!delaysMs.length || !delaysMs.every((d) => Number.isFinite(d) && d >= 0)) {
    throw invalidOption('fromDelays: pass a non-empty array of delays in ms, each >= 0')
  }
  const table = [...delaysMs]
  return ({ attempt }) => table[attempt - 1] ?? (repeatLast ? (table.at(-1) as number) : null)
}

/** An auth failure, refreshed once and failed again, is final. */
const MAX_AUTH_FAILURES = 2

export interface ReconnectInput {
  close: CloseInfo
  authConfigured: boolean
  shouldReconnect: ((close: CloseInfo) => boolean | undefined) | undefined
  /** Consecutive failures before this one. */
  failures: number
  /** Consecutive auth failures before this one. */
  authFailures: number
  maxAttempts: number
  retry: RetryPolicy
  elapsedMs: number
  online: boolean
}

export type ReconnectPlan =
  | { action: 'stop'; error: SocketError | null }
  | {
      action: 'retry'
      delayMs: number
      /** The part of the delay the server asked for (1013, `retry-after`): never skipped. */
      floorMs: number
      failures: number
      authFailures: number
      refreshAuth: boolean
    }

/**
 * Decides what follows a lost connection or a failed attempt: the close-code table (or
 * `shouldReconnect`), the auth-failure budget, `maxAttempts`, the retry policy, and the
 * floors set by 1013 and a `retry-after` hint. A pure function; user callbacks that
 * throw are reported through `report` and count as "no opinion" / "give up".
 */
export function planReconnect(
  input: ReconnectInput,
  report: (error: SocketError) => void,
): ReconnectPlan {
  const { close, authConfigured } = input
  const { code, reason } = close
  let { action, minDelayMs = 0 } = classifyClose(code, authConfigured)
  try {
    const override = input.shouldReconnect?.(close)
    if (override !== undefined) action = override ? 'reconnect' : 'stop'
  } catch (error) {
    report(handlerFailed('shouldReconnect', error))
  }
  const stop = (
    errorCode: SocketErrorCode,
    message: string,
    details: Record<string, unknown> = { code },
  ): ReconnectPlan => ({
    action: 'stop',
    error: new SocketError(errorCode, message, { details }),
  })
  const closed = `(${code}${reason ? ` ${reason}` : ''})`
  if (action === 'stop') {
    if (code === 1000) return { action, error: null }
    // Without auth an auth code stops, and the error code says why. 1008 is a generic policy
    // violation: only the dedicated auth codes say "unauthorized".
    return !authConfigured && AUTH_CODES.includes(code)
      ? stop(
          'UNAUTHORIZED',
          `the server refused the connection as unauthorized ${closed}: configure auth`,
        )
      : stop('CLOSED_BY_SERVER', `the server closed the connection ${closed}`)
  }
  const refreshAuth = action === 'refresh-auth'
  const authFailures = refreshAuth ? input.authFailures + 1 : input.authFailures
  if (authFailures >= MAX_AUTH_FAILURES) {
    return stop(
      'UNAUTHORIZED',
      `the server refused the credentials again after a refresh ${closed}`,
    )
  }
  const failures = input.failures + 1
  let delayMs: number | null = null
  if (failures <= input.maxAttempts) {
    try {
      delayMs = input.retry({
        attempt: failures,
        elapsedMs: input.elapsedMs,
        lastClose: close,
        online: input.online,
      })
    } catch (error) {
      report(handlerFailed('the retry policy', error))
    }
  }
  if (delayMs === null || !(delayMs >= 0)) {
    return stop('RETRIES_EXHAUSTED', `gave up after ${failures - 1} reconnect attempts`, {
      attempts: failures - 1,
    })
  }
  const floorMs = Math.max(minDelayMs, retryAfterHintMs(reason))
  return {
    action: 'retry',
    delayMs: Math.max(delayMs, floorMs),
    floorMs,
    failures,
    authFailures,
    refreshAuth,
  }
}
