import { fileURLToPath } from 'node:url'

import { test as base, expect, type Page } from '@playwright/test'

import type {
  HarnessConfig,
  HarnessEvent,
  HarnessMessage,
  RequestOutcome,
  SnapshotSummary,
  TokenRequest,
} from './pages/harness.js'
import { type ReferenceServer, type ServerControl, startServer } from './server/index.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The two browser entries: a `<script>` tag on a plain page, and an app bundled by Vite. */
export const ENTRIES = ['spa', 'cdn'] as const
export type Entry = (typeof ENTRIES)[number]

const ENTRY_PATHS: Record<Entry, string> = {
  cdn: '/pages/cdn.html',
  spa: '/spa/',
}

/** The reference server of one worker, as the specs see it. */
export interface E2EServer {
  readonly reference: ReferenceServer
  readonly control: ServerControl
  /** WebSocket connections the server accepted since this test began, open or long gone. */
  accepted(): number
  /** The server's log lines since the current test began (attached to failed tests). */
  readonly log: readonly string[]
}

// The server logs "c7 connected to /secure …" for every accepted WebSocket; counting those
// lines is the only way to see attempts that opened and closed between two looks.
const ACCEPTED_LINE = /^c\d+ connected to /

// Firefox reports every refused WebSocket handshake as a page error, though nothing was
// thrown: while the server is down that is expected, and the library sees it as `error`.
// So is a connection the server resets with data still unread (a cut mid-stream): the
// library sees a close 1006.
const BROWSER_NOISE =
  /can.t establish a connection to the server at wss?:\/\/|The connection to wss?:\/\/\S+ was interrupted while the page was loading/

/** Milliseconds a spec waits for one expected event; far above what a healthy run needs. */
export const EVENT_TIMEOUT_MS = 15_000

/** Drives the harness (e2e/pages/harness.js) inside a page, from the Node side. */
export class App {
  readonly page: Page
  readonly entry: Entry

  constructor(page: Page, entry: Entry) {
    this.page = page
    this.entry = entry
  }

  create(config: HarnessConfig = {}): Promise<void> {
    return this.page.evaluate((c) => window.e2e.create(c), config)
  }

  send(type: string, data?: unknown): Promise<string> {
    return this.page.evaluate(([t, d]) => window.e2e.send(t, d), [type, data] as const)
  }

  sendSequence(type: string, count: number): Promise<string[]> {
    return this.page.evaluate(([t, n]) => window.e2e.sendSequence(t, n), [type, count] as const)
  }

  request(type: string, data?: unknown, options?: { timeoutMs?: number }): Promise<RequestOutcome> {
    return this.page.evaluate(([t, d, o]) => window.e2e.request(t, d, o ?? undefined), [
      type,
      data,
      options ?? null,
    ] as const)
  }

  setRetryDelay(ms: number): Promise<void> {
    return this.page.evaluate((value) => window.e2e.setRetryDelay(value), ms)
  }

  snapshot(): Promise<SnapshotSummary> {
    return this.page.evaluate(() => window.e2e.snapshot())
  }

  stats(): Promise<Record<string, number | null>> {
    return this.page.evaluate(() => window.e2e.stats())
  }

  async events(event?: HarnessEvent['event']): Promise<HarnessEvent[]> {
    const all = await this.page.evaluate(() => window.e2e.events())
    return event === undefined ? all : all.filter((e) => e.event === event)
  }

  messages(): Promise<HarnessMessage[]> {
    return this.page.evaluate(() => window.e2e.messages())
  }

  tokenRequests(): Promise<TokenRequest[]> {
    return this.page.evaluate(() => window.e2e.tokenRequests())
  }

  close(): Promise<void> {
    return this.page.evaluate(() => window.e2e.close())
  }

  /**
   * Resolves with the first recorded event named `event` whose fields equal `match`,
   * waiting for it if it has not happened yet.
   */
  async waitForEvent(
    event: HarnessEvent['event'],
    match: Record<string, unknown> = {},
    timeout = EVENT_TIMEOUT_MS,
  ): Promise<HarnessEvent> {
    const found = await this.page.waitForFunction(
      ([name, fields]) =>
        window.e2e
          .events()
          .find(
            (e) =>
              e.event === name && Object.entries(fields).every(([key, value]) => e[key] === value),
          ) ?? false,
      [event, match] as const,
      { timeout, polling: 50 },
    )
    return (await found.jsonValue()) as HarnessEvent
  }

  /** Waits until `count` messages of `type` came back through `onMessage()`. */
  async waitForMessages(type: string, count: number): Promise<HarnessMessage[]> {
    await this.page.waitForFunction(
      ([t, n]) => window.e2e.messages().filter((m) => m.type === t).length >= n,
      [type, count] as const,
      { timeout: EVENT_TIMEOUT_MS, polling: 50 },
    )
    return (await this.messages()).filter((m) => m.type === type)
  }
}

interface TestFixtures {
  /** The worker's reference server, reset to a clean state for this test. */
  server: E2EServer
  /** Loads an entry page in this test's page and returns its harness. */
  openApp: (entry: Entry) => Promise<App>
}

interface WorkerFixtures {
  workerServer: E2EServer & { startTest(): void }
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  workerServer: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a fixture needs from this pattern.
    async ({}, use) => {
      let accepted = 0
      let log: string[] = []
      const reference = await startServer({
        static: {
          '/dist': `${root}dist`,
          '/pages': `${root}e2e/pages`,
          // Built by e2e/global-setup.ts for this run.
          '/spa': process.env.E2E_SPA_DIR ?? `${root}e2e/.artifacts/no-spa-build`,
        },
        log: (line) => {
          if (ACCEPTED_LINE.test(line)) accepted++
          log.push(`${new Date().toISOString()} ${line}`)
        },
      })
      await use({
        reference,
        control: reference.control,
        accepted: () => accepted,
        get log() {
          return log
        },
        startTest() {
          accepted = 0
          log = []
        },
      })
      await reference.close()
    },
    { scope: 'worker' },
  ],

  server: async ({ workerServer }, use, testInfo) => {
    const { reference, control } = workerServer
    // Undo whatever an earlier test in this worker left behind, even if it failed midway.
    await reference.start()
    control.refuse(0)
    control.silence(false)
    control.pauseReading(false)
    control.dropAll()
    control.clearReceived()
    workerServer.startTest()
    await use(workerServer)
    if (testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach('reference-server.log', {
        body: workerServer.log.join('\n'),
        contentType: 'text/plain',
      })
    }
  },

  openApp: async ({ page, server }, use) => {
    // An exception escaping into the page is a bug even when the scenario itself passes.
    const pageErrors: string[] = []
    page.on('pageerror', (error) => {
      if (!BROWSER_NOISE.test(error.message)) pageErrors.push(`${error.name}: ${error.message}`)
    })
    await use(async (entry) => {
      const distProblem = process.env.E2E_DIST_PROBLEM
      if (distProblem) throw new Error(distProblem)
      await page.goto(`${server.reference.httpUrl}${ENTRY_PATHS[entry]}`)
      await page.waitForFunction(() => window.e2e?.entry !== undefined, undefined, {
        timeout: EVENT_TIMEOUT_MS,
      })
      expect(await page.evaluate(() => window.e2e.entry)).toBe(entry)
      return new App(page, entry)
    })
    expect(pageErrors, 'uncaught exceptions in the page').toEqual([])
  },
})

export { expect }
