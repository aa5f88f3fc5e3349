import { ENTRIES, EVENT_TIMEOUT_MS, expect, test } from './fixtures.ts'

// The reliable mode in real browsers, through the reference server (resilient-socket/server):
// a stream each way across server-side cuts arrives exactly once and in order. Upstream,
// the page sends numbered `seq` events that the server logs (and echoes back); downstream,
// the echoes plus `push` frames the server sends into the session, some while it is
// detached (between a cut and the resume).

const UP_COUNT = 400
const UP_INTERVAL_MS = 5
const CUTS = 3
const PUSHES_PER_CUT = 20

/** 1, 2, …, count: what arrives when nothing is lost, duplicated or reordered. */
const oneTo = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1)

for (const entry of ENTRIES) {
  test(`${entry}: a stream across server-side cuts arrives exactly once, both ways`, async ({
    openApp,
    server,
  }) => {
    test.setTimeout(90_000)
    const { control } = server
    const app = await openApp(entry)
    await app.create({ reliable: {}, retryDelayMs: 100, listen: ['seq', 'push'] })
    await app.waitForEvent('open', { reconnected: false, resumed: false })
    const [first] = await control.waitForConnections(1)
    const sid = control.sessionOf(first as string)
    expect(sid).toEqual(expect.any(String))

    await app.page.evaluate(([count, interval]) => window.e2e.startStream('seq', count, interval), [
      UP_COUNT,
      UP_INTERVAL_MS,
    ] as const)
    const receivedSeqs = () => control.received().filter((m) => m.type === 'seq').length
    let pushed = 0
    for (let cut = 1; cut <= CUTS; cut++) {
      // Cut while frames flow both ways: some are on the wire, some unacknowledged.
      await expect
        .poll(receivedSeqs, { timeout: EVENT_TIMEOUT_MS })
        .toBeGreaterThanOrEqual((cut * UP_COUNT) / (CUTS + 1))
      expect(control.dropAll()).toBeGreaterThan(0)
      // Into the detached session: kept by the server, delivered on the resume.
      for (let i = 0; i < PUSHES_PER_CUT; i++) {
        pushed += 1
        await control.sendTo(sid as string, 'push', { n: pushed })
      }
      await expect
        .poll(async () => (await app.events('open')).filter((e) => e.resumed).length, {
          timeout: EVENT_TIMEOUT_MS,
        })
        .toBe(cut)
    }
    await expect
      .poll(() => app.page.evaluate(() => window.e2e.streamResults().done), {
        timeout: EVENT_TIMEOUT_MS,
      })
      .toBe(true)
    const results = await app.page.evaluate(() => window.e2e.streamResults().results)
    expect(results.filter((r) => r === 'dropped')).toEqual([])

    // Upstream: the server handled each frame once, in order, all in the one session.
    await control.waitForReceived(UP_COUNT, EVENT_TIMEOUT_MS)
    await expect.poll(receivedSeqs, { timeout: EVENT_TIMEOUT_MS }).toBe(UP_COUNT)
    const upstream = control.received().filter((m) => m.type === 'seq')
    expect(upstream.map((m) => (m.data as { n: number }).n)).toEqual(oneTo(UP_COUNT))
    expect(new Set(upstream.map((m) => m.deliveryId?.split(':')[0]))).toEqual(new Set([sid]))

    // Downstream: every echo and every push once, in order.
    const echoes = await app.waitForMessages('seq', UP_COUNT)
    const pushes = await app.waitForMessages('push', pushed)
    expect(echoes.map((m) => (m.data as { n: number }).n)).toEqual(oneTo(UP_COUNT))
    expect(pushes.map((m) => (m.data as { n: number }).n)).toEqual(oneTo(pushed))

    // Every cut was resumed, none lost the session; the socket's own counters agree.
    expect(await app.events('sessionlost')).toEqual([])
    const opens = await app.events('open')
    expect(opens.map((e) => e.resumed)).toEqual([false, ...Array(CUTS).fill(true)])
    const { delivery } = (await app.stats()) as unknown as {
      delivery: { sent: number; resumes: number; duplicates: number; inDoubt: number }
    }
    expect(delivery.sent).toBe(UP_COUNT)
    expect(delivery.resumes).toBe(CUTS)
    expect(delivery.inDoubt).toBe(0)
  })
}
