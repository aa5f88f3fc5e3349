import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { build } from 'vite'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')

/**
 * Bundles e2e/spa with Vite before the specs run. `resilient-socket` is aliased to the
 * built dist/index.js, not to src/: the point of the SPA entry is to prove that the file
 * the package ships works when an application's bundler picks it up.
 *
 * Each run builds into a directory of its own (removed afterwards) and tells the workers
 * where through the environment, so two runs at once never serve each other's half-written
 * files. Without a build, the specs that need dist/ fail with the reason; other specs run.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const missing = ['index.js', 'resilient-socket.iife.min.js'].filter(
    (file) => !existsSync(join(dist, file)),
  )
  if (missing.length > 0) {
    process.env.E2E_DIST_PROBLEM = `dist/ lacks ${missing.join(', ')}: the e2e entries test the built package, so run \`npm run build\` first.`
    return async () => {}
  }
  await mkdir(join(root, 'e2e/.artifacts'), { recursive: true })
  const outDir = await mkdtemp(join(root, 'e2e/.artifacts/spa-'))
  await build({
    configFile: false,
    root: join(root, 'e2e/spa'),
    base: '/spa/',
    logLevel: 'warn',
    resolve: {
      // Exact match only: `resilient-socket/react` must not become dist/index.js/react.
      alias: [{ find: /^resilient-socket$/, replacement: join(dist, 'index.js') }],
    },
    build: {
      outDir,
      emptyOutDir: true,
      sourcemap: true,
      target: 'es2022',
    },
  })
  process.env.E2E_SPA_DIR = outDir
  return () => rm(outDir, { recursive: true, force: true })
}
