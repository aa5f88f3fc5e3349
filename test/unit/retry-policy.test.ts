import { describe, expect, it, vi } from 'vitest'
import {
  type CloseInfo,
  exponentialBackoff,
  fromDelays,
  type RetryContext,
  type RetryPolicy,
  type SocketError,
} from '../../src/index.ts'
// planReconnect is internal (not in index.ts); it is a pure function, so it is tested directly.
import { planReconnect, type ReconnectInput } from '../../src/retry-policy.ts'
import { expectSocketError, seededRandom } from '../helpers/unit-harness.ts'

function context(attempt: number): RetryContext {
  return { attempt, elapsedMs: 0, lastClose: null, online: true }
}

function delays(policy: RetryPolicy, attempts: number): (number | null)[] {
  return Array.from({ length: attempts }, (_, i) => policy(context(i + 1)))
}

/** The documented bound of attempt n: min(cap, initial * factor^(n-1)). */
function bound(n: number, initial = 1000, factor = 2, cap = 30_000): number {
  return Math.min(cap, initial * factor ** (n - 1))
}

/** The classic shape: no quick retry, 1 s ×2, full jitter; the mechanics tests use it. */
const CLASSIC = { quickRetryMs: 0, initialDelayMs: 1000, factor: 2, jitter: 'full' } as const

function expectInvalid(fn: () => unknown, messagePart: string | RegExp): void {
  expectSocketError(fn, 'INVALID_OPTIONS', messagePart)
}

describe('exponentialBackoff', () => {
  it('by default retries quickly once, in [0, 500 ms], then backs off from [2 s, 6 s] by 1.5 up to 30 s', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const policy = exponentialBackoff({}, seededRandom(seed))
      const first = policy(context(1)) as number
      expect(first).toBeGreaterThanOrEqual(0)
      expect(first).toBeLessThanOrEqual(500)
      for (let attempt = 2; attempt <= 15; attempt++) {
        const bound = Math.min(30_000, 6000 * 1.5 ** (attempt - 2))
        const delay = policy(context(attempt)) as number
        expect(Number.isInteger(delay)).toBe(true)
        // The default jitter keeps a third of the bound fixed.
        expect(delay).toBeGreaterThanOrEqual(Math.floor(bound / 3))
        expect(delay).toBeLessThanOrEqual(bound)
      }
    }
    expect(
      delays(
        exponentialBackoff({}, () => 0),
        4,
      ),
    ).toEqual([0, 2000, 3000, 4500])
    expect(
      delays(
        exponentialBackoff({}, () => 0.999_999_9),
        8,
      ),
    ).toEqual([500, 6000, 9000, 13_500, 20_250, 30_000, 30_000, 30_000])
  })

  it('refuses an unknown key, naming the closest valid one', () => {
    expectInvalid(
      () => exponentialBackoff({ initialDelay: 50 } as never),
      /unknown option retry\.initialDelay; did you mean initialDelayMs\?/,
    )
  })

  it('takes a number as jitter: the random fraction of the bound', () => {
    const policy = exponentialBackoff({ ...CLASSIC, jitter: 0.25 }, () => 0)
    expect(delays(policy, 3)).toEqual([750, 1500, 3000])
    expectInvalid(() => exponentialBackoff({ jitter: 1.5 }), /jitter must be a number in \[0, 1\]/)
    expectInvalid(() => exponentialBackoff({ quickRetryMs: -1 }), /quickRetryMs=-1/)
  })

  it('with full jitter keeps every delay an integer in [0, min(cap, initial * factor^(n-1))]', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const policy = exponentialBackoff(CLASSIC, seededRandom(seed))
      for (let attempt = 1; attempt <= 15; attempt++) {
        const delay = policy(context(attempt))
        expect(Number.isInteger(delay)).toBe(true)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(bound(attempt))
      }
    }
  })

  it('spreads the delays over the whole jitter range instead of clustering', () => {
    // At attempt 10 the bound is the 30 s cap; 200 seeded samples must reach both ends.
    const policy = exponentialBackoff(CLASSIC, seededRandom(42))
    const samples = Array.from({ length: 200 }, () => policy(context(10)) as number)
    expect(Math.min(...samples)).toBeLessThan(30_000 * 0.1)
    expect(Math.max(...samples)).toBeGreaterThan(30_000 * 0.9)
    expect(new Set(samples).size).toBeGreaterThan(150)
  })

  it('is reproducible for the same seed and differs for another', () => {
    const a = delays(exponentialBackoff(CLASSIC, seededRandom(7)), 12)
    const b = delays(exponentialBackoff(CLASSIC, seededRandom(7)), 12)
    const c = delays(exponentialBackoff(CLASSIC, seededRandom(8)), 12)
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  })

  it('scales the bound by the random value (full jitter is random * bound)', () => {
    const half = exponentialBackoff(CLASSIC, () => 0.5)
    expect(delays(half, 7)).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000])
    expect(exponentialBackoff(CLASSIC, () => 0)(context(5))).toBe(0)
    expect(exponentialBackoff(CLASSIC, () => 0.999_999_9)(context(3))).toBe(4000)
  })

  it('with equal jitter keeps every delay in [bound/2, bound]', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const policy = exponentialBackoff({ ...CLASSIC, jitter: 'equal' }, seededRandom(seed))
      for (let attempt = 1; attempt <= 15; attempt++) {
        const delay = policy(context(attempt)) as number
        expect(delay).toBeGreaterThanOrEqual(bound(attempt) / 2)
        expect(delay).toBeLessThanOrEqual(bound(attempt))
      }
    }
    expect(exponentialBackoff({ ...CLASSIC, jitter: 'equal' }, () => 0)(context(2))).toBe(1000)
  })

  it("with jitter 'none' returns the bound itself and never calls the random source", () => {
    const random = vi.fn(() => 0.3)
    const policy = exponentialBackoff({ ...CLASSIC, jitter: 'none' }, random)
    expect(delays(policy, 8)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000])
    expect(random).not.toHaveBeenCalled()
  })

  it('honours initialDelayMs, factor and maxDelayMs', () => {
    const policy = exponentialBackoff(
      { quickRetryMs: 0, initialDelayMs: 500, factor: 3, maxDelayMs: 10_000, jitter: 'none' },
      seededRandom(1),
    )
    expect(delays(policy, 5)).toEqual([500, 1500, 4500, 10_000, 10_000])
    const constant = exponentialBackoff({
      quickRetryMs: 0,
      initialDelayMs: 250,
      factor: 1,
      jitter: 'none',
    })
    expect(delays(constant, 4)).toEqual([250, 250, 250, 250])
    for (let attempt = 1; attempt <= 12; attempt++) {
      const delay = exponentialBackoff(
        { ...CLASSIC, initialDelayMs: 200, factor: 1.5, maxDelayMs: 5000 },
        () => seededRandom(attempt)(),
      )(context(attempt)) as number
      expect(delay).toBeLessThanOrEqual(bound(attempt, 200, 1.5, 5000))
    }
  })

  it('stays at the cap for very large attempt numbers (no overflow to Infinity or NaN)', () => {
    const policy = exponentialBackoff({ ...CLASSIC, jitter: 'none' })
    expect(policy(context(5000))).toBe(30_000)
    expect(exponentialBackoff(CLASSIC, () => 0.5)(context(5000))).toBe(15_000)
  })

  it.each([
    [{ initialDelayMs: -1 }, /initialDelayMs=-1/],
    [{ initialDelayMs: Number.NaN }, /initialDelayMs=NaN/],
    [{ initialDelayMs: 5000, maxDelayMs: 1000 }, /maxDelayMs=1000/],
    [{ factor: 0.5 }, /factor=0\.5/],
    [{ factor: Number.NaN }, /factor=NaN/],
    [{ maxDelayMs: -5 }, /0 <= initialDelayMs <= maxDelayMs/],
  ])('throws INVALID_OPTIONS for %o', (options, message) => {
    expectInvalid(() => exponentialBackoff(options), message)
  })

  it('throws INVALID_OPTIONS for an unknown jitter mode', () => {
    expectInvalid(
      () => exponentialBackoff({ jitter: 'random' as 'full' }),
      /jitter must be 'full', 'equal' or 'none'/,
    )
  })
})

describe('fromDelays', () => {
  it('returns the delay of the table row for each attempt', () => {
    const policy = fromDelays([0, 2000, 10_000, 30_000])
    expect(delays(policy, 4)).toEqual([0, 2000, 10_000, 30_000])
  })

  it('gives up (null) past the end of the table', () => {
    const policy = fromDelays([0, 2000])
    expect(policy(context(3))).toBeNull()
    expect(policy(context(100))).toBeNull()
  })

  it('keeps the last delay past the end with repeatLast', () => {
    const policy = fromDelays([100, 5000], { repeatLast: true })
    expect(delays(policy, 5)).toEqual([100, 5000, 5000, 5000, 5000])
    expect(policy(context(1000))).toBe(5000)
  })

  it('copies the table, so changing the array later changes nothing', () => {
    const table = [100, 200]
    const policy = fromDelays(table)
    table[0] = 99_999
    table.push(300)
    expect(delays(policy, 3)).toEqual([100, 200, null])
  })

  it.each([[[]], [[-1]], [[100, Number.NaN]], [[Number.POSITIVE_INFINITY]]])(
    'throws INVALID_OPTIONS for %o',
    (table) => {
      expectInvalid(() => fromDelays(table), /non-empty array of delays/)
    },
  )
})

describe('planReconnect', () => {
  const drop: CloseInfo = { code: 1006, reason: '', wasClean: false }

  function input(overrides: Partial<ReconnectInput> = {}): ReconnectInput {
    return {
      close: drop,
      authConfigured: false,
      shouldReconnect: undefined,
      failures: 0,
      step: 0,
      authFailures: 0,
      maxAttempts: Number.POSITIVE_INFINITY,
      retry: () => 1000,
      elapsedMs: 0,
      online: true,
      ...overrides,
    }
  }

  function plan(overrides: Partial<ReconnectInput> = {}) {
    const reported: SocketError[] = []
    const result = planReconnect(input(overrides), (error) => reported.push(error))
    return { result, reported }
  }

  function stopCode(result: ReturnType<typeof planReconnect>): string | null | undefined {
    if (result.action !== 'stop') return undefined
    return result.error?.code ?? null
  }

  it('retries a dropped connection with the policy delay and counts the failure', () => {
    const { result, reported } = plan()
    expect(result).toEqual({
      action: 'retry',
      delayMs: 1000,
      floorMs: 0,
      failures: 1,
      step: 1,
      authFailures: 0,
      refreshAuth: false,
    })
    expect(reported).toEqual([])
  })

  it('asks the policy with the next backoff step and the context', () => {
    const retry = vi.fn<RetryPolicy>(() => 250)
    const close = { code: 1011, reason: 'oops', wasClean: true }
    const { result } = plan({ retry, failures: 1, step: 3, elapsedMs: 1234, online: false, close })
    expect(retry).toHaveBeenCalledExactlyOnceWith({
      attempt: 4,
      elapsedMs: 1234,
      lastClose: close,
      online: false,
    })
    expect(result).toMatchObject({ action: 'retry', delayMs: 250, failures: 2, step: 4 })
  })

  it('stops with CLOSED_BY_SERVER on a server close 1000: the server ended the session', () => {
    const retry = vi.fn<RetryPolicy>(() => 1000)
    const { result, reported } = plan({ close: { code: 1000, reason: '', wasClean: true }, retry })
    expect(stopCode(result)).toBe('CLOSED_BY_SERVER')
    expect(retry).not.toHaveBeenCalled()
    expect(reported).toEqual([])
  })

  it('stops with CLOSED_BY_SERVER on 1002, naming the code and reason', () => {
    const { result } = plan({ close: { code: 1002, reason: 'bad frame', wasClean: true } })
    expect(stopCode(result)).toBe('CLOSED_BY_SERVER')
    if (result.action !== 'stop' || !result.error) throw new Error('expected a stop with an error')
    expect(result.error.message).toContain('1002 bad frame')
    expect(result.error.details).toEqual({ code: 1002 })
  })

  it('refreshes auth on an auth close when auth is configured', () => {
    const { result } = plan({
      close: { code: 4001, reason: 'token expired', wasClean: true },
      authConfigured: true,
    })
    expect(result).toEqual({
      action: 'retry',
      delayMs: 1000,
      floorMs: 0,
      failures: 1,
      step: 1,
      authFailures: 1,
      refreshAuth: true,
    })
  })

  it.each([4001, 4003, 4401, 4403, 3000])(
    'stops with UNAUTHORIZED on %i when no auth is configured',
    (code) => {
      const { result } = plan({ close: { code, reason: '', wasClean: true } })
      expect(stopCode(result)).toBe('UNAUTHORIZED')
    },
  )

  it('stops with UNAUTHORIZED on a second auth failure in a row', () => {
    const { result } = plan({
      close: { code: 4401, reason: '', wasClean: true },
      authConfigured: true,
      failures: 1,
      authFailures: 1,
    })
    expect(stopCode(result)).toBe('UNAUTHORIZED')
  })

  it('treats 1008 as an auth failure only when auth is configured', () => {
    const policyViolation = { code: 1008, reason: '', wasClean: true }
    expect(plan({ close: policyViolation, authConfigured: true }).result).toMatchObject({
      action: 'retry',
      refreshAuth: true,
    })
    expect(plan({ close: policyViolation }).result.action).toBe('stop')
  })

  it('gives up with RETRIES_EXHAUSTED once maxAttempts is reached, without asking the policy', () => {
    const retry = vi.fn<RetryPolicy>(() => 1000)
    expect(plan({ retry, failures: 2, maxAttempts: 3 }).result).toMatchObject({
      action: 'retry',
      failures: 3,
    })
    retry.mockClear()
    const { result } = plan({ retry, failures: 3, maxAttempts: 3 })
    expect(stopCode(result)).toBe('RETRIES_EXHAUSTED')
    expect(retry).not.toHaveBeenCalled()
    if (result.action === 'stop') expect(result.error?.details).toEqual({ attempts: 3 })
  })

  it('gives up when the policy returns null', () => {
    expect(stopCode(plan({ retry: () => null }).result)).toBe('RETRIES_EXHAUSTED')
    expect(stopCode(plan({ retry: fromDelays([10]), step: 1 }).result)).toBe('RETRIES_EXHAUSTED')
  })

  it('gives up when the policy returns something that is not a delay', () => {
    expect(stopCode(plan({ retry: () => -1 }).result)).toBe('RETRIES_EXHAUSTED')
    expect(stopCode(plan({ retry: () => Number.NaN }).result)).toBe('RETRIES_EXHAUSTED')
    expect(stopCode(plan({ retry: () => '5' as never }).result)).toBe('RETRIES_EXHAUSTED')
  })

  it('passes Infinity through: the socket then waits for a network or page signal', () => {
    expect(plan({ retry: () => Number.POSITIVE_INFINITY }).result).toMatchObject({
      action: 'retry',
      delayMs: Number.POSITIVE_INFINITY,
    })
  })

  it('counts a policy that throws as giving up, and reports the throw', () => {
    const boom = new Error('policy bug')
    const { result, reported } = plan({
      retry: () => {
        throw boom
      },
    })
    expect(stopCode(result)).toBe('RETRIES_EXHAUSTED')
    expect(reported).toHaveLength(1)
    expect(reported[0]?.code).toBe('HANDLER_FAILED')
    expect(reported[0]?.cause).toBe(boom)
  })

  it('lets shouldReconnect turn a stop into a retry', () => {
    const shouldReconnect = vi.fn(() => true)
    const close = { code: 1000, reason: 'bye', wasClean: true }
    const { result } = plan({ close, shouldReconnect })
    expect(shouldReconnect).toHaveBeenCalledWith(close)
    expect(result).toMatchObject({ action: 'retry', delayMs: 1000, refreshAuth: false })
  })

  it('lets shouldReconnect turn a retry into a stop', () => {
    const { result } = plan({ shouldReconnect: () => false })
    expect(stopCode(result)).toBe('CLOSED_BY_SERVER')
  })

  it('keeps the table verdict when shouldReconnect returns undefined', () => {
    expect(plan({ shouldReconnect: () => undefined }).result.action).toBe('retry')
    const protocolError = { code: 1002, reason: '', wasClean: true }
    expect(plan({ close: protocolError, shouldReconnect: () => undefined }).result.action).toBe(
      'stop',
    )
  })

  it('reports a throwing shouldReconnect and keeps the table verdict', () => {
    const boom = new Error('override bug')
    const shouldReconnect = () => {
      throw boom
    }
    const dropped = plan({ shouldReconnect })
    expect(dropped.result.action).toBe('retry')
    expect(dropped.reported.map((e) => e.code)).toEqual(['HANDLER_FAILED'])
    expect(dropped.reported[0]?.cause).toBe(boom)
    const protocolError = plan({
      close: { code: 1002, reason: '', wasClean: true },
      shouldReconnect,
    })
    expect(stopCode(protocolError.result)).toBe('CLOSED_BY_SERVER')
    expect(protocolError.reported).toHaveLength(1)
  })

  it('waits a retry-after hint in the close reason, then the policy delay on top', () => {
    const hinted = { code: 1012, reason: 'deploy; retry-after=30', wasClean: true }
    expect(plan({ close: hinted }).result).toMatchObject({
      action: 'retry',
      delayMs: 31_000,
      floorMs: 30_000,
    })
    expect(plan({ close: hinted, retry: () => 45_000 }).result).toMatchObject({
      delayMs: 75_000,
      floorMs: 30_000,
    })
  })

  it('spreads clients after the floor: jitter is never swallowed by it', () => {
    const hinted = { code: 1012, reason: 'retry-after=10', wasClean: true }
    const delays = Array.from({ length: 20 }, (_, i) => {
      const retry = exponentialBackoff({}, seededRandom(i + 1))
      // After a connection that stayed up: step 0, where a drop would get the quick retry.
      const { result } = plan({ close: hinted, retry, step: 0 })
      return result.action === 'retry' ? result.delayMs : -1
    })
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(12_000)
    // 20 clients, 20 different instants: the spread of the step-2 jitter, 2 s to 6 s.
    expect(new Set(delays).size).toBe(20)
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(2000)
  })

  it('waits 5 s after 1013 (try again later), then the policy delay', () => {
    const busy = { code: 1013, reason: '', wasClean: true }
    expect(plan({ close: busy, retry: () => 100 }).result).toMatchObject({
      delayMs: 5100,
      floorMs: 5000,
    })
    const busyWithHint = { code: 1013, reason: 'retry-after=12', wasClean: true }
    expect(plan({ close: busyWithHint, retry: () => 100 }).result).toMatchObject({
      delayMs: 12_100,
    })
  })
})
