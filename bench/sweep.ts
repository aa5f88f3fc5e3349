// Size sweep: bulk sends of one message size, all in one synchronous loop, until the last
// echo. Most sizes outrun resilient-socket's default 1 MiB high-water mark, so this is the
// cost of its backpressure path next to a raw socket that hands everything to the runtime.
import type { Contender } from './contenders.ts'
import { settle, withTimeout } from './rounds.ts'
import type { EchoServer } from './server-process.ts'

export interface SweepSize {
  label: string
  /** Bytes per frame, the JSON envelope included. */
  bytes: number
  count: number
}

/** About 1.5, 8, 16 and 16 MiB per run. */
export const SWEEP_SIZES: readonly SweepSize[] = [
  { label: '30 B', bytes: 30, count: 50_000 },
  { label: '1 KB', bytes: 1024, count: 8000 },
  { label: '16 KB', bytes: 16 * 1024, count: 1000 },
  { label: '256 KB', bytes: 256 * 1024, count: 64 },
]

/** `{"type":"s","data":"…"}` is 22 bytes around the padding. */
const ENVELOPE_BYTES = 22

export interface SweepRun {
  /** From the first send to the last echo (ms); NaN if some never came back. */
  ms: number
  /** The client process's CPU time (user + system) over the run: less sensitive to other load. */
  cpuMs: number
  delivered: number
}

export async function sweep(
  contender: Contender,
  server: EchoServer,
  { bytes, count }: SweepSize,
): Promise<SweepRun> {
  const padding = 'x'.repeat(bytes - ENVELOPE_BYTES)
  const conn = contender.create(server.url)
  await withTimeout(conn.opened(), 10_000, `${contender.name} open`)
  let delivered = 0
  let lastAt = Number.NaN
  conn.onEcho(() => {
    delivered++
    lastAt = performance.now()
  })
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  for (let i = 0; i < count; i++) conn.send('s', padding)
  const complete = await settle(
    () => delivered === count,
    () => delivered,
    { quietMs: 2000, timeoutMs: 60_000 },
  )
  const cpu = process.cpuUsage(cpuStart)
  conn.close()
  await server.waitForConnections(0, true)
  return {
    ms: complete ? lastAt - start : Number.NaN,
    cpuMs: (cpu.user + cpu.system) / 1000,
    delivered,
  }
}
