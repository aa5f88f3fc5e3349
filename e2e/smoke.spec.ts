import { expect, test } from '@playwright/test'

// Proves the browser launches and has what the library needs, before any real spec runs.
test('the browser starts and has a global WebSocket', async ({ page }) => {
  await page.goto('data:text/html,<!doctype html><title>smoke</title>')
  expect(await page.evaluate(() => typeof WebSocket)).toBe('function')
})
