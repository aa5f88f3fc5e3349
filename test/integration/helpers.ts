import { afterEach } from 'vitest'
import type { ReferenceServer, ServerOptions } from '../../e2e/server/index.ts'
import { startServer } from '../../e2e/server/index.ts'
import {
  type Logger,
  ReconnectingSocket,
  requests,
  type SocketEventName,
  type SocketEvents,
  type SocketOptions,
  type SocketSchema,
  type UntypedSchema,
  type UrlProvider,
} from '../../src/index.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { EVENT_NAMES } from '../helpers/unit-harness.ts'

/** Small delays keep the suite fast; the backoff shape itself is covered by unit tests. */
export const FAST_RETRY = { initialDelayMs: 50, maxDelayMs: 500 } as const

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `predicate` until it holds; fails with `what` once `timeoutMs` has passed. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await delay(10)
  }
}

/** A promise's outcome as a value, so a rejection that is checked later is never "unhandled". */
export type Outcome<T> =
  | { ok: true; value: T; at: number }
  | { ok: false; error: unknown; at: number }

export function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true, value, at: Date.now() }),
    (error: unknown) => ({ ok: false, error, at: Date.now() }),
  )
}

/** A reference server that also counts the connections it accepted (from its log). */
export type TestServer = ReferenceServer & {
  readonly logLines: string[]
  /** WebSocket connections accepted since start, across stop()/start(). */
  accepted(): number
}

export interface RecordedEvent {
  event: SocketEventName
  payload: unknown
  at: number
}

export interface Recorder {
  readonly events: RecordedEvent[]
  of<E extends SocketEventName>(event: E): SocketEvents[E][]
  /** Times (epoch ms) of each occurrence of `event`. */
  times(event: SocketEventName): number[]
}

/** Records every lifecycle event of a socket, in order, with the time it happened. */
export function record<S extends SocketSchema>(socket: ReconnectingSocket<S>): Recorder {
  const events: RecordedEvent[] = []
  for (const event of EVENT_NAMES) {
    socket.on(event, (payload) => events.push({ event, payload, at: Date.now() }))
  }
  return {
    events,
    of: <E extends SocketEventName>(event: E) =>
      events.filter((e) => e.event === event).map((e) => e.payload as SocketEvents[E]),
    times: (event) => events.filter((e) => e.event === event).map((e) => e.at),
  }
}

export interface LogLine {
  level: keyof Logger
  message: string
  fields: Record<string, unknown> | undefined
}

/** A logger that keeps every line, debug included. */
export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields })
    }
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  }
}

/**
 * Everything reachable from `value` as text: own properties, error messages, stacks and
 * causes, which JSON.stringify would skip. For "this secret appears nowhere" checks.
 */
export function deepText(value: unknown): string {
  const seen = new Set<unknown>()
  const parts: string[] = []
  const visit = (v: unknown): void => {
    if (v === null || v === undefined) return
    if (typeof v !== 'object' && typeof v !== 'function') {
      parts.push(String(v))
      return
    }
    if (seen.has(v)) return
    seen.add(v)
    if (v instanceof Error) {
      parts.push(v.name, v.message, v.stack ?? '')
      visit(v.cause)
    }
    if (typeof v === 'function') return
    for (const key of Reflect.ownKeys(v)) {
      parts.push(String(key))
      try {
        visit((v as Record<PropertyKey, unknown>)[key])
      } catch {
        // A throwing getter has nothing to leak.
      }
    }
  }
  visit(value)
  return parts.join('\n')
}

export interface TokenResponse {
  token: string
  expiresAt: number
}

/** A token from the reference server's HTTP endpoint, as an application would get one. */
export async function fetchToken(
  httpUrl: string,
  ttlMs: number,
  signal?: AbortSignal,
): Promise<TokenResponse> {
  const response = await fetch(`${httpUrl}/token?ttlMs=${ttlMs}`, { signal })
  if (!response.ok) throw new Error(`GET /token answered ${response.status}`)
  return (await response.json()) as TokenResponse
}

/**
 * Servers, proxies and sockets made through this are closed after each test (sockets
 * first, in reverse order of creation), whatever the test's outcome.
 */
export function integrationHarness(): {
  server(options?: ServerOptions): Promise<TestServer>
  proxy(targetPort: number): Promise<TcpProxy>
  socket<S extends SocketSchema = UntypedSchema>(
    url: UrlProvider,
    options?: SocketOptions<S>,
  ): ReconnectingSocket<S>
} {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    const failures: unknown[] = []
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup()
      } catch (error) {
        failures.push(error)
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'cleanup failed')
  })
  return {
    async server(options) {
      const logLines: string[] = []
      const server = await startServer({
        ...options,
        log: (line) => {
          logLines.push(line)
          options?.log?.(line)
        },
      })
      cleanups.push(() => server.close())
      return Object.assign(server, {
        logLines,
        accepted: () => logLines.filter((line) => / connected to /.test(line)).length,
      })
    },
    async proxy(targetPort) {
      const proxy = await startTcpProxy(targetPort)
      cleanups.push(() => proxy.close())
      return proxy
    },
    socket(url, options) {
      const socket = new ReconnectingSocket(url, {
        retry: FAST_RETRY,
        network: false,
        requests: requests(),
        ...options,
      })
      cleanups.push(() => socket.close())
      return socket
    },
  }
}
