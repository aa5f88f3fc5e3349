import { ENTRIES, expect, test } from './fixtures.ts'

// Typed dispatch over the wire: request/response with the server's answers and errors,
// and malformed frames that must be reported without costing the connection.

for (const entry of ENTRIES) {
  test.describe(`${entry} entry`, () => {
    test('request/response: echo, a remote error, an unknown type, a timeout', async ({
      openApp,
      server,
    }) => {
      const app = await openApp(entry)
      await app.create()
      await app.waitForEvent('open')

      const payload = { text: 'héllo ✓', nested: { list: [1, 2, 3], flag: true, none: null } }
      expect(await app.request('echo', payload)).toEqual({ ok: true, data: payload })

      expect(
        await app.request('fail', { code: 'E2E_FAIL', message: 'failed on purpose in e2e' }),
      ).toEqual({
        ok: false,
        error: {
          name: 'RemoteError',
          code: 'REMOTE_ERROR',
          remoteCode: 'E2E_FAIL',
          message: 'failed on purpose in e2e',
          isSocketError: true,
          isRemoteError: true,
        },
      })

      expect(await app.request('no-such-request', 1)).toMatchObject({
        ok: false,
        error: { code: 'REMOTE_ERROR', remoteCode: 'UNKNOWN_REQUEST', isRemoteError: true },
      })

      expect(await app.request('slow', { delayMs: 5000 }, { timeoutMs: 300 })).toMatchObject({
        ok: false,
        error: { code: 'REQUEST_TIMEOUT', isSocketError: true, isRemoteError: false },
      })

      // Four requests, one connection, nothing pending afterwards.
      expect(server.control.received().map((m) => m.type)).toEqual([
        'echo',
        'fail',
        'no-such-request',
        'slow',
      ])
      expect(await app.stats()).toMatchObject({ pendingRequests: 0, opens: 1 })
    })

    test('a malformed frame from the server is reported and the connection stays up', async ({
      openApp,
      server,
      page,
    }) => {
      const app = await openApp(entry)
      await app.create({ listen: ['chat'] })
      await app.waitForEvent('open')

      const frames = [
        'not json',
        '{"no":"type"}',
        '{"type":"chat","data":{"__proto__":{"polluted":true}}}',
      ]
      for (const frame of frames) expect(server.control.sendRaw(frame)).toBe(1)

      await expect
        .poll(async () => (await app.events('error')).map((e) => e.code))
        .toEqual(['DECODE_FAILED', 'DECODE_FAILED', 'DECODE_FAILED'])
      expect(await page.evaluate(() => 'polluted' in {})).toBe(false)
      expect(await app.messages()).toEqual([])

      // Still the same connection, and it still works both ways.
      expect(await app.request('echo', 'still here')).toEqual({ ok: true, data: 'still here' })
      expect(await app.send('chat', { text: 'and events' })).toBe('sent')
      await app.waitForMessages('chat', 1)
      expect(await app.snapshot()).toMatchObject({ state: 'open' })
      expect(await app.events('close')).toEqual([])
      expect(await app.stats()).toMatchObject({ connectAttempts: 1, opens: 1 })
      expect(server.accepted()).toBe(1)
      expect(server.control.status().connections).toHaveLength(1)
    })
  })
}
