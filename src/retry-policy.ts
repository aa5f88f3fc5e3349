import type { RandomSource } from './clock.ts'
import { AUTH_CODES, type CloseInfo, classifyClose, retryAfterHintMs } from './close-codes.ts'
import { withDefaults } from './defaults.ts'
import {
  checkKeys,
  checkOneOf,
  handlerFailed,
  invalidOption,
  SocketError,
  type SocketErrorCode,
} from './errors.ts'

export interface RetryContext {
  /**
   * The backoff step: 1 for the first retry after a connection that stayed up `minUptimeMs`
   * was lost (or after `connect()`), +1 for every attempt that failed. A connection that
   * opened but lived less than `minUptimeMs` neither resets nor raises it, and the retry
   * after one is step 2 at least once a retry was made (so step 1 never comes twice in a
   * row). After 1001, 1012, 1013 or a `retry-after` hint it is at least 2.
   */
  attempt: number
  /** Milliseconds since the connection was lost (or since `connect()` if it never opened). */
  elapsedMs: number
  /** How the last connection or attempt ended. */
  lastClose: CloseInfo | null
  /** The browser's idea of connectivity (`true` where unknown, e.g. on Node). */
  online: boolean
}

/**
 * Returns the delay before the next attempt in milliseconds, or `null` to give up.
 * `Infinity` waits for a network or page signal (`online`, the page shown again) instead of
 * a timer.
 */
export type RetryPolicy = (context: RetryContext) => number | null

export interface BackoffOptions {
  /**
   * The first retry (step 1) waits a random delay in [0, quickRetryMs]: most drops are a
   * blip of one client, and they heal at once. 0 turns it off, and step 1 backs off like
   * the rest.
   * @default 500
   */
  quickRetryMs?: number
  /**
   * Upper bound of the first backed-off delay (step 2, or step 1 with `quickRetryMs: 0`),
   * in milliseconds.
   * @default 6000
   */
  initialDelayMs?: number
  /**
   * Growth factor of the upper bound per step.
   * @default 1.5
   */
  factor?: number
  /**
   * The largest delay, in milliseconds.
   * @default 30000
   */
  maxDelayMs?: number
  /**
   * How much of the bound is random: a number j in [0, 1] picks a uniform delay in
   * [bound × (1 − j), bound]. `'full'` is 1, `'equal'` is 0.5, `'none'` is 0. The default
   * keeps a third of the bound fixed: a random part alone crowds the clients whose draw was
   * small right after a server comes back, while the fixed part spreads them evenly.
   * @default 2/3 (a delay in [bound/3, bound])
   */
  jitter?: 'full' | 'equal' | 'none' | number
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  quickRetryMs: 500,
  initialDelayMs: 6000,
  factor: 1.5,
  maxDelayMs: 30_000,
  jitter: 2 / 3,
}

const JITTER = { full: 1, equal: 0.5, none: 0 } as const

/**
 * Exponential backoff with a quick first retry. The defaults are chosen so that a herd of
 * clients dropped together by a server restart comes back spread out, and none is left
 * waiting long: step 1 waits [0, 0.5 s]; from step 2 the bound is
 * `min(maxDelayMs, initialDelayMs × factor^(step − 2))` (6 s, 9 s, 13.5 s … 30 s) and the
 * delay is uniform in its upper two thirds. Never gives up by itself (see `maxAttempts`).
 */
export function exponentialBackoff(
  options: BackoffOptions = {},
  random: RandomSource = Math.random,
): RetryPolicy {
  checkKeys('retry.', options, Object.keys(DEFAULT_BACKOFF))
  const { quickRetryMs, initialDelayMs, factor, maxDelayMs, jitter } = withDefaults(
    DEFAULT_BACKOFF,
    options,
  )
  if (!(initialDelayMs >= 0 && maxDelayMs >= initialDelayMs && factor >= 1 && quickRetryMs >= 0)) {
    throw invalidOption(
      'retry: need 0 <= initialDelayMs <= maxDelayMs, factor >= 1 and quickRetryMs >= 0 ' +
        `(got initialDelayMs=${initialDelayMs}, maxDelayMs=${maxDelayMs}, factor=${factor}, quickRetryMs=${quickRetryMs})`,
    )
  }
  const randomPart = typeof jitter === 'number' ? jitter : JITTER[jitter]
  // Checked here because any other value would silently behave like another mode.
  if (typeof jitter !== 'number') checkOneOf('retry: jitter', jitter, ['full', 'equal', 'none'])
  else if (!(jitter >= 0 && jitter <= 1))
    throw invalidOption(`retry: jitter must be a number in [0, 1] (got ${jitter})`)
  return ({ attempt }) => {
    if (quickRetryMs > 0 && attempt <= 1) return Math.round(random() * quickRetryMs)
    const step = quickRetryMs > 0 ? attempt - 1 : attempt
    const bound = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, step - 1))
    if (randomPart === 0) return bound
    return Math.round(bound * (1 - randomPart) + random() * bound * randomPart)
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
  /** Attempts in a row that did not open, before this one (what `maxAttempts` counts). */
  failures: number
  /** The backoff step of the previous retry (0 after a connection that stayed up). */
  step: number
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
      step: number
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
    // 1000 from the server: it ended the session on purpose, and says so through `error`,
    // so that an application can tell it from its own close().
    if (code === 1000) {
      return stop('CLOSED_BY_SERVER', `the server ended the session ${closed}`)
    }
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
  const floorMs = Math.max(minDelayMs, retryAfterHintMs(reason))
  // A server that asks for a pause, or says it is going away or restarting, is dropping
  // every client at once: no quick retry then, whose 0.5 s would bring the herd back together.
  const herd = floorMs > 0 || code === 1001 || code === 1012
  const step = herd ? Math.max(input.step + 1, 2) : input.step + 1
  let delayMs: number | null = null
  if (failures <= input.maxAttempts) {
    try {
      delayMs = input.retry({
        attempt: step,
        elapsedMs: input.elapsedMs,
        lastClose: close,
        online: input.online,
      })
    } catch (error) {
      report(handlerFailed('the retry policy', error))
    }
  }
  if (typeof delayMs !== 'number' || !(delayMs >= 0)) {
    return stop('RETRIES_EXHAUSTED', `gave up after ${failures - 1} reconnect attempts`, {
      attempts: failures - 1,
    })
  }
  // The policy's delay runs after the server's floor: clients told "not before 30 s" would
  // otherwise all come back in the same millisecond.
  return {
    action: 'retry',
    delayMs: floorMs + delayMs,
    floorMs,
    failures,
    step,
    authFailures,
    refreshAuth,
  }
}
