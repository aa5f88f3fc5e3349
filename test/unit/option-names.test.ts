import { describe, expect, it } from 'vitest'
import { checkKeys } from '../../src/errors.ts'
import { expectSocketError } from '../helpers/unit-harness.ts'

const QUEUE = ['maxMessages', 'maxBytes', 'ttlMs', 'overflow']
const HEARTBEAT = ['intervalMs', 'timeoutMs', 'probeTimeoutMs', 'ping', 'isPong']

function message(prefix: string, value: object, allowed: string[]): string {
  return expectSocketError(() => checkKeys(prefix, value, allowed), 'INVALID_OPTIONS').message
}

// What a mistyped option name is answered with: the name meant, when it is plain which one.
describe('the name suggested for an unknown option', () => {
  it.each([
    [{ ttl: 1 }, 'ttlMs'], // a missing unit
    [{ maxByte: 1 }, 'maxBytes'], // a dropped letter
    [{ maxBytess: 1 }, 'maxBytes'], // an extra letter
    [{ MAXMESSAGES: 1 }, 'maxMessages'], // the wrong case
    [{ overflw: 'reject' }, 'overflow'],
  ])('%o: did you mean %s?', (value, meant) => {
    expect(message('queue.', value, QUEUE)).toBe(
      `unknown option queue.${Object.keys(value)[0]}; did you mean ${meant}?`,
    )
  })

  it('prefers the closest of several look-alikes', () => {
    expect(message('heartbeat.', { timeout: 1 }, HEARTBEAT)).toMatch(/did you mean timeoutMs\?$/)
    expect(message('heartbeat.', { probeTimeout: 1 }, HEARTBEAT)).toMatch(
      /did you mean probeTimeoutMs\?$/,
    )
  })

  it('lists the options instead of guessing from a fragment', () => {
    for (const key of ['m', 'ms', 'size', 'maxQueueLength']) {
      expect(message('queue.', { [key]: 1 }, QUEUE)).toBe(
        `unknown option queue.${key}; the options are maxMessages, maxBytes, ttlMs, overflow`,
      )
    }
  })
})
