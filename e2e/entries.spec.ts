import { ENTRIES, expect, test } from './fixtures.ts'

// Each browser entry loads the shipped file and does a basic round trip with the server.

test('the CDN page gets the whole public API from the global ResilientSocket', async ({
  openApp,
  page,
}) => {
  await openApp('cdn')
  const api = await page.evaluate(() => {
    const global = (window as unknown as { ResilientSocket: Record<string, unknown> })
      .ResilientSocket
    return Object.fromEntries(Object.entries(global).map(([name, value]) => [name, typeof value]))
  })
  expect(api).toMatchObject({
    ReconnectingSocket: 'function',
    SocketError: 'function',
    RemoteError: 'function',
    UnauthorizedError: 'function',
    exponentialBackoff: 'function',
    fromDelays: 'function',
    classifyClose: 'function',
    jsonCodec: 'object',
    heartbeat: 'function',
    auth: 'function',
    requests: 'function',
    initialSnapshot: 'function',
  })
  // The page loaded the IIFE from dist/ with a plain script tag, nothing else.
  const scripts = await page.evaluate(() =>
    Array.from(document.scripts, (s) => s.getAttribute('src')).filter(Boolean),
  )
  expect(scripts).toEqual(['/dist/resilient-socket.iife.min.js'])
})

for (const entry of ENTRIES) {
  test.describe(`${entry} entry`, () => {
    test('connects, sends, receives, requests and closes', async ({ openApp, server }) => {
      const app = await openApp(entry)
      await app.create({ listen: ['chat'] })
      const open = await app.waitForEvent('open')
      expect(open.reconnected).toBe(false)
      const [connectionId] = await server.control.waitForConnections(1)

      expect(await app.send('chat', { text: `hello from ${entry}` })).toBe('sent')
      const echoed = await app.waitForMessages('chat', 1)
      expect(echoed[0]?.data).toEqual({ text: `hello from ${entry}` })

      const reply = await app.request('echo', { entry, list: [1, 2, 3] })
      expect(reply).toEqual({ ok: true, data: { entry, list: [1, 2, 3] } })

      const received = server.control.received()
      expect(received.map((m) => [m.connectionId, m.type])).toEqual([
        [connectionId, 'chat'],
        [connectionId, 'echo'],
      ])

      await app.close()
      expect(await app.snapshot()).toMatchObject({ state: 'closed', lastErrorCode: null })
      await expect.poll(() => server.control.status().connections.length).toBe(0)
      expect(await app.events('close')).toEqual([
        expect.objectContaining({ code: 1000, willReconnect: false }),
      ])
      expect(server.accepted()).toBe(1)
    })
  })
}
