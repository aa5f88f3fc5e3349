import { describe, expect, it } from 'vitest'
import {
  heartbeat,
  ReconnectingSocket,
  type ReconnectReason,
  type ReliableOptions,
  reliable,
  requests,
  type SessionLost,
} from '../../src/index.ts'
import { type Companion, startCompanion } from '../companion/helpers.ts'
import { expectExactly } from '../helpers/exactly.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { seededRandom } from '../helpers/unit-harness.ts'
import { delay, waitFor } from './helpers.ts'

// The reliable mode end to end, where cuts hurt most: right after each reconnect (before,
// during and after `$session` and the replay), in the middle of a long replay, on a half-open
// link that only the heartbeat finds, under requests in flight, and in a long stream with
// random cuts. The real client, the companion server, and a TCP proxy that resets both
// sides. Every loop is bounded in count, every wait in time.

const FAST = { initialDelayMs: 20, maxDelayMs: 100, quickRetryMs: 10 }

interface Rig {
  companion: Companion
  proxy: TcpProxy
  socket: ReconnectingSocket
  /** What the server's `up` listener got, and what the client's `down` handler got. */
  upstream: number[]
  downstream: number[]
  lostSessions: SessionLost[]
  reasons: ReconnectReason[]
  /** `open` events with `resumed: true`. */
  resumes(): number
  /** The session id, once the server has seen a frame of it. */
  sid(): string
  /** One message each way, numbered `n`. */
  both(n: number): Promise<void>
  close(): Promise<void>
}

async function rig(rel: ReliableOptions = {}): Promise<Rig> {
  const upstream: number[] = []
  const downstream: number[] = []
  let sid: string | undefined
  const companion = await startCompanion({})
  companion.server.on('up', (data, ctx) => {
    sid = ctx.sid
    const { n } = data as { n: number }
    if (n > 0) upstream.push(n)
  })
  const proxy = await startTcpProxy(Number(new URL(companion.url).port))
  const socket = new ReconnectingSocket(proxy.url, {
    reliable: reliable(rel),
    retry: FAST,
    network: false,
  })
  const lostSessions: SessionLost[] = []
  const reasons: ReconnectReason[] = []
  let resumes = 0
  socket.onMessage('down', (data) => downstream.push((data as { n: number }).n))
  socket.on('sessionlost', (event) => lostSessions.push(event))
  socket.on('reconnecting', ({ reason }) => reasons.push(reason))
  socket.on('open', ({ resumed }) => {
    if (resumed) resumes++
  })
  await waitFor(() => socket.state === 'open', 5000, 'the first open')
  socket.send('up', { n: 0 }) // tells the test the sid; not counted
  await waitFor(() => sid !== undefined, 5000, 'the sid')
  return {
    companion,
    proxy,
    socket,
    upstream,
    downstream,
    lostSessions,
    reasons,
    resumes: () => resumes,
    sid: () => sid as string,
    async both(n) {
      socket.send('up', { n })
      // A client away for longer than the server's window (1,000 frames) makes sendTo fail
      // with UNACKED_LIMIT rather than drop anything: an application waits and sends again.
      for (let attempt = 0; ; attempt++) {
        try {
          await companion.server.sendTo(sid as string, 'down', { n })
          return
        } catch (error) {
          const code = (error as { code?: string }).code
          if (code !== 'UNACKED_LIMIT' || attempt >= 2000) throw error
          await delay(5)
        }
      }
    },
    async close() {
      socket.close()
      await proxy.close()
    },
  }
}

/** Sends 1..n each way at about one per millisecond (paced against the wall clock). */
async function stream(r: Rig, n: number, each?: (i: number) => void): Promise<void> {
  const started = Date.now()
  for (let i = 1; i <= n; i++) {
    await r.both(i)
    each?.(i)
    // Ahead of one per ms: wait. Behind (a loaded machine): catch up without waiting.
    if (i - (Date.now() - started) > 0) await delay(1)
  }
}

async function expectDelivered(r: Rig, n: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    () => r.upstream.length >= n && r.downstream.length >= n,
    timeoutMs,
    `${n} messages each way (got ${r.upstream.length} up, ${r.downstream.length} down)`,
  )
  await delay(100) // a duplicate would arrive now
  expectExactly(r.upstream, n, 'client → server')
  expectExactly(r.downstream, n, 'server → client')
  expect(r.lostSessions).toEqual([])
}

describe('cuts right after each reconnect', () => {
  it.each([1, 5, 30])(
    'cut %i ms after each of 6 new connections, while streaming: 0 lost, 0 duplicated',
    async (afterMs) => {
      const r = await rig()
      let cuts = 0
      // The proxy sees the TCP connection first: 1 ms falls in the upgrade or `$resume`,
      // 5 ms around `$session` and the replays, 30 ms in the traffic after them.
      r.proxy.onConnection(() => {
        if (cuts >= 6) return
        setTimeout(() => {
          cuts++
          r.proxy.cut()
        }, afterMs)
      })
      try {
        r.proxy.cut()
        await stream(r, 1500)
        await waitFor(() => cuts >= 6, 10_000, 'six cuts')
        await expectDelivered(r, 1500)
        // Every open after the first resumed the session; none started over.
        expect(r.resumes()).toBe(r.socket.stats.reconnects)
        expect(r.socket.stats.reconnects).toBeGreaterThanOrEqual(1)
      } finally {
        await r.close()
      }
    },
  )

  it('cut 1 ms after each open (the session resumed, its replay just written): 0 lost, 0 duplicated', async () => {
    const r = await rig()
    let cuts = 0
    r.socket.on('open', () => {
      if (cuts >= 5) return
      setTimeout(() => {
        cuts++
        r.proxy.cut()
      }, 1)
    })
    try {
      r.proxy.cut()
      await stream(r, 1500)
      await waitFor(() => cuts >= 5, 10_000, 'five cuts')
      await expectDelivered(r, 1500)
      expect(r.resumes()).toBeGreaterThanOrEqual(5)
    } finally {
      await r.close()
    }
  })
})

describe('a cut in the middle of a replay', () => {
  it('600 unacked frames each way replayed, cut part way through both replays: 0 lost, 0 duplicated', async () => {
    const r = await rig()
    const cutOnce = (() => {
      let done = false
      return () => {
        if (done) return
        done = true
        r.proxy.cut()
      }
    })()
    try {
      // Written, never delivered, never acknowledged: both sides hold 600 for replay.
      r.proxy.blackhole(true)
      for (let n = 1; n <= 600; n++) await r.both(n)
      await delay(50)
      expect(r.upstream).toEqual([])
      expect(r.downstream).toEqual([])
      r.proxy.cut()
      r.proxy.blackhole(false)
      // Cut again as soon as either replay is under way.
      await waitFor(
        () => {
          if (r.upstream.length >= 100 || r.downstream.length >= 100) cutOnce()
          return r.upstream.length >= 100 || r.downstream.length >= 100
        },
        10_000,
        'the replay under way',
      )
      await expectDelivered(r, 600)
      expect(r.resumes()).toBeGreaterThanOrEqual(2)
    } finally {
      await r.close()
    }
  })
})

describe('a half-open link', () => {
  it('a black hole found by the heartbeat, then resumed: 0 lost, 0 duplicated both ways', async () => {
    const r = await rig({ heartbeat: heartbeat({ intervalMs: 200, timeoutMs: 400 }) })
    try {
      for (let n = 1; n <= 100; n++) await r.both(n)
      await expectDelivered(r, 100)
      // The link heals the moment the heartbeat gives up on it, before the next attempt
      // connects (an attempt made into the black hole would lose its upgrade request).
      r.socket.on('reconnecting', ({ reason }) => {
        if (reason === 'heartbeat-timeout') r.proxy.blackhole(false)
      })
      r.proxy.blackhole(true)
      // Into the void: no FIN, no reset, nothing comes back.
      for (let n = 101; n <= 200; n++) await r.both(n)
      await waitFor(() => r.reasons.includes('heartbeat-timeout'), 5000, 'the heartbeat verdict')
      await waitFor(() => r.resumes() >= 1, 5000, 'the resume')
      for (let n = 201; n <= 300; n++) await r.both(n)
      await expectDelivered(r, 300)
      expect(r.reasons[0]).toBe('heartbeat-timeout')
    } finally {
      await r.close()
    }
  })
})

describe('requests across cuts', () => {
  it('40 requests in flight across 4 cuts each resolve once with their answer, and run once', async () => {
    const calls = new Map<number, number>()
    const companion = await startCompanion({
      handlers: {
        work: async (data) => {
          const { i } = data as { i: number }
          calls.set(i, (calls.get(i) ?? 0) + 1)
          await delay(20 + (i % 5) * 30)
          return { i }
        },
      },
    })
    const proxy = await startTcpProxy(Number(new URL(companion.url).port))
    const socket = new ReconnectingSocket(proxy.url, {
      reliable: reliable(),
      requests: requests({ timeoutMs: 20_000 }),
      retry: FAST,
      network: false,
    })
    try {
      await waitFor(() => socket.state === 'open', 5000, 'the first open')
      const outcomes: (number | string)[] = []
      const settled: Promise<void>[] = []
      for (let i = 0; i < 40; i++) {
        settled.push(
          socket.request('work', { i }).then(
            (value) => {
              outcomes.push((value as { i: number }).i)
            },
            (error: { code?: string }) => {
              outcomes.push(`rejected ${error.code}`)
            },
          ),
        )
        if (i % 10 === 9) {
          await delay(40)
          proxy.cut()
        } else await delay(3)
      }
      await Promise.all(settled)
      expect(outcomes.filter((o) => typeof o === 'string')).toEqual([])
      expect([...outcomes].sort((a, b) => (a as number) - (b as number))).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      )
      expect([...calls.entries()].filter(([, count]) => count !== 1)).toEqual([])
      expect(calls.size).toBe(40)
      expect(socket.stats.reconnects).toBeGreaterThanOrEqual(3)
    } finally {
      socket.close()
      await proxy.close()
    }
  })
})

describe('a long stream with random cuts', () => {
  it.each([1, 2, 3])(
    '5,000 messages each way at about 1/ms, 5 random cuts, seed %i: 0 lost, 0 duplicated, 0 reordered',
    async (seed) => {
      const n = 5000
      const random = seededRandom(seed)
      const cutAt = new Set(Array.from({ length: 5 }, () => 1 + Math.floor(random() * n)))
      const r = await rig()
      try {
        await stream(r, n, (i) => {
          if (cutAt.has(i)) r.proxy.cut()
        })
        await expectDelivered(r, n)
        // Two cuts close together may fall on one connection; each reconnect resumed.
        expect(r.socket.stats.reconnects).toBeGreaterThanOrEqual(Math.min(2, cutAt.size))
        expect(r.resumes()).toBe(r.socket.stats.reconnects)
      } finally {
        await r.close()
      }
    },
    30_000,
  )
})
