import { ENTRIES, expect, test } from './fixtures.ts'

// A token that expires mid-session: the server closes with 4001, the client fetches a
// fresh token (forceRefresh) and carries on, and nothing sent meanwhile is lost.

for (const entry of ENTRIES) {
  test.describe(`${entry} entry`, () => {
    test('refreshes an expired token and the session continues', async ({ openApp, server }) => {
      const app = await openApp(entry)
      // The harness's getToken fetches /token?ttlMs=… from the server before every attempt.
      await app.create({
        path: '/secure',
        auth: { ttlMs: 10 * 60_000 },
        retryDelayMs: 200,
        listen: ['chat'],
      })
      await app.waitForEvent('open')
      expect(server.control.status().connections).toEqual([
        expect.objectContaining({ path: '/secure', authenticated: true }),
      ])
      expect(await app.send('chat', { text: 'before' })).toBe('sent')
      await app.waitForMessages('chat', 1)

      expect(server.control.expireTokens()).toBeGreaterThan(0)

      expect(await app.waitForEvent('close')).toMatchObject({
        code: 4001,
        reason: 'token expired',
        willReconnect: true,
      })
      expect(await app.waitForEvent('reconnecting')).toMatchObject({ reason: 'auth-failure' })
      expect(['sent', 'queued']).toContain(await app.send('chat', { text: 'during' }))
      await app.waitForEvent('open', { reconnected: true })
      expect(await app.send('chat', { text: 'after' })).toBe('sent')

      // One refresh, one reconnect: no retry storm after the server said 4001.
      expect(server.accepted()).toBe(2)
      expect(await app.tokenRequests()).toEqual([
        { reason: 'connect', forceRefresh: false, attempt: 0 },
        { reason: 'auth-failure', forceRefresh: true, attempt: expect.any(Number) },
      ])
      expect(server.control.status().connections).toEqual([
        expect.objectContaining({ path: '/secure', authenticated: true }),
      ])
      const echoed = await app.waitForMessages('chat', 3)
      expect(echoed.map((m) => m.data)).toEqual([
        { text: 'before' },
        { text: 'during' },
        { text: 'after' },
      ])
      expect(await app.request('echo', 'still authorized')).toEqual({
        ok: true,
        data: 'still authorized',
      })
      expect(await app.snapshot()).toMatchObject({ state: 'open', lastErrorCode: null })
    })
  })
}
