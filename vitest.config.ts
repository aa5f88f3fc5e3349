import { configDefaults, defineConfig } from 'vitest/config'

// Type tests (test/**/*.test-d.ts) are not run here: `tsc -p tsconfig.json` checks them as
// part of `npm run typecheck`. e2e/ belongs to Playwright.
export default defineConfig({
  test: {
    exclude: [...configDefaults.exclude, 'e2e/**', 'dist/**'],
    restoreMocks: true,
    unstubGlobals: true,
    unstubEnvs: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'react',
          include: ['test/react/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/server/**/*.test.ts',
            'test/companion/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // Real sockets on a shared 2-core CI machine: one retry, like Playwright's. A
          // retried test is still reported, so a flake shows instead of hiding.
          retry: process.env.CI ? 1 : 0,
        },
      },
      {
        // Runs after `npm run build`, against dist/ and the packed tarball.
        extends: true,
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
})
