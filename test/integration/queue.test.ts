import { describe, expect, it } from 'vitest'
import { delay, integrationHarness, record, settle, waitFor } from './helpers.ts'

const h = integrationHarness()

interface Seq {
  incoming: { seq: { n: number }; bulk: { n: number; payload: string } }
  outgoing: { seq: { n: number }; bulk: { n: number; payload: string } }
}

/** Checks that the server got exactly `count` messages numbered 0..count-1, in order. */
function expectInOrderOnce(
  received: { type: string; data: unknown }[],
  type: string,
  count: number,
) {
  expect(received).toHaveLength(count)
  const numbers = received.map((m) => (m.type === type ? (m.data as { n: number }).n : -1))
  expect(numbers).toEqual(Array.from({ length: count }, (_, i) => i))
}

describe('the offline send queue against the reference server', () => {
  it('delivers 1,000 messages sent during a 3 s outage exactly once and in order', async () => {
    const server = await h.server()
    const socket = h.socket<Seq>(server.url) // default queue: 1,000 messages, 1 MiB
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')

    const downAt = Date.now()
    await server.stop()
    await waitFor(() => socket.state === 'reconnecting', 5000, 'reconnecting')

    // 20 bursts of 50, spread over the outage, while the client keeps retrying.
    const results = new Set<string>()
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 50; i++) results.add(socket.send('seq', { n: burst * 50 + i }))
      await delay(140)
    }
    await delay(Math.max(0, 3000 - (Date.now() - downAt)))
    const outageMs = Date.now() - downAt
    expect([...results]).toEqual(['queued'])
    expect(socket.stats.queuedMessages).toBe(1000)
    expect(socket.state).not.toBe('open')
    const failedAttempts = rec.of('error').filter((e) => e.code === 'CONNECTION_FAILED').length
    expect(failedAttempts).toBeGreaterThan(0)

    await server.start()
    const upAt = Date.now()
    await waitFor(() => rec.of('open').length === 2, 5000, 'reopen')
    const openAt = rec.times('open')[1] as number
    const all = await server.control.waitForReceived(1000, 15_000)
    const lastAt = (all.at(-1)?.at ?? Number.NaN) as number

    await delay(300) // anything extra (a duplicate) would have arrived by now
    const received = server.control.received()
    expectInOrderOnce(received, 'seq', 1000)
    expect(new Set(received.map((m) => m.connectionId)).size).toBe(1)
    expect(rec.of('drop')).toEqual([])
    expect(socket.stats.queuedMessages).toBe(0)

    console.log(
      `[queue] outage ${outageMs} ms, ${failedAttempts} refused attempts meanwhile; ` +
        `server up → open ${openAt - upAt} ms, server up → all 1000 received ${lastAt - upAt} ms`,
    )
  })

  it('holds sends while the socket buffer is above the high-water mark, and loses nothing', async () => {
    const highWaterMarkBytes = 64 * 1024
    const server = await h.server()
    const socket = h.socket<Seq>(server.url, {
      highWaterMarkBytes,
      queue: { maxMessages: 10_000, maxBytes: 64 * 1024 * 1024 },
    })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')
    server.control.pauseReading(true)

    // Until the kernel buffers between the two ends are full, writes are accepted and
    // bufferedAmount falls back to 0 once the event loop runs. After that it can only grow.
    const payload = 'x'.repeat(32 * 1024)
    const maxSends = 4000 // 128 MiB: far beyond any loopback socket buffer
    let n = 0
    let result = socket.send('bulk', { n: n++, payload })
    while (result === 'sent' && n < maxSends) {
      await delay(1) // lets undici's write callbacks lower bufferedAmount while it can
      result = socket.send('bulk', { n: n++, payload })
    }
    // With the queue empty and the socket open, 'queued' can only mean bufferedAmount > mark.
    expect(result, `bufferedAmount never exceeded ${highWaterMarkBytes} bytes`).toBe('queued')
    const sentBeforeHold = n - 1
    const bytesBeforeHold = sentBeforeHold * payload.length

    const held = 40
    for (let i = 0; i < held; i++) expect(socket.send('bulk', { n: n++, payload })).toBe('queued')
    const total = n
    expect(socket.stats.queuedMessages).toBe(held + 1)

    let flushedAt = 0
    const flushed = settle(socket.flush()).then((outcome) => {
      flushedAt = outcome.at
      return outcome
    })
    await delay(500)
    // Still paused: nothing was released, nothing was received, flush() waits.
    expect(flushedAt).toBe(0)
    expect(socket.stats.queuedMessages).toBe(held + 1)
    expect(server.control.received().length).toBeLessThan(total)

    const resumedAt = Date.now()
    server.control.pauseReading(false)
    await waitFor(() => flushedAt > 0, 15_000, 'flush() to resolve')
    expect((await flushed).ok).toBe(true)
    expect(flushedAt).toBeGreaterThanOrEqual(resumedAt)
    expect(socket.stats.queuedMessages).toBe(0)

    await server.control.waitForReceived(total, 20_000)
    const allReceivedAt = Date.now()
    await delay(300)
    expectInOrderOnce(server.control.received(), 'bulk', total)
    expect(rec.of('drop')).toEqual([])
    expect(rec.of('close')).toEqual([])
    expect(socket.state).toBe('open')

    console.log(
      `[queue] backpressure: ${sentBeforeHold} × 32 KiB (${(bytesBeforeHold / 1048576).toFixed(1)} MiB) ` +
        `written before bufferedAmount passed ${highWaterMarkBytes} B; ${held + 1} held; after resume: ` +
        `flush() ${flushedAt - resumedAt} ms, all ${total} received ${allReceivedAt - resumedAt} ms`,
    )
  })
})
