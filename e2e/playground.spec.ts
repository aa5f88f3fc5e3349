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
  readonly failed: Locator
  readonly drops: Locator
  readonly outage: Locator
  readonly outageHint: Locator
  readonly reconnects: Locator
  readonly queued: Locator
  readonly network: Locator
  readonly nextRetry: Locator
  readonly explain: Locator
  readonly timeline: Locator
  readonly messages: Locator
  readonly heartbeat: Locator
  readonly heartbeatStatus: Locator
  readonly rtt: Locator
  readonly pongs: Locator
  readonly streamSwitch: Locator
  readonly streamSent: Locator
  readonly streamAwaiting: Locator
  readonly sessionLost: Locator

  constructor(page: Page) {
    this.page = page
    this.badge = page.getByTestId('state-badge')
    this.failed = page.getByTestId('failed-attempts')
    this.drops = page.getByTestId('drops')
    this.outage = page.getByTestId('outage')
    this.outageHint = page.getByTestId('outage-hint')
    this.reconnects = page.getByTestId('reconnects')
    this.queued = page.getByTestId('queued')
    this.network = page.getByTestId('network')
    this.nextRetry = page.getByTestId('next-retry')
    this.explain = page.getByTestId('state-explain')
    this.timeline = page.getByTestId('timeline')
    this.messages = page.getByTestId('message-log')
    this.heartbeat = page.getByTestId('heartbeat')
    this.heartbeatStatus = page.getByTestId('heartbeat-status')
    this.rtt = page.getByTestId('rtt')
    this.pongs = page.getByTestId('pongs')
    this.streamSwitch = page.getByRole('switch', { name: 'Stream' })
    this.streamSent = page.getByTestId('stream-sent')
    this.streamAwaiting = page.getByTestId('stream-awaiting')
    this.sessionLost = page.getByTestId('session-lost')
  }

  /** A cell of the delivery panel's stream table: `up` is you → server, `down` the replies. */
  stream(direction: 'up' | 'down', column: 'arrived' | 'lost' | 'duplicated' | 'reordered') {
    return this.page.getByTestId(`stream-${direction}-${column}`)
  }

  async setStreaming(on: boolean) {
    await this.streamSwitch.click()
    await expect(this.streamSwitch).toHaveAttribute('aria-checked', String(on))
  }

  /**
   * The stream keeps flowing after a fault: frames sent from now on make the round trip, and
   * nothing before them went missing or arrived twice, in either direction. A gap shows as
   * soon as a later number arrives, so once replies pass what was sent now, every earlier
   * number has been judged.
   */
  async streamIsClean() {
    const sent = await this.number(this.streamSent)
    await expect
      .poll(() => this.number(this.stream('down', 'arrived')), { timeout: RECOVERY_MS })
      .toBeGreaterThan(sent + 10)
    for (const direction of ['up', 'down'] as const) {
      for (const column of ['lost', 'duplicated', 'reordered'] as const) {
        await expect(this.stream(direction, column), `${direction} ${column}`).toHaveText('0')
      }
    }
    expect(await this.number(this.stream('up', 'arrived'))).toBeGreaterThan(sent + 10)
  }

  /**
   * After a lost session: stops the stream and waits for its last replies. Gaps are allowed
   * only where the `sessionlost` report accounts for them ("reported"); none is silent, and
   * nothing arrived twice or out of order.
   */
  async stopStreamCleanlyAfterLoss() {
    await this.setStreaming(false)
    const reported = async (direction: 'up' | 'down') => {
      const note = this.page.getByTestId(`stream-${direction}-reported`)
      if ((await note.count()) === 0) return 0
      return Number(/\+(\d+) reported/.exec((await note.textContent()) ?? '')?.[1])
    }
    const sent = await this.number(this.streamSent)
    // Every frame sent either reached the server or is one the report named.
    await expect
      .poll(
        async () => (await this.number(this.stream('up', 'arrived'))) + (await reported('up')),
        {
          timeout: RECOVERY_MS,
        },
      )
      .toBe(sent)
    // One reply per frame the server got: each arrived, or went with the lost session.
    const upArrived = await this.number(this.stream('up', 'arrived'))
    await expect
      .poll(
        async () => (await this.number(this.stream('down', 'arrived'))) + (await reported('down')),
        { timeout: RECOVERY_MS },
      )
      .toBe(upArrived)
    for (const direction of ['up', 'down'] as const) {
      for (const column of ['lost', 'duplicated', 'reordered'] as const) {
        await expect(this.stream(direction, column), `${direction} ${column}`).toHaveText('0')
      }
    }
    const inDoubt = Number(await this.sessionLost.getAttribute('data-in-doubt'))
    expect(await reported('up')).toBeLessThanOrEqual(inDoubt)
  }

  /** Stops the stream and waits for its last replies: every frame sent arrived once, both ways. */
  async stopStreamCleanly() {
    await this.setStreaming(false)
    await expect(this.streamAwaiting).toHaveText('0', { timeout: RECOVERY_MS })
    const sent = await this.streamSent.textContent()
    await expect(this.stream('up', 'arrived')).toHaveText(sent ?? '')
    await expect(this.stream('down', 'arrived')).toHaveText(sent ?? '')
    for (const direction of ['up', 'down'] as const) {
      for (const column of ['lost', 'duplicated', 'reordered'] as const) {
        await expect(this.stream(direction, column), `${direction} ${column}`).toHaveText('0')
      }
    }
  }

  async number(locator: Locator): Promise<number> {
    return Number(await locator.textContent())
  }

  /** A duration tile such as `5.3 s`, in seconds. */
  async seconds(locator: Locator): Promise<number> {
    const text = (await locator.textContent()) ?? ''
    const match = /^(\d+\.\d) s$/.exec(text)
    if (!match) throw new Error(`not a duration: "${text}"`)
    return Number(match[1])
  }

  /** The `data-kind` of every timeline row, newest first. */
  kinds(): Promise<string[]> {
    return this.timeline
      .locator('li')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-kind') ?? ''))
  }

  events(kind: string, text: string | RegExp): Locator {
    return this.timeline.locator(`[data-kind="${kind}"]`, { hasText: text })
  }

  /**
   * Runs a fault and waits until the dashboard shows one more reconnect and `open`. Every
   * fault costs exactly one drop; once open again, no attempt has failed since, and the
   * outage that just ended is on show.
   */
  async recovers(fault: () => Promise<void>, expectations: () => Promise<void> = async () => {}) {
    const before = await this.number(this.reconnects)
    const drops = await this.number(this.drops)
    await fault()
    await expectations()
    await expect
      .poll(() => this.number(this.reconnects), { timeout: RECOVERY_MS })
      .toBeGreaterThan(before)
    await expect(this.badge).toHaveText('open', { timeout: RECOVERY_MS })
    await expect(this.drops).toHaveText(String(drops + 1))
    await expect(this.failed).toHaveText('0')
    await expect(this.outageHint).toHaveText('the last one')
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
  test.setTimeout(240_000)
  const ui = new Dashboard(page)
  const button = (name: string) => page.getByRole('button', { name, exact: true })
  // The token goes in a `$auth` first message: a socket URL that carried it would be printed
  // by the browser on every failed attempt, and written to proxies' logs.
  // Recorded in the page (Playwright's `websocket` event does not fire in Firefox over BiDi).
  await page.addInitScript(() => {
    const Native = window.WebSocket
    const urls: string[] = []
    ;(window as unknown as { __socketUrls: string[] }).__socketUrls = urls
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        urls.push(String(url))
        super(url, protocols)
      }
    }
  })

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

  await test.step('the stream: numbered frames out, numbered replies back', async () => {
    await expect(page.getByTestId('stream-verdict')).toContainText('Switch the stream on')
    await ui.setStreaming(true)
    await ui.streamIsClean()
    await expect(page.getByTestId('stream-verdict')).toContainText('Nothing lost')
  })

  await test.step('drop: no close frame (1006), then a reconnect', async () => {
    const closes = await ui.events('close', '1006').count()
    await expect(ui.drops).toHaveText('0')
    await expect(ui.outage).toHaveText('—')
    await ui.recovers(
      () => button('Drop connection').click(),
      () => ui.newEvent('close', '1006', closes),
    )
    await expect(ui.events('open', 'reconnected')).not.toHaveCount(0)
    // The retry that opened did not fail: no failure is counted, and no `attempt` row shown.
    await expect(ui.timeline.locator('[data-kind="failed"]')).toHaveCount(0)
    expect(await ui.seconds(ui.outage)).toBeLessThan(RECOVERY_MS / 1000)
    await expect(ui.events('open', 'reconnected · session resumed')).not.toHaveCount(0)
    await ui.streamIsClean()
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
      await ui.streamIsClean()
    })
  }

  await test.step('close 1000: stops until the user connects again', async () => {
    // The stream of this run ends here, every frame accounted for; a new run starts after.
    await ui.stopStreamCleanly()
    await page.getByRole('combobox', { name: 'close code' }).selectOption('1000')
    await button('Close with code').click()
    await expect(ui.badge).toHaveText('closed', { timeout: RECOVERY_MS })
    await expect(ui.events('close', /1000.*stopped/)).toHaveCount(1)
    await expect(ui.explain).toContainText('Press Connect')
    await button('Connect').click()
    await expect(ui.badge).toHaveText('open', { timeout: RECOVERY_MS })
    await ui.setStreaming(true)
    await expect(ui.stream('up', 'arrived')).not.toHaveText('0', { timeout: RECOVERY_MS })
  })

  await test.step('silence: the heartbeat detects it (ping after 5 s, 3 s for the pong)', async () => {
    const closes = await ui.events('close', '4000').count()
    const verdicts = await ui.events('heartbeat', 'no answer to the ping within 3.0 s').count()
    await ui.recovers(
      () => button('Go silent').click(),
      async () => {
        // While the link stays open, the dashboard shows the ping in flight and its deadline.
        await expect(ui.heartbeat).toHaveAttribute('data-phase', 'waiting', { timeout: 8000 })
        await expect(ui.badge).toHaveText('open')
        await expect(ui.heartbeatStatus).toContainText('waiting for the answer')
        await expect(ui.heartbeatStatus).toContainText(/\d\.\d s left before the link is cut/)
        await expect(ui.explain).toContainText('a ping is out')
        await expect(ui.events('heartbeat', 'no answer yet').first()).toBeVisible()
        await ui.newEvent('close', /4000 heartbeat timeout.*will reconnect/, closes, 25_000)
      },
    )
    // The verdict is written into the ping's row; the new connection starts quiet.
    await ui.newEvent('heartbeat', 'no answer to the ping within 3.0 s', verdicts)
    await expect(ui.heartbeat).toHaveAttribute('data-phase', /quiet|waiting/)
    // What the server sent into the silence was kept in its session and replayed.
    await ui.streamIsClean()
  })

  await test.step('refused for 5 s: attempts fail, the counter climbs, then it opens', async () => {
    const errors = await ui.events('error', 'CONNECTION_FAILED').count()
    const retriesAfterFailure = await ui.events('reconnecting', 'attempt-failed').count()
    const failedRows = ui.timeline.locator('[data-kind="failed"]')
    const failedBefore = await failedRows.count()
    let failedMost = 0
    await ui.recovers(
      () => button('Refuse for 5 s').click(),
      async () => {
        await expect(ui.badge).toHaveText('reconnecting')
        await expect(ui.outageHint).toHaveText('so far')
        await expect.poll(() => ui.number(ui.failed), { timeout: RECOVERY_MS }).toBeGreaterThan(1)
        failedMost = await ui.number(ui.failed)
        expect(await ui.seconds(ui.outage)).toBeGreaterThan(0)
      },
    )
    // One row per failed attempt: its error and its next retry together.
    const rows = await failedRows.allTextContents()
    expect(rows.length - failedBefore).toBeGreaterThanOrEqual(failedMost)
    for (const row of rows.slice(0, rows.length - failedBefore)) {
      expect(row).toMatch(/CONNECTION_FAILED: .+ · retry #\d+ in \d+\.\d s/)
    }
    await expect(ui.events('error', 'CONNECTION_FAILED')).toHaveCount(errors)
    await expect(ui.events('reconnecting', 'attempt-failed')).toHaveCount(retriesAfterFailure)
    // Refused for 5 s from about the moment of the drop: the outage lasted about as long.
    expect(await ui.seconds(ui.outage)).toBeGreaterThanOrEqual(4.5)
    await ui.streamIsClean()
  })

  await test.step('expired token: 4001, a fresh token, back open', async () => {
    const closes = await ui.events('close', 'token expired').count()
    await ui.recovers(
      () => button('Expire token').click(),
      () => ui.newEvent('close', /4001.*token expired/, closes),
    )
    await ui.streamIsClean()
  })

  await test.step('restart keeping the sessions: down for 1.5 s, then the session resumes', async () => {
    const restarts = await ui.events('you', 'restart the server, keeping').count()
    const resumed = await ui.events('open', 'session resumed').count()
    await ui.recovers(
      () => button('Restart server').click(),
      () => ui.newEvent('you', 'restart the server, keeping', restarts),
    )
    await expect(ui.events('open', 'session resumed')).toHaveCount(resumed + 1)
    await expect(ui.sessionLost).toHaveCount(0)
    await ui.streamIsClean()
  })

  await test.step('restart losing the sessions: sessionlost says what is in doubt', async () => {
    const reports = await ui.events('sessionlost', 'unknown-session').count()
    await ui.recovers(
      () => button('Restart, drop store').click(),
      () => ui.newEvent('sessionlost', 'unknown-session', reports),
    )
    await expect(ui.events('open', 'reconnected · new session')).not.toHaveCount(0)
    await expect(ui.sessionLost).toBeVisible()
    await expect(ui.sessionLost).toHaveAttribute('data-reason', 'unknown-session')
    await expect(ui.sessionLost).toContainText(/Session lost \(unknown-session\)/)
    await expect(ui.sessionLost).toContainText(/\d+ frames? in doubt/)
    // Whatever the lost session took with it was named in the report: nothing is lost in
    // silence, and nothing arrives twice (frames in doubt are not resent).
    await ui.stopStreamCleanlyAfterLoss()
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
        // Paused means paused: no attempt is made while offline, so none has failed.
        const entries = await ui.timeline.locator('li').count()
        await page.waitForTimeout(1500)
        await expect(ui.badge).toHaveText('reconnecting')
        await expect(ui.failed).toHaveText('0')
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

  await test.step('the heartbeat: RTT sparkline, pongs counted, one timeline row per quiet stretch', async () => {
    const sparkline = page.locator('svg.sparkline')
    // The stream kept the link busy for most of the run, so pings (after 5 s of quiet
    // either way) may only start now that it is off.
    await expect(sparkline).toBeVisible({ timeout: 20_000 })
    expect(Number(await sparkline.getAttribute('data-points'))).toBeGreaterThanOrEqual(2)
    await expect(sparkline).toHaveAttribute('aria-label', /latest \d+ ms, highest \d+ ms/)
    await expect(ui.rtt).toHaveText(/^\d+ ms$/)
    expect(await ui.number(ui.pongs)).toBeGreaterThanOrEqual(2)
    const kinds = await ui.kinds()
    expect(kinds.filter((kind) => kind === 'heartbeat').length).toBeGreaterThan(0)
    expect(kinds.filter((kind, i) => kind === 'heartbeat' && kinds[i + 1] === 'heartbeat')).toEqual(
      [],
    )
  })

  const socketUrls = await page.evaluate(
    () => (window as unknown as { __socketUrls: string[] }).__socketUrls,
  )
  expect(socketUrls.length).toBeGreaterThan(5)
  expect(socketUrls.filter((url) => url.includes('access_token'))).toEqual([])

  await expect(ui.badge).toHaveText('open')

  const name =
    testInfo.project.name === 'chromium'
      ? 'playground-dashboard.png'
      : `playground-dashboard-${testInfo.project.name}.png`
  await mkdir(join(root, 'test-results'), { recursive: true })
  const path = join(root, 'test-results', name)
  await page.screenshot({ path, fullPage: true })
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
