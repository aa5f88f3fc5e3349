// Pipelined throughput and ping-pong latency: the per-message cost of each contender's
// send and receive path, against an echo server in another process.
import type { Conn, Contender, Payload } from './contenders.ts'
import { settle, withTimeout } from './rounds.ts'
import type { EchoServer } from './server-process.ts'

/** The payload text: a small chat-sized message (the frame is about 60 bytes). */
const TEXT = 'hello, world'
const RUN_TIMEOUT_MS = 60_000

async function connect(contender: Contender, server: EchoServer): Promise<Conn> {
  const conn = contender.create(server.url)
  await withTimeout(conn.opened(), 10_000, `${contender.name} open`)
  return conn
}

async function disconnect(conn: Conn, server: EchoServer): Promise<void> {
  conn.close()
  await server.waitForConnections(0, true)
}

export interface ThroughputRun {
  ms: number
  /** The client process's CPU time (user + system) over the same span: less sensitive to a busy machine. */
  cpuMs: number
  messagesPerSecond: number
  outOfOrder: number
  /** Echoes received; short of the count only if the contender dropped some (then `ms` is NaN). */
  delivered: number
}

/**
 * Sends `count` messages in one synchronous loop (as fast as the contender accepts them)
 * and measures the wall time until the last echo has been decoded. A contender that drops
 * some ends the run 2 s after its last echo, with `ms` NaN.
 */
export async function pipelined(
  contender: Contender,
  server: EchoServer,
  count: number,
): Promise<ThroughputRun> {
  const conn = await connect(contender, server)
  let received = 0
  let outOfOrder = 0
  let lastAt = Number.NaN
  conn.onEcho<Payload>((data) => {
    if (data.seq !== received) outOfOrder++
    received++
    lastAt = performance.now()
  })
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  for (let seq = 0; seq < count; seq++) conn.send('bench', { seq, text: TEXT })
  const complete = await settle(
    () => received === count,
    () => received,
    { quietMs: 2000, timeoutMs: RUN_TIMEOUT_MS },
  )
  const cpu = process.cpuUsage(cpuStart)
  const ms = complete ? lastAt - start : Number.NaN
  await disconnect(conn, server)
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    messagesPerSecond: (count / ms) * 1000,
    outOfOrder,
    delivered: received,
  }
}

/** How a latency run sends one message and waits for its answer. */
export type PingMode = 'send' | 'request'

/** `count` sequential round trips; returns each round trip's time in milliseconds. */
export async function pingPong(
  contender: Contender,
  server: EchoServer,
  count: number,
  mode: PingMode,
): Promise<number[]> {
  const conn = await connect(contender, server)
  const samples = new Array<number>(count)
  let answer: (data: Payload) => void = () => {}
  conn.onEcho<Payload>((data) => answer(data))
  const request = conn.request
  if (mode === 'request' && !request) throw new Error(`${contender.name} has no request()`)
  const run = async (): Promise<void> => {
    for (let seq = 0; seq < count; seq++) {
      const start = performance.now()
      let echo: Payload
      if (mode === 'request')
        echo = await (request as (data: Payload) => Promise<Payload>)({ seq, text: TEXT })
      else {
        const next = new Promise<Payload>((resolve) => {
          answer = resolve
        })
        conn.send('bench', { seq, text: TEXT })
        echo = await next
      }
      samples[seq] = performance.now() - start
      if (echo.seq !== seq) throw new Error(`${contender.name}: echo ${echo.seq} for ${seq}`)
    }
  }
  await withTimeout(run(), RUN_TIMEOUT_MS, `${contender.name} ping-pong`)
  await disconnect(conn, server)
  return samples
}
