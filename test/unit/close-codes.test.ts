import { describe, expect, it } from 'vitest'
import { type CloseAction, classifyClose } from '../../src/index.ts'
// The retry-after hint is applied by planReconnect (internal, pure): tested through it.
import { planReconnect } from '../../src/retry-policy.ts'

// code, verdict without auth, verdict with auth configured, floor for the next delay.
const TABLE: [number, CloseAction, CloseAction, number | undefined][] = [
  [1000, 'stop', 'stop', undefined], // normal closure by the server
  [1001, 'reconnect', 'reconnect', undefined], // going away (server restart, deploy)
  [1002, 'stop', 'stop', undefined], // protocol error
  [1003, 'stop', 'stop', undefined], // unsupported data
  [1005, 'reconnect', 'reconnect', undefined], // no status received
  [1006, 'reconnect', 'reconnect', undefined], // abnormal: dropped, refused, cut
  [1007, 'stop', 'stop', undefined], // invalid payload data
  [1008, 'stop', 'refresh-auth', undefined], // policy violation: usually a rejected credential
  [1009, 'stop', 'stop', undefined], // message too big
  [1010, 'stop', 'stop', undefined], // mandatory extension missing
  [1011, 'reconnect', 'reconnect', undefined], // internal server error
  [1012, 'reconnect', 'reconnect', undefined], // service restart
  [1013, 'reconnect', 'reconnect', 5000], // try again later: never sooner than 5 s
  [1014, 'reconnect', 'reconnect', undefined], // bad gateway
  [1015, 'stop', 'stop', undefined], // TLS handshake failure
  [3000, 'stop', 'refresh-auth', undefined], // IANA: unauthorized
  [3001, 'reconnect', 'reconnect', undefined], // unlisted registered code
  [3003, 'stop', 'refresh-auth', undefined], // IANA: forbidden
  [4000, 'reconnect', 'reconnect', undefined], // the library's heartbeat timeout
  [4001, 'stop', 'refresh-auth', undefined],
  [4002, 'reconnect', 'reconnect', undefined], // unlisted application code
  [4003, 'stop', 'refresh-auth', undefined],
  [4401, 'stop', 'refresh-auth', undefined],
  [4403, 'stop', 'refresh-auth', undefined],
  [4500, 'reconnect', 'reconnect', undefined],
  [4999, 'reconnect', 'reconnect', undefined],
]

describe('classifyClose', () => {
  it.each(TABLE)('%i: %s without auth, %s with auth', (code, withoutAuth, withAuth, floor) => {
    const expectedWithout =
      floor === undefined ? { action: withoutAuth } : { action: withoutAuth, minDelayMs: floor }
    const expectedWith =
      floor === undefined ? { action: withAuth } : { action: withAuth, minDelayMs: floor }
    expect(classifyClose(code, false)).toEqual(expectedWithout)
    expect(classifyClose(code, true)).toEqual(expectedWith)
  })

  it('reconnects on any code the table does not list', () => {
    for (const code of [1004, 1016, 2000, 2999, 3500, 3999, 4004, 4100, 4402, 4998]) {
      expect(classifyClose(code, false)).toEqual({ action: 'reconnect' })
      expect(classifyClose(code, true)).toEqual({ action: 'reconnect' })
    }
  })
})

describe('retry-after hint in the close reason', () => {
  // With a policy that asks for no delay at all, the planned delay is exactly the hint.
  function hintedDelay(reason: string): number | null {
    const plan = planReconnect(
      {
        close: { code: 1012, reason, wasClean: true },
        authConfigured: false,
        shouldReconnect: undefined,
        failures: 0,
        step: 0,
        authFailures: 0,
        maxAttempts: Number.POSITIVE_INFINITY,
        retry: () => 0,
        elapsedMs: 0,
        online: true,
      },
      () => {},
    )
    return plan.action === 'retry' ? plan.delayMs : null
  }

  it.each([
    ['retry-after=30', 30_000],
    ['Retry-After: 2.5', 2500],
    ['RETRY-AFTER=1', 1000],
    ['deploy in progress; retry-after = 7', 7000],
    ['retry-after=0', 0],
    // Capped at an hour so a misconfigured server cannot park clients for days.
    ['retry-after=999999', 3_600_000],
  ])('parses %j as %i ms', (reason, ms) => {
    expect(hintedDelay(reason)).toBe(ms)
  })

  it.each([
    '',
    'going away',
    'retry-after=',
    'retry-after=soon',
    'retry-after=-5',
    'retry after 30',
  ])('ignores %j', (reason) => {
    expect(hintedDelay(reason)).toBe(0)
  })
})
