import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { rawRequest } from './helpers.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SECRET = 'playground-test-secret-0123456789'

/** The playground's own Vite config, as `npm run demo` starts it with the server's secret. */
async function playgroundDevServer(): Promise<number> {
  vi.stubEnv('VITE_CONTROL_SECRET', SECRET)
  const vite = await createServer({
    configFile: `${root}playground/vite.config.ts`,
    cacheDir: `${root}node_modules/.cache/playground-vitest`,
    clearScreen: false,
    logLevel: 'silent',
    optimizeDeps: { noDiscovery: true, include: [] },
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  })
  onTestFinished(() => vite.close())
  await vite.listen()
  const address = vite.httpServer?.address()
  if (address === null || typeof address !== 'object' || address === undefined) {
    throw new Error('the playground dev server has no address')
  }
  return address.port
}

describe('the playground gets the control secret', () => {
  it('in the module its own page loads, and never in a load from another site', async () => {
    const port = await playgroundDevServer()

    const own = await rawRequest(port, '/src/config.ts', {
      headers: {
        'Sec-Fetch-Site': 'same-origin',
        'Sec-Fetch-Mode': 'cors',
        'Sec-Fetch-Dest': 'script',
      },
    })
    expect(own.status).toBe(200)
    expect(own.body).toContain(SECRET)

    for (const [mode, dest] of [
      ['no-cors', 'script'],
      ['no-cors', 'style'],
      ['cors', 'script'],
      ['cors', 'empty'],
    ]) {
      const foreign = await rawRequest(port, '/src/config.ts', {
        headers: {
          Origin: 'https://evil.example',
          'Sec-Fetch-Site': 'cross-site',
          'Sec-Fetch-Mode': mode as string,
          'Sec-Fetch-Dest': dest as string,
        },
      })
      expect(foreign.status, `${mode} ${dest}`).toBe(403)
      expect(foreign.body).not.toContain(SECRET)
    }

    // A link from another site still opens the playground.
    const navigation = await rawRequest(port, '/', {
      headers: {
        'Sec-Fetch-Site': 'cross-site',
        'Sec-Fetch-Mode': 'navigate',
        'Sec-Fetch-Dest': 'document',
      },
    })
    expect(navigation.status).toBe(200)
  })
})
