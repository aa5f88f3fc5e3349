import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { expect, type Locator, type Page, test } from '@playwright/test'
import { createServer, type ViteDevServer } from 'vite'

import { type ReferenceServer, startServer } from './server/index.ts'

// The playground (playground/, Vite + React) against the reference server, both started in
// this worker on free loopback ports. Every fault button is clicked and the dashboard must
// show the connection coming back by itself.

const root = fileURLToPath(new URL('..', import.meta.url))
const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/
/** Generous: backoff is capped at 5 s in the playground, and two browsers share 2 cores. */
const RECOVERY_MS = 20_000

let server: ReferenceServer
let vite: ViteDevServer
let viteCacheDir: string
const serverLog: string[] = []

test.use({ viewport: { width: 1280, height: 800 } })

test.beforeAll(async ({ browserName: _browserName }, workerInfo) => {
  server = await startServer({
    allowedOrigins: (origin) => LOCAL_ORIGIN.test(origin),
    log: (line) => serverLog.push(`${new Date().toISOString()} ${line}`),
  })
  // One dependency cache per concurrently running worker: two Vite servers optimizing into
  // the same directory at once would trip over each other. Kept between runs (warm starts).
  viteCacheDir = join(root, `node_modules/.cache/playground-e2e-${workerInfo.parallelIndex}`)
  // As `npm run demo` does: the fault buttons need the server's control secret.
  process.env.VITE_CONTROL_SECRET = server.controlSecret
  vite = await createServer({
    configFile: join(root, 'playground/vite.config.ts'),
    cacheDir: viteCacheDir,
    clearScreen: false,
    logLevel: 'warn',
    // Other work on src/ must not hot-reload the page (and cut the connection) mid-test.
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  })
  await vite.listen()
})

test.afterAll(async () => {
  await vite?.close()
  await server?.close()
})

/** The dashboard as the specs see it. */
class Dashboard {
  readonly page: Page
  readonly badge: Locator
  readonly attempt: Locator
  readonly reconnects: Locator
  readonly queued: Locator
  readonly network: Locator
  readonly nextRetry: Locator
  readonly explain: Locator
  readonly timeline: Locator
  readonly messages: Locator

  constructor(page: Page) {
    this.page = page
    this.badge = page.getByTestId('state-badge')
    this.attempt = page.getByTestId('attempt')
    this.reconnects = page.getByTestId('reconnects')
    this.queued = page.getByTestId('queued')
    this.network = page.getByTestId('network')
    this.nextRetry = page.getByTestId('next-retry')
    this.explain = page.getByTestId('state-explain')
    this.timeline = page.getByTestId('timeline')
    this.messages = page.getByTestId('message-log')
  }

  async number(locator: Locator): Promise<number> {
    return Number(await locator.textContent())
  }

  events(kind: string, text: string | RegExp): Locator {
    return this.timeline.locator(`[data-kind="${kind}"]`, { hasText: text })
  }

  /** Runs a fault and waits until the dashboard shows one more reconnect and `open`. */
  async recovers(fault: () => Promise<void>, expectations: () => Promise<void> = async () => {}) {
    const before = await this.number(this.reconnects)
    await fault()
    await expectations()
    await expect
      .poll(() => this.number(this.reconnects), { timeout: RECOVERY_MS })
      .toBeGreaterThan(before)
    await expect(this.badge).toHaveText('open', { timeout: RECOVERY_MS })
  }

  /** Waits for one more timeline entry of `kind` containing `text` than there were before. */
  async newEvent(kind: string, text: string | RegExp, before: number, timeout = RECOVERY_MS) {
    await expect.poll(() => this.events(kind, text).count(), { timeout }).toBeGreaterThan(before)
  }

  async type(text: string) {
    const input = this.page.getByRole('textbox', { name: 'message text' })
    // Firefox over WebDriver BiDi: fill() does not fire React's onChange.
    await input.clear()
    await input.pressSequentially(text)
  }
}

test('the playground shows every fault and the recovery from it', async ({ page }, testInfo) => {
  test.setTimeout(150_000)
  const ui = new Dashboard(page)
  const button = (name: string) => page.getByRole('button', { name, exact: true })
  // The token goes in a `$auth` first message: a socket URL that carried it would be printed
  // by the browser on every failed attempt, and written to proxies' logs.
  const socketUrls: string[] = []
  page.on('websocket', (socket) => socketUrls.push(socket.url()))

  await test.step('loads and connects', async () => {
    await page.goto(`${vite.resolvedUrls?.local[0]}?server=${encodeURIComponent(server.url)}`)
    await expect(ui.badge).toHaveText('open', { timeout: 30_000 })
    await expect(ui.events('open', 'connected')).toHaveCount(1)
    await expect(ui.network).toHaveText('online')
  })

  await test.step('an event and a request round trip through the echo server', async () => {
    await ui.type('hello from the spec')
    await button('Send').click()
    await expect(
      ui.messages.locator('[data-direction="in"]', { hasText: 'hello from the spec' }),
    ).toBeVisible()
    await button('Request echo').click()
    await expect(ui.messages.locator('[data-direction="response"]')).toContainText('answered in')
  })

  await test.step('drop: no close frame (1006), then a reconnect', async () => {
    const closes = await ui.events('close', '1006').count()
    await ui.recovers(
      () => button('Drop connection').click(),
      () => ui.newEvent('close', '1006', closes),
    )
    await expect(ui.events('open', 'reconnected')).not.toHaveCount(0)
  })

  for (const code of [1012, 1001, 1011, 4001]) {
    await test.step(`close ${code}: reconnects`, async () => {
      const closes = await ui.events('close', `${code}`).count()
      const authRetries = await ui.events('reconnecting', 'auth-failure').count()
      await page.getByRole('combobox', { name: 'close code' }).selectOption(String(code))
      await ui.recovers(
        () => button('Close with code').click(),
        async () => {
          await ui.newEvent('close', new RegExp(`${code}.*will reconnect`), closes)
          // 4001 is an auth failure: the next attempt fetches a fresh token.
          if (code === 4001) await ui.newEvent('reconnecting', 'auth-failure', authRetries)
        },
      )
    })
  }

  await test.step('close 1000: stops until the user connects again', async () => {
    await page.getByRole('combobox', { name: 'close code' }).selectOption('1000')
    await button('Close with code').click()
    await expect(ui.badge).toHaveText('closed', { timeout: RECOVERY_MS })
    await expect(ui.events('close', /1000.*stopped/)).toHaveCount(1)
    await expect(ui.explain).toContainText('Press Connect')
    await button('Connect').click()
    await expect(ui.badge).toHaveText('open', { timeout: RECOVERY_MS })
  })

  await test.step('silence: the heartbeat detects it (ping after 5 s, 3 s for the pong)', async () => {
    const closes = await ui.events('close', '4000').count()
    await ui.recovers(
      () => button('Go silent').click(),
      () => ui.newEvent('close', /4000 heartbeat timeout.*will reconnect/, closes, 25_000),
    )
  })

  await test.step('refused for 5 s: attempts fail, the counter climbs, then it opens', async () => {
    const failures = await ui.events('error', 'CONNECTION_FAILED').count()
    await ui.recovers(
      () => button('Refuse for 5 s').click(),
      async () => {
        await expect(ui.badge).toHaveText('reconnecting')
        await expect.poll(() => ui.number(ui.attempt), { timeout: RECOVERY_MS }).toBeGreaterThan(1)
        await ui.newEvent('error', 'CONNECTION_FAILED', failures)
      },
    )
  })

  await test.step('expired token: 4001, a fresh token, back open', async () => {
    const closes = await ui.events('close', 'token expired').count()
    await ui.recovers(
      () => button('Expire token').click(),
      () => ui.newEvent('close', /4001.*token expired/, closes),
    )
  })

  await test.step('restart: down for 1.5 s, back on the same port', async () => {
    const restarts = await ui.events('you', 'restart the server').count()
    await ui.recovers(
      () => button('Restart server').click(),
      () => ui.newEvent('you', 'restart the server', restarts),
    )
  })

  await test.step('offline: retries pause, sends queue, online reconnects at once', async () => {
    const offline = page.getByRole('switch', { name: 'Offline' })
    await ui.recovers(
      async () => {
        await offline.click()
        await expect(offline).toHaveAttribute('aria-checked', 'true')
        await expect(ui.badge).toHaveText('reconnecting', { timeout: RECOVERY_MS })
        await expect(ui.network).toHaveText('offline')
        await expect(ui.nextRetry).toHaveText('paused')
        await expect(ui.explain).toContainText('Offline')
        await expect(ui.events('reconnecting', 'waits for the network')).not.toHaveCount(0)
        await ui.type('sent while offline')
        await button('Send').click()
        await expect(ui.queued).toHaveText('1')
        await expect(ui.messages.locator('[data-direction="out"]').first()).toContainText('queued')
        // Paused means paused: no attempt is made while offline.
        const retries = await ui.attempt.textContent()
        const entries = await ui.timeline.locator('li').count()
        await page.waitForTimeout(1500)
        await expect(ui.badge).toHaveText('reconnecting')
        await expect(ui.attempt).toHaveText(retries ?? '')
        await expect(ui.timeline.locator('li')).toHaveCount(entries)
        await offline.click()
      },
      () => expect(ui.network).toHaveText('online'),
    )
    await expect(ui.queued).toHaveText('0')
    await expect(
      ui.messages.locator('[data-direction="in"]', { hasText: 'sent while offline' }),
    ).toBeVisible()
  })

  expect(socketUrls.length).toBeGreaterThan(5)
  expect(socketUrls.filter((url) => url.includes('access_token'))).toEqual([])

  // For the screenshot: wait until the heartbeat has drawn its sparkline.
  await expect(page.locator('svg.sparkline')).toBeVisible({ timeout: 15_000 })
  await expect(ui.badge).toHaveText('open')

  const name =
    testInfo.project.name === 'chromium'
      ? 'playground-dashboard.png'
      : `playground-dashboard-${testInfo.project.name}.png`
  await mkdir(join(root, 'test-results'), { recursive: true })
  const path = join(root, 'test-results', name)
  await page.screenshot({ path })
  await testInfo.attach('playground dashboard', { path, contentType: 'image/png' })
})

test.afterEach(async ({ page: _page }, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus) {
    await testInfo.attach('reference server log', {
      body: serverLog.join('\n'),
      contentType: 'text/plain',
    })
  }
})
