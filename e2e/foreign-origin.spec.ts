import { expect, test } from './fixtures.ts'

// The reference server runs on a developer's machine while they browse: this is a page on
// another site, in a real browser, trying what the server must not let it do.

const FOREIGN = 'https://evil.example'

test('a page on another site cannot mint a token, use the control API or open a socket', async ({
  page,
  server,
  browserName,
}) => {
  // Chromium's Local Network Access asks the user before a public page may reach loopback,
  // and denies it headless; Firefox has no such prompt. Granted here, as by a user who
  // clicked "Allow", so that the server has to stop the page in both browsers.
  if (browserName === 'chromium') {
    await page.context().grantPermissions(['local-network-access'], { origin: FOREIGN })
  }
  await page.route(`${FOREIGN}/**`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>elsewhere</title>' }),
  )
  await page.goto(`${FOREIGN}/`)

  const outcome = await page.evaluate(
    async ({ httpUrl, wsUrl }) => {
      const attempt = async (run: () => Promise<string>): Promise<string> => {
        try {
          return await run()
        } catch {
          return 'blocked'
        }
      }
      return {
        token: await attempt(async () => (await fetch(`${httpUrl}/token`)).text()),
        // A simple POST goes out without a preflight; only the server can stop its effect.
        refuse: await attempt(async () => {
          await fetch(`${httpUrl}/control/refuse?ms=60000`, { method: 'POST', mode: 'no-cors' })
          return 'sent'
        }),
        status: await attempt(async () => (await fetch(`${httpUrl}/control/status`)).text()),
        socket: await new Promise<string>((resolve) => {
          const socket = new WebSocket(`${wsUrl}/`)
          const timer = setTimeout(() => resolve('no answer'), 10_000)
          socket.onopen = () => {
            clearTimeout(timer)
            socket.close()
            resolve('open')
          }
          socket.onerror = () => {
            clearTimeout(timer)
            resolve('refused')
          }
        }),
      }
    },
    { httpUrl: server.reference.httpUrl, wsUrl: server.reference.url },
  )

  expect(outcome.token).toBe('blocked')
  expect(outcome.status).toBe('blocked')
  expect(outcome.socket).toBe('refused')
  expect(server.accepted()).toBe(0)
  expect(server.control.status().refusingUntil).toBeNull()
  // The handshake reached the server and was turned away there, not by the browser.
  expect(server.log.some((line) => line.includes(`upgrade from origin "${FOREIGN}"`))).toBe(true)
})
