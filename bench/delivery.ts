// Delivery: does each contender carry what the application sent, with its defaults?
//   burst: 50,000 × 30 B sent at once while connected; counted as they echo back.
//   cut stream: 5,000 messages at 1 per ms through a relay that resets the connection
//   5 times at seeded random moments; counted by the server.
// The outage (server down while the application keeps sending) is in recovery.ts.
import type { Conn, Contender, Payload, Tally } from './contenders.ts'
import { startCutProxy } from './cut-proxy.ts'
import type { RecoveryCount } from './echo-server.ts'
import { settle, withTimeout } from './rounds.ts'
import { type EchoServer, sleep } from './server-process.ts'
import { seededRandom } from './stats.ts'

export const BURST_MESSAGES = 50_000
/** `{"type":"b","data":"00000123"}`: 30 bytes, the same for every contender. */
export const BURST_FRAME_BYTES = 30
export const CUT_MESSAGES = 5000
export const CUTS = 5
/** The cuts fall in this window of the 5 s stream (ms from its start). */
const CUT_WINDOW_MS = [250, 4750] as const
const OPEN_TIMEOUT_MS = 10_000

const snapshot = (tally: Tally | undefined): Tally | null =>
  tally ? { ...tally, drops: { ...tally.drops } } : null

/** Messages `drop` reported, whatever the reason. */
export function dropsOf(tally: Tally | null): number {
  return tally ? Object.values(tally.drops).reduce((sum, n) => sum + (n ?? 0), 0) : 0
}

/**
 * Sends `count` messages at `perMs` per millisecond, paced by the clock: a timer that fires
 * late sends the backlog at once, so a busy machine changes the spacing, not the count.
 */
export async function paced(count: number, perMs: number, send: (seq: number) => void) {
  const start = performance.now()
  let seq = 0
  while (seq < count) {
    const due = Math.min(count, Math.floor((performance.now() - start) * perMs) + 1)
    while (seq < due) send(seq++)
    await sleep(1)
  }
}

/**
 * Polls the server's count of `rec` frames until all `expected` arrived, or the connection
 * is open and nothing more has arrived for `quietMs`, or `timeoutMs` passed. A contender
 * that is still reconnecting is waited for (up to the timeout); one that cannot reconnect
 * (raw) stops being waited for once it falls quiet.
 */
export async function awaitDelivery(
  server: EchoServer,
  conn: Conn,
  expected: number,
  { quietMs = 1500, timeoutMs = 30_000 } = {},
): Promise<RecoveryCount> {
  const deadline = performance.now() + timeoutMs
  let count = await server.recovery()
  let last = count.received
  let movedAt = performance.now()
  while (count.unique < expected && performance.now() < deadline) {
    await sleep(50)
    count = await server.recovery()
    const reconnecting = conn.nextOpen !== undefined && !conn.isOpen()
    if (count.received !== last || reconnecting) {
      last = count.received
      movedAt = performance.now()
    } else if (performance.now() - movedAt > quietMs) break
  }
  // Anything straggling in twice would show up here.
  await sleep(200)
  return server.recovery()
}

export interface BurstRun {
  echoed: number
  /** Sent but never echoed. */
  missing: number
  /** From the first send to the last echo (ms). */
  ms: number
  tally: Tally | null
}

/** 50,000 × 30 B in one synchronous loop on an open connection; echoes counted by sequence. */
export async function burst(
  contender: Contender,
  server: EchoServer,
  count = BURST_MESSAGES,
): Promise<BurstRun> {
  const conn = contender.create(server.url)
  await withTimeout(conn.opened(), OPEN_TIMEOUT_MS, `${contender.name} open`)
  const seen = new Uint8Array(count)
  let echoed = 0
  let lastAt = Number.NaN
  conn.onEcho<string>((data) => {
    const seq = Number(data)
    if (seen[seq] === 0) {
      seen[seq] = 1
      echoed++
    }
    lastAt = performance.now()
  })
  const start = performance.now()
  for (let seq = 0; seq < count; seq++) conn.send('b', String(seq).padStart(8, '0'))
  await settle(
    () => echoed === count,
    () => echoed,
    { quietMs: 2000, timeoutMs: 60_000 },
  )
  const tally = snapshot(conn.tally)
  conn.close()
  await server.waitForConnections(0, true)
  return { echoed, missing: count - echoed, ms: lastAt - start, tally }
}

/** One direction of a cut stream, as its receiver counted it. */
export interface StreamCount {
  delivered: number
  lost: number
  duplicates: number
  inOrder: boolean
}

/** The server → client half: the client counts; the server says what it could not send. */
export interface PushRun extends StreamCount {
  /** A plain client had no connection open when the server produced the frame. */
  noConnection: number
  /** The server's send rejected (a connection that had just closed). */
  refused: number
}

export interface CutRun extends StreamCount {
  /** Resets that found a connection to cut (the others fell while the client was reconnecting). */
  hits: number
  /** When the resets fell, in ms from the start of the stream. */
  cutAtMs: number[]
  tally: Tally | null
  /** Lost messages that the contender's own queue dropped (reported through `drop`). */
  droppedByQueue: number
  /** Lost messages that were written to a connection that was then reset. */
  lostOnWire: number
  /** The companion's stream to the client over the same cuts; null against the echo server. */
  push: PushRun | null
  /** The first errors the companion reported in the run, if any. */
  serverErrors: string[]
}

/** Counts distinct sequence numbers, duplicates and order, as they arrive. */
export class SeqCounter {
  readonly #seen: Uint8Array
  #last = -1
  received = 0
  unique = 0
  inOrder = true

  constructor(count: number) {
    this.#seen = new Uint8Array(count)
  }

  add(seq: number): void {
    this.received++
    if (seq <= this.#last) this.inOrder = false
    this.#last = Math.max(this.#last, seq)
    if (this.#seen[seq] === 0) {
      this.#seen[seq] = 1
      this.unique++
    }
  }

  result(count: number): StreamCount {
    return {
      delivered: this.unique,
      lost: count - this.unique,
      duplicates: this.received - this.unique,
      inOrder: this.inOrder,
    }
  }
}

/** The seeded reset times of one round, shared by every contender in it. */
export function cutTimes(seed: number): number[] {
  const random = seededRandom(seed)
  const [from, to] = CUT_WINDOW_MS
  return Array.from({ length: CUTS }, () => Math.round(from + random() * (to - from))).sort(
    (a, b) => a - b,
  )
}

/**
 * The cut stream against `server`. With the companion (`both`), the server streams the
 * same count to the client at the same rate over the same resets, and the client counts it.
 */
export async function cutStream(
  contender: Contender,
  server: EchoServer,
  seed: number,
  both = false,
): Promise<CutRun> {
  await server.reset()
  const proxy = await startCutProxy(server.port)
  const conn = contender.create(proxy.url)
  const timers: ReturnType<typeof setTimeout>[] = []
  const pushes = new SeqCounter(CUT_MESSAGES)
  conn.onEcho<Payload>((data, type) => {
    if (type === 'push') pushes.add(data.seq)
  })
  try {
    await withTimeout(conn.opened(), OPEN_TIMEOUT_MS, `${contender.name} open`)
    const cutAtMs = cutTimes(seed)
    let hits = 0
    for (const at of cutAtMs) timers.push(setTimeout(() => proxy.cut() > 0 && hits++, at))
    if (both) await server.push(CUT_MESSAGES, 1)
    await paced(CUT_MESSAGES, 1, (seq) => conn.send('rec', { seq, text: 'through the cuts' }))
    const count = await awaitDelivery(server, conn, CUT_MESSAGES)
    let push: PushRun | null = null
    let serverErrors: string[] = []
    if (both) {
      const done = async (): Promise<boolean> => {
        const { push: sent } = await server.companionCount()
        return sent.done && pushes.unique >= sent.sent
      }
      await settle(done, () => pushes.received, { quietMs: 1500, timeoutMs: 30_000 })
      const { push: sent, errors } = await server.companionCount()
      push = {
        ...pushes.result(CUT_MESSAGES),
        noConnection: sent.noConnection,
        refused: sent.refused,
      }
      serverErrors = errors
    }
    const tally = snapshot(conn.tally)
    const lost = CUT_MESSAGES - count.unique
    const droppedByQueue = dropsOf(tally)
    return {
      delivered: count.unique,
      lost,
      duplicates: count.duplicates,
      inOrder: count.inOrder,
      hits,
      cutAtMs,
      tally,
      droppedByQueue,
      lostOnWire: lost - droppedByQueue,
      push,
      serverErrors,
    }
  } finally {
    for (const timer of timers) clearTimeout(timer)
    conn.close()
    await proxy.close()
  }
}
