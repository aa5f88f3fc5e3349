// `npm run demo`: the reference server plus the playground (Vite dev server), both on
// loopback, until Ctrl+C. Runs on Node 22 straight from TypeScript (type stripping).
import { fileURLToPath } from 'node:url'
import { styleText } from 'node:util'
import { createServer, type ViteDevServer } from 'vite'
import { type ReferenceServer, type ServerOptions, startServer } from '../e2e/server/index.ts'

const HOST = '127.0.0.1'
const SERVER_PORT = 8787
const PLAYGROUND_PORT = 5173
/** The playground's page (Vite, any local port) is the only origin that needs to connect. */
const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/

const serverLog = (line: string): void => {
  process.stdout.write(`${styleText('dim', 'server │')} ${line}\n`)
}

/** On 8787 like the CLI, or on a free port when something else has it. */
async function startReferenceServer(): Promise<ReferenceServer> {
  const options: ServerOptions = {
    host: HOST,
    allowedOrigins: (origin) => LOCAL_ORIGIN.test(origin),
    log: serverLog,
  }
  try {
    return await startServer({ ...options, port: SERVER_PORT })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    return startServer({ ...options, port: 0 })
  }
}

async function main(): Promise<void> {
  const server = await startReferenceServer()
  let vite: ViteDevServer | undefined

  let stopping = false
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    process.stdout.write(`\n${signal}: stopping the playground and the reference server…\n`)
    const results = await Promise.allSettled([vite?.close(), server.close()])
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) process.stderr.write(`shutdown failed: ${String(failed.reason)}\n`)
    process.exit(failed ? 1 : 0)
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))

  // Read by playground/src/config.ts; Vite exposes VITE_* variables of its process.
  process.env.VITE_SERVER_URL = server.url
  vite = await createServer({
    configFile: fileURLToPath(new URL('../playground/vite.config.ts', import.meta.url)),
    server: { host: HOST, port: PLAYGROUND_PORT, strictPort: false },
    clearScreen: false,
    logLevel: 'warn',
  })
  await vite.listen()
  const url = vite.resolvedUrls?.local[0] ?? `http://${HOST}:${PLAYGROUND_PORT}/`

  process.stdout.write(
    `\n  ${styleText(['bold', 'green'], '➜  Open the playground:')} ${styleText('cyan', url)}\n` +
      `     reference server ${server.url} (control API ${server.httpUrl}/control) · Ctrl+C stops both\n\n`,
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed to start: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
