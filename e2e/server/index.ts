import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocketServer } from 'ws'
import { memoryStore, type SessionStore, selectProtocol } from '../../server/index.ts'
import type { RestartOptions, ServerControl } from './control.ts'
import { createControl } from './control.ts'
import { createRequestGuard } from './guard.ts'
import { createRequestHandler } from './http.ts'
import { Hub } from './hub.ts'
import type { ServerOptions } from './options.ts'
import { resolveServerOptions } from './options.ts'
import { Refusal } from './refusal.ts'
import { type Core, createCore } from './routes.ts'
import { createStaticHandler } from './static-files.ts'
import { createUpgradeHandler } from './upgrade.ts'

export type { ConnectionStatus } from './connection.ts'
export type { RestartOptions, ServerControl, ServerStatus } from './control.ts'
export { ControlError } from './control.ts'
export { isLoopbackOrigin } from './guard.ts'
export type { ServerOptions } from './options.ts'
export type { ReceivedMessage } from './received-log.ts'
export type { ReliableOptions } from './routes.ts'
export type { IssuedToken } from './tokens.ts'

export interface ReferenceServer {
  /** `ws://127.0.0.1:PORT` (no trailing slash; append a path such as `/secure`). */
  readonly url: string
  /** `http://127.0.0.1:PORT`, for `/token`, `/control/*` and static files. */
  readonly httpUrl: string
  readonly port: number
  /**
   * What the HTTP control API requires as `Authorization: Bearer <controlSecret>`; the
   * `controlSecret` option, or random for this server. Kept across stop()/start().
   */
  readonly controlSecret: string
  readonly control: ServerControl
  /**
   * Crash: destroys every socket, abandons the handlers in flight, and stops listening. The
   * port number is kept for start(). With `{ store: 'drop' }` (the default) the reliable
   * sessions die too, as they do when a process with a memory store stops.
   */
  stop(options?: RestartOptions): Promise<void>
  /** Listens again on the same port. Rejects if something else took it meanwhile. */
  start(): Promise<void>
  /** Stops for good: every socket destroyed, every timer cleared, port released. */
  close(): Promise<void>
}

/**
 * Starts the reference echo server, the companion (`resilient-socket/server`) with the echo
 * handlers and a fault-control API; resolves once it is listening.
 */
export async function startServer(options: ServerOptions = {}): Promise<ReferenceServer> {
  const config = resolveServerOptions(options)
  const hub = new Hub(config)
  // The companion of the current "process"; null while down. The store outlives it when a
  // restart keeps it (a store outside the process, such as Redis, would).
  let core: Core | null = null
  let store: SessionStore = memoryStore()
  const refusal = new Refusal()
  const guard = createRequestGuard({
    bindHost: config.host,
    isOriginAllowed: config.isOriginAllowed,
    controlSecret: config.controlSecret,
  })
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: config.maxPayloadBytes,
    handleProtocols: (offered) => selectProtocol(offered),
  })
  const http = createServer()
  // Every TCP socket, HTTP or upgraded, so stop() can destroy them all and the port
  // is really free when it resolves.
  const sockets = new Set<Socket>()
  let port = config.port
  let up = false
  let closed = false
  // stop/start/close run one at a time; overlapping listen() and close() on one
  // http.Server leaves it in a state neither call reports.
  let queue: Promise<unknown> = Promise.resolve()
  const serially = <T>(step: () => Promise<T>): Promise<T> => {
    const result = queue.then(step)
    queue = result.catch(() => {})
    return result
  }
  let restartGeneration = 0
  let downtime: { timer: NodeJS.Timeout; wake: () => void } | null = null

  const listen = async (): Promise<void> => {
    if (closed) throw new Error('the reference server was closed')
    if (up) return
    core ??= createCore(hub, {
      store,
      authTimeoutMs: config.authTimeoutMs,
      maxPayloadBytes: config.maxPayloadBytes,
      reliable: config.reliable,
    })
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        http.off('listening', onListening)
        reject(error)
      }
      const onListening = (): void => {
        http.off('error', onError)
        resolve()
      }
      http.once('error', onError)
      http.once('listening', onListening)
      http.listen({ port, host: config.host })
    })
    const address = http.address()
    if (address !== null && typeof address === 'object') port = address.port
    up = true
  }

  const unlisten = async ({ store: keep = 'drop' }: RestartOptions = {}): Promise<void> => {
    if (keep !== 'keep' && keep !== 'drop') {
      throw new RangeError(`store must be 'keep' or 'drop', got ${String(keep)}`)
    }
    if (!up) return
    up = false
    for (const connection of hub.all()) connection.terminate()
    core?.end()
    core = null
    if (keep === 'drop') store = memoryStore()
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve, reject) =>
      http.close((error) => (error ? reject(error) : resolve())),
    )
  }

  const endDowntime = (): void => {
    if (downtime === null) return
    clearTimeout(downtime.timer)
    downtime.wake()
    downtime = null
  }

  const restart = async (downMs: number, options: RestartOptions): Promise<void> => {
    restartGeneration += 1
    const generation = restartGeneration
    endDowntime()
    await serially(() => unlisten(options))
    // A newer restart or a close() may take over at any await below.
    const superseded = (): boolean => generation !== restartGeneration || closed
    if (superseded()) return
    await new Promise<void>((wake) => {
      const entry = {
        timer: setTimeout(() => {
          if (downtime === entry) downtime = null
          wake()
        }, downMs),
        wake,
      }
      downtime = entry
    })
    if (superseded()) return
    await serially(listen)
  }

  const control = createControl({
    hub,
    refusal,
    isUp: () => up,
    companion: () => core?.server ?? null,
    restart,
  })

  http.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  http.on(
    'request',
    createRequestHandler({
      control,
      guard,
      serveStatic: createStaticHandler(config.staticDirs),
      bodyLimitBytes: config.maxPayloadBytes,
      log: config.log,
    }),
  )
  http.on(
    'upgrade',
    createUpgradeHandler({
      wss,
      hub,
      refusal,
      guard,
      accept: (connection, request) => {
        if (core === null) connection.terminate()
        else core.open(connection, request)
        hub.waiters.check()
      },
    }),
  )
  http.on('clientError', (_error, socket) => socket.destroy())
  // Errors while listening (EMFILE and the like) must not crash a test run.
  http.on('error', (error) => config.log(`server error: ${error.message}`))

  await serially(listen)

  const displayHost = urlHost(config.host)
  const server: ReferenceServer = {
    get url() {
      return `ws://${displayHost}:${port}`
    },
    get httpUrl() {
      return `http://${displayHost}:${port}`
    },
    get port() {
      return port
    },
    controlSecret: config.controlSecret,
    control,
    stop: (stopOptions) => serially(() => unlisten(stopOptions)),
    start: () => serially(listen),
    close: async () => {
      closed = true
      endDowntime()
      await serially(() => unlisten())
      hub.waiters.rejectAll(new Error('the reference server was closed'))
      wss.close()
    },
  }
  return server
}

/** The host to put in URLs: a wildcard bind is reached through loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}
