// The three ways to hold a WebSocket that the bench compares, behind one small adapter so
// that every scenario runs the same code for each of them. Each adapter does the same JSON
// work per message: raw and partysocket call JSON.stringify / JSON.parse themselves,
// resilient-socket does it in its codec (send(type, data) and onMessage(type, handler)).
import { existsSync, readdirSync, statSync } from 'node:fs'
import ReconnectingWebSocket from 'partysocket/ws'
import type { SocketOptions } from '../src/index.ts'

type Library = typeof import('../src/index.ts')

const DIST_ENTRY = new URL('../dist/index.js', import.meta.url)
const SRC_DIR = new URL('../src/', import.meta.url)

/** The newest modification time under src/, to tell whether dist/ was built from it. */
function newestSource(dir: URL): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, dir)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(url) : statSync(url).mtimeMs)
  }
  return newest
}

/**
 * resilient-socket as users get it (dist/index.js) when that build is newer than every file
 * in src/; otherwise straight from src/ through Node's type stripping, so that the figures
 * are never those of a stale build. `BENCH_FROM=src` or `BENCH_FROM=dist` forces one.
 */
async function loadLibrary(): Promise<{ lib: Library; from: string }> {
  const wanted = process.env.BENCH_FROM
  const built = existsSync(DIST_ENTRY)
  const fresh = built && statSync(DIST_ENTRY).mtimeMs >= newestSource(SRC_DIR)
  if (wanted === 'dist' || (wanted !== 'src' && fresh)) {
    return {
      lib: (await import(DIST_ENTRY.href)) as Library,
      from: fresh ? 'dist/index.js' : 'dist/index.js (older than src/)',
    }
  }
  const why =
    wanted === 'src' ? 'BENCH_FROM=src' : built ? 'dist/ is older than src/' : 'dist/ not built'
  return { lib: (await import('../src/index.ts')) as Library, from: `src/index.ts (${why})` }
}

export const { lib, from: libraryFrom } = await loadLibrary()

/** A small application message: what the throughput and latency scenarios send. */
export interface Payload {
  seq: number
  text: string
}

export interface BenchSchema {
  incoming: { bench: Payload; rec: Payload }
  outgoing: { bench: Payload; rec: Payload }
  requests: { echo: { request: Payload; response: Payload } }
}

export type MessageType = 'bench' | 'rec'

/** One connected client, whatever it is made of. */
export interface Conn {
  /** Encodes `{ type, data }` as JSON and sends it. */
  send(type: MessageType, data: Payload): void
  /** The one handler for decoded `bench` and `rec` echoes (replaces the previous one). */
  onEcho(handler: (data: Payload) => void): void
  /** Typed request/response, where the contender has it. */
  request?(data: Payload): Promise<Payload>
  /** Resolves when open: at once if open now, else at the next open. */
  opened(): Promise<void>
  /** Resolves at the next open after this call, for contenders that reconnect by themselves. */
  nextOpen?(): Promise<void>
  close(): void
}

/** A bare instance with nothing of the bench around it, for the idle-footprint scenario. */
export interface Idle {
  readonly opened: Promise<void>
  close(): void
}

export interface Contender {
  readonly name: string
  /** Creates the client and starts connecting; does not wait for the open. */
  create(url: string): Conn
  /** Just the instance and one listener for its first open. */
  idle(url: string): Idle
}

function onceOpen(target: EventTarget): Promise<void> {
  return new Promise((wake) => target.addEventListener('open', () => wake(), { once: true }))
}

const noop = (): void => {}

/**
 * resilient-socket's options in every scenario: heartbeat on (its default 25 s interval,
 * so an idle connection owns one timer), typed dispatch, default backoff. The queue is
 * sized to hold the whole pipelined burst: the burst outruns the socket's 1 MiB
 * high-water mark, and the default 1000-message queue would drop the overflow (reported
 * as `drop`, as designed) instead of holding it.
 */
export const RESILIENT_OPTIONS: SocketOptions<BenchSchema> = {
  heartbeat: true,
  queue: { maxMessages: 100_000, maxBytes: 64 * 1024 * 1024 },
}

/** Idle instances: the defaults plus the heartbeat (whose timer is the one an idle socket keeps). */
const idleOptions: SocketOptions<BenchSchema> = { heartbeat: true }

/** The platform WebSocket (Node 22's global, from undici). No recovery of any kind. */
export const raw: Contender = {
  name: 'raw WebSocket',
  create(url) {
    const ws = new WebSocket(url)
    let handler: (data: Payload) => void = noop
    let isOpen = false
    const openWaiters: (() => void)[] = []
    ws.onopen = () => {
      isOpen = true
      for (const wake of openWaiters.splice(0)) wake()
    }
    ws.onmessage = (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as { type: string; data: Payload }
      if (message.type === 'bench' || message.type === 'rec') handler(message.data)
    }
    ws.onerror = noop
    return {
      send: (type, data) => ws.send(JSON.stringify({ type, data })),
      onEcho: (next) => {
        handler = next
      },
      opened: () =>
        isOpen ? Promise.resolve() : new Promise<void>((wake) => openWaiters.push(wake)),
      close: () => ws.close(),
    }
  },
  idle(url) {
    const ws = new WebSocket(url)
    return { opened: onceOpen(ws), close: () => ws.close() }
  },
}

/** The library under test, with the options above (plus any given per scenario). */
export function resilient(
  name = 'resilient-socket',
  options: SocketOptions<BenchSchema> = {},
): Contender {
  return {
    name,
    create(url) {
      const socket = new lib.ReconnectingSocket<BenchSchema>(url, {
        ...RESILIENT_OPTIONS,
        ...options,
      })
      let handler: (data: Payload) => void = noop
      socket.onMessage('bench', (data) => handler(data))
      socket.onMessage('rec', (data) => handler(data))
      // Errors (refused connections during an outage) are expected; keep them off the console.
      socket.on('error', noop)
      return {
        send: (type, data) => {
          socket.send(type, data)
        },
        onEcho: (next) => {
          handler = next
        },
        request: (data) => socket.request('echo', data),
        opened: () =>
          socket.state === 'open'
            ? Promise.resolve()
            : new Promise<void>((wake) => socket.once('open', () => wake())),
        nextOpen: () => new Promise<void>((wake) => socket.once('open', () => wake())),
        close: () => socket.close(),
      }
    },
    idle(url) {
      const socket = new lib.ReconnectingSocket<BenchSchema>(url, { ...idleOptions, ...options })
      return {
        opened: new Promise((wake) => socket.once('open', () => wake())),
        close: () => socket.close(),
      }
    },
  }
}

/**
 * partysocket's ReconnectingWebSocket (`partysocket/ws`) over Node 22's global WebSocket,
 * with its defaults (it queues sends while closed, without a bound).
 */
export const partysocket: Contender = {
  name: 'partysocket 1.3.0',
  create(url) {
    const ws = new ReconnectingWebSocket(url, undefined, { WebSocket: globalThis.WebSocket })
    let handler: (data: Payload) => void = noop
    ws.onmessage = (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as { type: string; data: Payload }
      if (message.type === 'bench' || message.type === 'rec') handler(message.data)
    }
    ws.onerror = noop
    const nextOpen = (): Promise<void> =>
      new Promise<void>((wake) => ws.addEventListener('open', () => wake(), { once: true }))
    return {
      send: (type, data) => ws.send(JSON.stringify({ type, data })),
      onEcho: (next) => {
        handler = next
      },
      opened: () => (ws.readyState === 1 ? Promise.resolve() : nextOpen()),
      nextOpen,
      close: () => ws.close(),
    }
  },
  idle(url) {
    const ws = new ReconnectingWebSocket(url, undefined, { WebSocket: globalThis.WebSocket })
    return { opened: onceOpen(ws), close: () => ws.close() }
  },
}
