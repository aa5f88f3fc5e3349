import { existsSync } from 'node:fs'

import { defineConfig, devices, type Project } from '@playwright/test'

// Playwright cannot download its own browsers on the build machines, so Debian's Chromium and
// Firefox ESR are used when they are installed (or when CHROMIUM_PATH / FIREFOX_PATH names one).
// Elsewhere, e.g. a developer laptop after `npx playwright install`, Playwright's own run.
function systemBrowser(envVar: string, defaultPath: string): string | undefined {
  const fromEnv = process.env[envVar]
  if (fromEnv) return fromEnv
  return existsSync(defaultPath) ? defaultPath : undefined
}

const chromiumPath = systemBrowser('CHROMIUM_PATH', '/usr/bin/chromium')
const firefoxPath = systemBrowser('FIREFOX_PATH', '/usr/bin/firefox-esr')

const chromium: Project = {
  name: 'chromium',
  use: {
    ...devices['Desktop Chrome'],
    ...(chromiumPath && {
      launchOptions: {
        executablePath: chromiumPath,
        // Without the networking flags Chromium keeps trying to reach Google's services.
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      },
    }),
  },
}

const firefox: Project = {
  name: 'firefox',
  use: {
    ...devices['Desktop Firefox'],
    // Stock Firefox ESR is driven over WebDriver BiDi (needs @playwright/test 1.64.1 exactly).
    ...(firefoxPath && {
      browserName: 'firefox',
      channel: 'moz-firefox',
      launchOptions: { executablePath: firefoxPath },
    }),
  },
}

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results',
  // Bundles the SPA entry (e2e/spa) against the built dist/ before any spec runs.
  globalSetup: './e2e/global-setup.ts',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  workers: 2,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    trace: 'on-first-retry',
  },
  // No webServer: specs start the reference server in-process through fixtures.
  projects: [chromium, firefox],
})
