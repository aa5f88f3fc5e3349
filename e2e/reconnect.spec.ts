import { ENTRIES, EVENT_TIMEOUT_MS, expect, test } from './fixtures.ts'

// Connection loss in a real browser: a server restart, an outage with sends queued, a
// server that goes silent, and the browser going offline.

for (const entry of ENTRIES) {
  test.describe(`${entry} entry`, () => {
    test('reconnects after the server restarts, and reports reconnected: true', async ({
      openApp,
      server,
    }) => {
      const app = await openApp(entry)
      // The library's own exponential backoff with full jitter, scaled down for the test.
      await app.create({ retry: { initialDelayMs: 100, maxDelayMs: 1000 } })
      expect(await app.waitForEvent('open')).toMatchObject({ reconnected: false })

      await server.control.restart(1000)

      expect(await app.waitForEvent('close')).toMatchObject({ code: 1006, willReconnect: true })
      expect(await app.waitForEvent('reconnecting')).toMatchObject({ reason: 'connection-lost' })
      expect(await app.waitForEvent('open', { reconnected: true })).toBeTruthy()
      expect(await app.events('open')).toHaveLength(2)
      expect(await app.request('echo', 'after restart')).toEqual({
        ok: true,
        data: 'after restart',
      })
      expect(await app.stats()).toMatchObject({ opens: 2, reconnects: 1 })
      expect(server.accepted()).toBe(2)
      expect(await app.snapshot()).toMatchObject({ state: 'open', attempt: expect.any(Number) })
    })

    test('200 sends during an outage arrive once each, in order, after it', async ({
      openApp,
      server,
    }) => {
      const app = await openApp(entry)
      await app.create({ retryDelayMs: 300 })
      await app.waitForEvent('open')

      await server.reference.stop()
      await app.waitForEvent('close', { willReconnect: true })
      const results = await app.sendSequence('seq', 200)
      expect(results).toEqual(Array(200).fill('queued'))
      // Stay down long enough for attempts to fail against the closed port.
      await app.waitForEvent('reconnecting', { reason: 'attempt-failed' })
      await expect.poll(async () => (await app.snapshot()).queuedMessages).toBe(200)
      expect(server.control.received()).toEqual([])

      await server.reference.start()
      await app.waitForEvent('open', { reconnected: true })
      // A request sent after the queue travels behind it on the same connection, so once
      // its answer is back every queued message has reached the server.
      expect(await app.request('echo', 'barrier')).toEqual({ ok: true, data: 'barrier' })

      const seq = server.control.received().filter((m) => m.type === 'seq')
      expect(seq.map((m) => (m.data as { n: number }).n)).toEqual(
        Array.from({ length: 200 }, (_, n) => n),
      )
      expect(new Set(seq.map((m) => m.connectionId)).size).toBe(1)
      expect(await app.snapshot()).toMatchObject({ state: 'open', queuedMessages: 0 })
      expect(await app.events('drop')).toEqual([])
    })

    test('the heartbeat notices a server gone silent and reconnects', async ({
      openApp,
      server,
    }, testInfo) => {
      const app = await openApp(entry)
      await app.create({ heartbeat: { intervalMs: 1000, timeoutMs: 1000 }, retryDelayMs: 200 })
      await app.waitForEvent('open')
      // Pongs flow while the server answers.
      expect(await app.waitForEvent('heartbeat')).toMatchObject({ rttMs: expect.any(Number) })
      const acceptedBefore = server.accepted()

      const silencedAt = await app.page.evaluate(() => performance.now())
      expect(server.control.silence(true)).toBe(1)

      const close = await app.waitForEvent('close')
      expect(close).toMatchObject({ code: 4000, reason: 'heartbeat timeout', willReconnect: true })
      const detectedAt = await app.page.evaluate(() => performance.now())
      testInfo.annotations.push({
        type: 'heartbeat detection',
        description: `at most ${Math.round(detectedAt - silencedAt)} ms after silence (interval 1000 + timeout 1000)`,
      })
      expect(await app.waitForEvent('reconnecting')).toMatchObject({
        reason: 'heartbeat-timeout',
      })
      await app.waitForEvent('open', { reconnected: true })
      expect(server.accepted()).toBe(acceptedBefore + 1)
      // The new connection is not silenced: requests and pongs work again.
      expect(await app.request('echo', 'alive')).toEqual({ ok: true, data: 'alive' })
      await expect
        .poll(async () => (await app.events('heartbeat')).filter((e) => e.at > close.at).length, {
          timeout: EVENT_TIMEOUT_MS,
        })
        .toBeGreaterThan(0)
    })

    test('makes no attempt while offline, and one at once when back online', async ({
      openApp,
      server,
      context,
    }) => {
      const app = await openApp(entry)
      // A short fixed delay: if going offline did not pause the attempts, several would
      // reach the server during the watch below.
      await app.create({ retryDelayMs: 100 })
      await app.waitForEvent('open')

      await context.setOffline(true)
      await expect.poll(async () => (await app.snapshot()).online).toBe(false)
      // setOffline does not cut open WebSockets (TOOLCHAIN.md): the server drops them.
      const acceptedBefore = server.accepted()
      expect(server.control.dropAll()).toBe(1)
      expect(await app.waitForEvent('reconnecting')).toMatchObject({
        reason: 'connection-lost',
        delayMs: null,
      })
      const attemptsBefore = (await app.stats()).connectAttempts

      await app.page.waitForTimeout(2000)
      expect(server.accepted()).toBe(acceptedBefore)
      expect((await app.stats()).connectAttempts).toBe(attemptsBefore)
      expect(await app.snapshot()).toMatchObject({
        state: 'reconnecting',
        online: false,
        nextRetryAt: null,
      })

      // Were the next attempt left to the retry policy, it would come a minute from now.
      await app.setRetryDelay(60_000)
      await context.setOffline(false)
      await app.waitForEvent('open', { reconnected: true })
      expect(server.accepted()).toBe(acceptedBefore + 1)
      expect(await app.snapshot()).toMatchObject({ state: 'open', online: true })
      expect(await app.request('echo', 'online')).toEqual({ ok: true, data: 'online' })
    })
  })
}
