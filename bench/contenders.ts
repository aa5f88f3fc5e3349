// The three ways to hold a WebSocket that the bench compares, behind one small adapter so
// that every scenario runs the same code for each of them. Each adapter does the same JSON
// work per message: raw and partysocket call JSON.stringify / JSON.parse themselves,
// resilient-socket does it in its codec (send(type, data) and onMessage(type, handler)).
import ReconnectingWebSocket from 'partysocket/ws'
import type { DropReason, SendResult, SocketOptions } from '../src/index.ts'
import { libraryEntry } from './library.ts'

type Library = typeof import('../src/index.ts')

const entry = libraryEntry()
export const lib = (await import(entry.url.href)) as Library
export const libraryFrom = entry.from

/** A small application message: what the throughput, latency and delivery scenarios send. */
export interface Payload {
  seq: number
  text: string
}

/**
 * `bench`: throughput and latency; `rec`: counted by the server (cut stream, outage); `b`:
 * the 30-byte burst frames; `s`: the size sweep's padded frames; `push`: the companion's
 * server → client stream in the cut stream. The string types carry their padding as
 * `data`, so that every contender sends the very same bytes.
 */
export interface BenchSchema {
  incoming: { bench: Payload; rec: Payload; b: string; s: string; push: Payload }
  outgoing: { bench: Payload; rec: Payload; b: string; s: string }
  requests: { echo: { request: Payload; response: Payload } }
}

export type MessageType = keyof BenchSchema['outgoing']
export type IncomingType = keyof BenchSchema['incoming']
type DataOf<K extends MessageType> = BenchSchema['outgoing'][K]

/** resilient-socket's own account of a run: what `send()` returned and what `drop` reported. */
export interface Tally {
  sent: number
  queued: number
  dropped: number
  /** `drop` events by reason. */
  drops: Partial<Record<DropReason, number>>
}

/** One connected client, whatever it is made of. */
export interface Conn {
  /** Encodes `{ type, data }` as JSON and sends it. */
  send<K extends MessageType>(type: K, data: DataOf<K>): void
  /** The one handler for decoded echoes of every type above (replaces the previous one). */
  onEcho<T = Payload>(handler: (data: T, type: IncomingType) => void): void
  /** Typed request/response, where the contender has it. */
  request?(data: Payload): Promise<Payload>
  /** Resolves when open: at once if open now, else at the next open. */
  opened(): Promise<void>
  /** Resolves at the next open after this call, for contenders that reconnect by themselves. */
  nextOpen?(): Promise<void>
  isOpen(): boolean
  /** Only resilient-socket has one: counts since the client was created. */
  readonly tally?: Tally
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

const ECHO_TYPES: readonly IncomingType[] = ['bench', 'rec', 'b', 's', 'push']

// BENCH_FROM may name an older copy, from before the feature factories: that one took
// `heartbeat: true` and answered request() without a `requests` option.
const factories = lib as Partial<Pick<Library, 'heartbeat' | 'requests'>>
const hasFactories =
  typeof factories.heartbeat === 'function' && typeof factories.requests === 'function'

/**
 * resilient-socket's options in every scenario: its documented defaults (queue bounds
 * included: no scenario may raise them), plus the heartbeat (its default 25 s interval, so
 * an idle connection owns one timer) and typed dispatch.
 */
export const RESILIENT_OPTIONS: SocketOptions<BenchSchema> = hasFactories
  ? { heartbeat: lib.heartbeat() }
  : ({ heartbeat: true } as never)

/** The options above as the results record them (a feature is an object of functions). */
export const RESILIENT_OPTIONS_SHOWN = { heartbeat: hasFactories ? 'heartbeat()' : true }

/** What the `request()` rows add: request/response is opt-in since the feature factories. */
export const REQUEST_OPTIONS: SocketOptions<BenchSchema> = hasFactories
  ? { requests: lib.requests() }
  : {}

// The reliable mode came after the feature factories: an older copy (BENCH_FROM) has none,
// and the scenarios leave its rows out.
const reliableFactory = (lib as Partial<Pick<Library, 'reliable'>>).reliable
export const hasReliable = typeof reliableFactory === 'function'

/** The name of the reliable mode's rows (against the companion: it needs a server that speaks it). */
export const RELIABLE_NAME = 'resilient-socket reliable()'

/**
 * resilient-socket with `reliable: reliable()` (its defaults; the mode's heartbeat is the
 * one of every scenario), or null for a copy that has no reliable mode.
 */
export function reliableContender(name = RELIABLE_NAME): Contender | null {
  if (!reliableFactory) return null
  return resilient(name, { reliable: reliableFactory() })
}

/** Parses an echo as raw and partysocket users would, and hands it to the current handler. */
function jsonEchoes(
  target: { onmessage: ((event: MessageEvent<string>) => void) | null },
  handler: () => (data: unknown, type: IncomingType) => void,
): void {
  target.onmessage = (event) => {
    const message = JSON.parse(event.data) as { type: IncomingType; data: unknown }
    if (ECHO_TYPES.includes(message.type)) handler()(message.data, message.type)
  }
}

/** The platform WebSocket (Node 22's global, from undici). No recovery of any kind. */
export const raw: Contender = {
  name: 'raw WebSocket',
  create(url) {
    const ws = new WebSocket(url)
    let handler: (data: unknown, type: IncomingType) => void = noop
    let isOpen = false
    const openWaiters: (() => void)[] = []
    ws.onopen = () => {
      isOpen = true
      for (const wake of openWaiters.splice(0)) wake()
    }
    ws.onclose = () => {
      isOpen = false
    }
    jsonEchoes(ws, () => handler)
    ws.onerror = noop
    return {
      // After a close the platform discards sends silently; before the open it throws.
      send: (type, data) => ws.send(JSON.stringify({ type, data })),
      onEcho: (next) => {
        handler = next as typeof handler
      },
      opened: () =>
        isOpen ? Promise.resolve() : new Promise<void>((wake) => openWaiters.push(wake)),
      isOpen: () => ws.readyState === 1,
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
      let handler: (data: unknown, type: IncomingType) => void = noop
      for (const type of ECHO_TYPES) socket.onMessage(type, (data) => handler(data, type))
      const tally: Tally = { sent: 0, queued: 0, dropped: 0, drops: {} }
      socket.on('drop', ({ reason }) => {
        tally.drops[reason] = (tally.drops[reason] ?? 0) + 1
      })
      // Errors (refused connections during an outage) are expected; keep them off the console.
      socket.on('error', noop)
      const count = (result: SendResult): void => {
        tally[result]++
      }
      return {
        send: (type, data) => count(socket.send(type, data as never)),
        onEcho: (next) => {
          handler = next as typeof handler
        },
        request: (data) => socket.request('echo', data),
        opened: () =>
          socket.state === 'open'
            ? Promise.resolve()
            : new Promise<void>((wake) => socket.once('open', () => wake())),
        nextOpen: () => new Promise<void>((wake) => socket.once('open', () => wake())),
        isOpen: () => socket.state === 'open',
        tally,
        close: () => socket.close(),
      }
    },
    idle(url) {
      const socket = new lib.ReconnectingSocket<BenchSchema>(url, {
        ...RESILIENT_OPTIONS,
        ...options,
      })
      return {
        opened: new Promise((wake) => socket.once('open', () => wake())),
        close: () => socket.close(),
      }
    },
  }
}

/**
 * partysocket's ReconnectingWebSocket (`partysocket/ws`) over Node 22's global WebSocket,
 * with its defaults (it queues sends while closed, without a bound; fixed 3 s first delay).
 */
export const partysocket: Contender = {
  name: 'partysocket 1.3.0',
  create(url) {
    const ws = new ReconnectingWebSocket(url, undefined, { WebSocket: globalThis.WebSocket })
    let handler: (data: unknown, type: IncomingType) => void = noop
    jsonEchoes(ws as unknown as Parameters<typeof jsonEchoes>[0], () => handler)
    ws.onerror = noop
    const nextOpen = (): Promise<void> =>
      new Promise<void>((wake) => ws.addEventListener('open', () => wake(), { once: true }))
    return {
      send: (type, data) => ws.send(JSON.stringify({ type, data })),
      onEcho: (next) => {
        handler = next as typeof handler
      },
      opened: () => (ws.readyState === 1 ? Promise.resolve() : nextOpen()),
      nextOpen,
      isOpen: () => ws.readyState === 1,
      close: () => ws.close(),
    }
  },
  idle(url) {
    const ws = new ReconnectingWebSocket(url, undefined, { WebSocket: globalThis.WebSocket })
    return { opened: onceOpen(ws), close: () => ws.close() }
  },
}
