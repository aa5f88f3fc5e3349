#!/usr/bin/env node
// Runs on Node >= 22.18 (type stripping): `npm run server` uses the project's pinned Node 22,
// whatever the system `node` is.
import { parseArgs } from 'node:util'
import { isLoopbackOrigin, startServer } from './index.ts'

const USAGE = `Usage: npm run server -- [options]   (or: node e2e/server/cli.ts on Node >= 22.18)

Starts the resilient-socket reference echo server: resilient-socket/server with echo
handlers (plain and reliable clients on every path) and a fault-control API.

Options:
  --port <n>              port to listen on (default 8787; 0 picks a free one)
  --host <addr>           interface to bind (default 127.0.0.1)
  --allow-origin <origin> also let pages on this origin connect, fetch /token and call
                          /control (repeatable; loopback origins are always allowed)
  --static <prefix=dir>   serve a directory read-only under a URL prefix (repeatable)
  --quiet                 do not log connections and faults
  -h, --help              show this help

Environment:
  CONTROL_SECRET          the control API secret (at least 16 characters); random if unset

Control API (loopback peers only, header "Authorization: Bearer <control secret>"):
POST /control/drop, /control/close?code=&reason=, /control/silence?on=1|0,
/control/refuse?ms=, /control/pause?on=1|0, /control/expire-tokens,
/control/invalidate-tokens, /control/restart?downMs=&store=drop|keep, /control/send-raw,
/control/broadcast, /control/send-to?sid=; GET /control/status. Tokens: GET /token?ttlMs=.`

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        static: { type: 'string', multiple: true, default: [] },
        'allow-origin': { type: 'string', multiple: true, default: [] },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (error) {
    return fail((error as Error).message)
  }
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2))
  if (args.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const port = Number(args.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`invalid --port ${args.port}`)

  const staticDirs: Record<string, string> = {}
  for (const mount of args.static) {
    const eq = mount.indexOf('=')
    if (eq <= 0 || eq === mount.length - 1) fail(`--static expects prefix=dir, got ${mount}`)
    staticDirs[mount.slice(0, eq)] = mount.slice(eq + 1)
  }

  const extraOrigins = new Set<string>()
  for (const origin of args['allow-origin']) {
    let parsed: URL
    try {
      parsed = new URL(origin)
    } catch {
      fail(`--allow-origin expects an origin such as https://app.example, got ${origin}`)
    }
    // Browsers send the serialised origin: scheme, host and a non-default port only.
    if (parsed.origin === 'null' || parsed.origin !== origin.replace(/\/$/, '')) {
      fail(`--allow-origin expects an origin such as https://app.example, got ${origin}`)
    }
    extraOrigins.add(parsed.origin)
  }

  const log = args.quiet
    ? undefined
    : (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`)
  const server = await startServer({
    port,
    host: args.host,
    static: staticDirs,
    allowedOrigins: (origin) => isLoopbackOrigin(origin) || extraOrigins.has(origin),
    controlSecret: process.env.CONTROL_SECRET || null,
    ...(log === undefined ? {} : { log }),
  }).catch((error: unknown) => fail(`could not start: ${(error as Error).message}`))

  process.stdout.write(
    [
      `reference server listening on ${server.url} (Node ${process.version})`,
      `  tokens:         GET ${server.httpUrl}/token`,
      `  control API:    ${server.httpUrl}/control/*`,
      `  control secret: ${server.controlSecret}`,
      `  e.g. curl -X POST -H 'Authorization: Bearer ${server.controlSecret}' ${server.httpUrl}/control/drop`,
      '',
    ].join('\n'),
  )

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    log?.(`${signal}: shutting down`)
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${(error as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', () => shutdown('SIGINT'))
  process.once('SIGTERM', () => shutdown('SIGTERM'))
}

await main()
