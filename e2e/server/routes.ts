import { EventEmitter } from 'node:events'
import {
  attach,
  type ConnectionContext,
  createSocketServer,
  RequestError,
  type SessionStore,
  type SocketServer,
  type SocketServerOptions,
} from '../../server/index.ts'
import type { Connection } from './connection.ts'
import type { Hub } from './hub.ts'
import { isStreamFrame } from './stream.ts'

export const SLOW_DEFAULT_MS = 1000
export const SLOW_MAX_MS = 60_000

/** Paths whose connections must authenticate before anything else. */
const SECURE_PATH = '/secure'

/**
 * Tokens carry no identity here, so every holder is one principal: a reliable session
 * opened with one token resumes with the next (a renewal must not change the principal).
 */
const PRINCIPAL = 'token-holder'

/** The companion's reliable-mode settings the reference server lets tests change. */
export type ReliableOptions = Pick<
  SocketServerOptions,
  | 'sessionTtlMs'
  | 'maxUnackedFrames'
  | 'maxUnackedBytes'
  | 'whenUnackedFull'
  | 'ackAfterFrames'
  | 'ackDelayMs'
  | 'resultTtlMs'
>

export interface CoreConfig {
  store: SessionStore
  authTimeoutMs: number
  maxPayloadBytes: number
  reliable: ReliableOptions | false
}

/**
 * One "process" of the reference server: the companion with the echo server's handlers.
 * A restart ends it and starts another, so what a process loses in a crash (handlers in
 * flight, their timers, and with a fresh memory store every session) is lost here too.
 */
export interface Core {
  readonly server: SocketServer
  /** Hands an accepted socket to the companion. */
  open(connection: Connection, request: unknown): void
  /** The crash: timers of handlers in flight die without answering. Sockets are the caller's. */
  end(): void
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function createCore(hub: Hub, config: CoreConfig): Core {
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  // In a reliable session this is logged and sequenced; it fails only when the session is
  // gone or full, which a test server reports and goes on.
  const deliver = async (to: ConnectionContext, type: string, data: unknown): Promise<void> => {
    try {
      await to.send(type, data)
    } catch (error) {
      hub.log(`${to.id} could not get "${type}": ${(error as Error).message}`)
    }
  }

  const server = createSocketServer({
    handlers: {
      echo: (data) => data,
      slow: async (data) => {
        await later(slowDelayMs(data))
        return data
      },
      fail: (data) => {
        const options = isRecord(data) ? data : {}
        throw new RequestError(
          typeof options.code === 'string' ? options.code : 'FAILED',
          typeof options.message === 'string' ? options.message : 'failed on purpose',
        )
      },
      whoami: (_data, ctx) => ({ connectionId: ctx.id }),
    },
    authenticate: (token, { extra }) => {
      const grant = hub.tokens.verify(token)
      if (grant === null) return false
      const connection = hub.of(extra)
      if (connection !== undefined) connection.grant = grant
      return { principal: PRINCIPAL, expiresAt: grant.expiresAt }
    },
    requireAuth: (extra) => hub.of(extra)?.path === SECURE_PATH,
    authTimeoutMs: config.authTimeoutMs,
    store: config.store,
    ...(config.reliable === false ? { reliable: false } : config.reliable),
    maxMessageBytes: config.maxPayloadBytes,
    connectionId: (extra) => hub.of(extra)?.id ?? '',
    onConnect: (ctx) => {
      const connection = hub.of(ctx.extra)
      if (connection !== undefined) connection.context = ctx
    },
    onReceive: (type, data, ctx) => hub.receive(type, data, ctx),
    onBinary: (data, ctx) => {
      hub.of(ctx.extra)?.sendRaw(data)
    },
    onUnhandledEvent: (type, data, ctx) => deliver(ctx, type, data),
    onError: (error, ctx) => {
      if (error.code === 'DECODE_FAILED') hub.malformed(ctx?.id)
      else hub.log(`${ctx?.id ?? 'server'} ${error.code}: ${error.message}`)
    },
  })

  server.on('broadcast', async (data, ctx) => {
    const payload = { from: ctx.id, payload: data }
    const sends: Promise<void>[] = []
    for (const connection of hub.open()) {
      if (connection.context !== undefined) {
        sends.push(deliver(connection.context, 'broadcast', payload))
      }
    }
    await Promise.all(sends)
  })

  server.on('private', async (data, ctx) => {
    const to = isRecord(data) && typeof data.to === 'string' ? data.to : undefined
    const target = to === undefined ? undefined : hub.find(to)?.context
    if (target === undefined) {
      hub.log(`${ctx.id} private message to unknown connection dropped`)
      return
    }
    await deliver(target, 'private', {
      from: ctx.id,
      payload: isRecord(data) ? data.payload : undefined,
    })
  })

  // The playground's delivery check: each numbered frame is checked and answered with a
  // numbered reply, so the client can judge both directions (e2e/server/stream.ts).
  server.on('stream', async (data, ctx) => {
    if (!isStreamFrame(data)) {
      hub.log(`${ctx.id} sent a stream frame without { run, n } (dropped)`)
      return
    }
    const reply = hub.streams.receive(data, ctx.deliveryId)
    if (reply === null) hub.log(`${ctx.id} stream frame ${ctx.deliveryId} redelivered (skipped)`)
    else await deliver(ctx, 'stream', reply)
  })

  // The companion's own `ws` adapter, fed one socket at a time: an emitter instead of the
  // WebSocketServer, because the sockets it gets are the silenceable wrappers.
  const sockets = new EventEmitter()
  const detach = attach(sockets, server)

  return {
    server,
    open(connection, request) {
      sockets.emit('connection', connection.socket, request)
    },
    end() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      detach()
    },
  }
}

function slowDelayMs(data: unknown): number {
  const requested = isRecord(data) ? data.delayMs : undefined
  if (typeof requested !== 'number' || !Number.isFinite(requested) || requested < 0)
    return SLOW_DEFAULT_MS
  return Math.min(requested, SLOW_MAX_MS)
}
