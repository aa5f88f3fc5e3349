// `npm run demo`: the reference server plus the playground (Vite dev server), both on
// loopback, until Ctrl+C. Runs on Node 22 straight from TypeScript (type stripping).
import { fileURLToPath } from 'node:url'
import { styleText } from 'node:util'
import { createServer, type ViteDevServer } from 'vite'
import { type ReferenceServer, type ServerOptions, startServer } from '../e2e/server/index.ts'

const HOST = '127.0.0.1'
const SERVER_PORT = 8787
const PLAYGROUND_PORT = 5173

const serverLog = (line: string): void => {
  process.stdout.write(`${styleText('dim', 'server │')} ${line}\n`)
}

/** How long shutdown may take before the process gives up on a clean close. */
const SHUTDOWN_TIMEOUT_MS = 5000

/** On 8787 like the CLI, or on a free port when something else has it (and says so). */
async function startReferenceServer(): Promise<ReferenceServer> {
  // The default Origin allow-list (loopback pages only) is what the playground needs.
  const options: ServerOptions = { host: HOST, log: serverLog }
  try {
    return await startServer({ ...options, port: SERVER_PORT })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    const server = await startServer({ ...options, port: 0 })
    process.stdout.write(
      `${styleText('yellow', `Port ${SERVER_PORT} is taken:`)} the reference server uses port ${server.port} instead.\n`,
    )
    return server
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
    // A close that hangs (a connection that never lets go) must not keep the terminal;
    // unref'd, so it never holds the process open by itself.
    setTimeout(() => {
      process.stderr.write(`shutdown took over ${SHUTDOWN_TIMEOUT_MS / 1000} s; exiting anyway\n`)
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS).unref()
    const results = await Promise.allSettled([vite?.close(), server.close()])
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) process.stderr.write(`shutdown failed: ${String(failed.reason)}\n`)
    process.exit(failed ? 1 : 0)
  }
  // `on`, not `once`: one Ctrl+C or `kill` often arrives twice (the terminal or `timeout`
  // signals the whole process group, and npm forwards it to us as well), and a signal with no
  // listener left would kill the process mid-shutdown. Repeats are ignored; the timeout
  // in shutdown() is the way out of a shutdown that hangs.
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))

  // Read by playground/src/config.ts; Vite exposes VITE_* variables of its process. The
  // secret ends up in a module that only the playground's own page (or another loopback one:
  // Vite's CORS default) can read, and that Vite refuses to hand to another site.
  process.env.VITE_SERVER_URL = server.url
  process.env.VITE_CONTROL_SECRET = server.controlSecret
  const ownSigterm = new Set(process.listeners('SIGTERM'))
  vite = await createServer({
    configFile: fileURLToPath(new URL('../playground/vite.config.ts', import.meta.url)),
    server: { host: HOST, port: PLAYGROUND_PORT, strictPort: false },
    clearScreen: false,
    logLevel: 'warn',
  })
  // Vite adds a SIGTERM handler that calls process.exit() as soon as Vite alone is closed,
  // racing the reference server's close. Shutdown is ours: take that handler off.
  for (const listener of process.listeners('SIGTERM')) {
    if (!ownSigterm.has(listener)) process.off('SIGTERM', listener)
  }
  await vite.listen()
  const url = vite.resolvedUrls?.local[0] ?? `http://${HOST}:${PLAYGROUND_PORT}/`

  process.stdout.write(
    `\n  ${styleText(['bold', 'green'], '➜  Open the playground:')} ${styleText('cyan', url)}\n` +
      `     reference server ${server.url} (control API ${server.httpUrl}/control) · Ctrl+C stops both\n` +
      `     control secret ${styleText('dim', server.controlSecret)} (header Authorization: Bearer <secret>)\n\n`,
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed to start: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
