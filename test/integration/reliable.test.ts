import { describe, expect, it } from 'vitest'
import {
  type DeliveryStats,
  ReconnectingSocket,
  reliable,
  requests,
  type SessionLost,
} from '../../src/index.ts'
import { startCompanion } from '../companion/helpers.ts'
import { expectExactly } from '../helpers/exactly.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { seededRandom } from '../helpers/unit-harness.ts'
import { delay, waitFor } from './helpers.ts'

// The reliable mode end to end: the real client against the companion server, through a TCP
// proxy that resets both sides of every connection at random moments. Loops are bounded by
// count, waits by time.

const FAST = { initialDelayMs: 20, maxDelayMs: 100, quickRetryMs: 10 }

async function stream(seed: number, messages: number, cuts: number) {
  const upstream: number[] = []
  let sid: string | undefined
  const companion = await startCompanion({})
  companion.server.on('up', (data, ctx) => {
    sid = ctx.sid
    upstream.push((data as { n: number }).n)
  })
  const proxy = await startTcpProxy(Number(new URL(companion.url).port))
  const socket = new ReconnectingSocket(proxy.url, {
    reliable: reliable(),
    retry: FAST,
    network: false,
  })
  const downstream: number[] = []
  const lostSessions: SessionLost[] = []
  socket.onMessage('down', (data) => downstream.push((data as { n: number }).n))
  socket.on('sessionlost', (event) => lostSessions.push(event))
  let resumes = 0
  let delivery: DeliveryStats | undefined
  socket.on('open', ({ resumed }) => {
    if (resumed) resumes++
  })
  const random = seededRandom(seed)
  const cutAt = new Set(Array.from({ length: cuts }, () => 1 + Math.floor(random() * messages)))
  try {
    await waitFor(() => socket.state === 'open', 5000)
    socket.send('up', { n: 0 }) // tells the server the sid; not counted
    await waitFor(() => sid !== undefined, 5000)
    upstream.length = 0
    for (let n = 1; n <= messages; n++) {
      socket.send('up', { n })
      await companion.server.sendTo(sid as string, 'down', { n })
      if (cutAt.has(n)) proxy.cut()
      if (n % 10 === 0) await delay(1)
    }
    await waitFor(() => upstream.length >= messages && downstream.length >= messages, 20_000)
    await delay(50) // a duplicate would arrive now
    delivery = socket.stats.delivery
  } finally {
    socket.close()
    await proxy.close()
  }
  expectExactly(upstream, messages, 'client → server')
  expectExactly(downstream, messages, 'server → client')
  expect(lostSessions).toEqual([])
  // The cuts happened (two close together may fall on one connection), and each resumed.
  expect(socket.stats.reconnects).toBeGreaterThanOrEqual(Math.min(2, cutAt.size))
  expect(resumes).toBe(socket.stats.reconnects)
  // The counters say the same (read before close(), which ends the session).
  expect(delivery).toMatchObject({ resumes, sessionsLost: 0, inDoubt: 0 })
  expect(delivery?.sent).toBe(messages + 1)
  expect(delivery?.acked).toBeLessThanOrEqual(messages + 1)
  expect(delivery?.sent).toBe((delivery?.acked ?? 0) + (delivery?.unacked ?? 0))
}

describe('the reliable mode through a proxy that resets both sides', () => {
  // reliable-cuts.test.ts runs 5,000 each way for 3 seeds; this one also checks the counters.
  it.each([1])(
    '2,000 messages each way, 5 cuts, seed %i: 0 lost, 0 duplicated, 0 reordered',
    async (seed) => {
      await stream(seed, 2000, 5)
    },
  )

  it('delivers a burst five times the window whole: sends wait for acks, then go', async () => {
    const companion = await startCompanion({})
    companion.server.on('m', async (data, ctx) => {
      await ctx.send('m', data)
    })
    const socket = new ReconnectingSocket(companion.url, { reliable: reliable(), network: false })
    const echoed: number[] = []
    socket.onMessage('m', (data) => echoed.push(data as number))
    try {
      await waitFor(() => socket.state === 'open', 5000)
      // 5,000 sends at once against a window of 1,000: the log is compacted on the way, which
      // once hid the room an ack made and left 3,001 sends waiting for ever.
      for (let n = 1; n <= 5000; n++) socket.send('m', n)
      expect(socket.stats.queuedMessages).toBe(4000)
      await waitFor(() => echoed.length === 5000, 15_000, 'every echo')
      expectExactly(echoed, 5000, 'round trip')
      expect(socket.stats.delivery?.sent).toBe(5000)
    } finally {
      socket.close()
    }
  })

  it('resumes with open.resumed, and a request in flight across a cut resolves once', async () => {
    let calls = 0
    const companion = await startCompanion({
      handlers: {
        slow: async (data) => {
          calls++
          await delay(100)
          return data
        },
      },
    })
    const proxy = await startTcpProxy(Number(new URL(companion.url).port))
    const socket = new ReconnectingSocket(proxy.url, {
      reliable: reliable(),
      requests: requests({ timeoutMs: 10_000 }),
      retry: FAST,
      network: false,
    })
    const opens: boolean[] = []
    socket.on('open', ({ resumed }) => opens.push(resumed))
    try {
      await waitFor(() => socket.state === 'open', 5000)
      const answer = socket.request('slow', 42)
      await delay(30)
      proxy.cut()
      expect(await answer).toBe(42)
      expect(calls).toBe(1)
      expect(opens).toEqual([false, true])
    } finally {
      socket.close()
      await proxy.close()
    }
  })

  it('reports exactly the frames in doubt when the server lost the session (a restart with a memory store)', async () => {
    const first = await startCompanion({})
    const received: number[] = []
    first.server.on('up', (data) => received.push((data as { n: number }).n))
    let url = first.url
    const socket = new ReconnectingSocket(() => url, {
      reliable: reliable(),
      retry: FAST,
      network: false,
    })
    const lost: SessionLost[] = []
    const opens: boolean[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    socket.on('open', ({ resumed }) => opens.push(resumed))
    try {
      await waitFor(() => socket.state === 'open', 5000)
      for (let n = 1; n <= 5; n++) socket.send('up', { n })
      await waitFor(() => received.length === 5, 5000)
      await delay(400) // the server's ack (200 ms after the first unacknowledged frame) is back
      // Written, and the server dies before it can acknowledge them.
      for (let n = 6; n <= 8; n++) socket.send('up', { n })
      await first.crash()
      const second = await startCompanion({})
      const again: number[] = []
      second.server.on('up', (data) => again.push((data as { n: number }).n))
      url = second.url
      await waitFor(() => lost.length === 1 && socket.state === 'open', 10_000)
      socket.send('up', { n: 9 })
      await waitFor(() => again.length === 1, 5000)
      const [event] = lost
      const inDoubt = (event?.inDoubt ?? []).map((frame) => JSON.parse(frame.data as string).data.n)
      expect(event).toMatchObject({ reason: 'unknown-session', rolledBack: [], lostBeyond: false })
      expect(event?.sid).not.toBe(event?.previousSid)
      // In doubt: exactly what was written and never acknowledged. Everything else the first
      // server had received and acknowledged.
      expect(inDoubt).toEqual([6, 7, 8])
      expect(received.slice(0, 5)).toEqual([1, 2, 3, 4, 5])
      expect(received.filter((n) => n > 5).every((n) => inDoubt.includes(n))).toBe(true)
      // Nothing is resent on its own: the new session starts at seq 1 with the next send.
      expect(again).toEqual([9])
      expect(opens).toEqual([false, false])
      expect(socket.stats.delivery).toMatchObject({ sessionsLost: 1, inDoubt: 3, resumes: 0 })
    } finally {
      socket.close()
    }
  })
})
