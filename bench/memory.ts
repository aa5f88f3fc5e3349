// Idle footprint: what one connected, idle instance costs in heap and in timers.
import type { Contender, Idle } from './contenders.ts'
import { settleHeap, withTimeout } from './rounds.ts'
import { type EchoServer, sleep } from './server-process.ts'

/** Ref'd timers alive now (Node lists each active `setTimeout`/`setInterval` as 'Timeout'). */
export function activeTimers(): number {
  let count = 0
  for (const resource of process.getActiveResourcesInfo()) if (resource === 'Timeout') count++
  return count
}

/** TCP sockets this process holds open. */
function tcpSockets(): number {
  let count = 0
  for (const resource of process.getActiveResourcesInfo()) if (resource === 'TCPSocketWrap') count++
  return count
}

async function openAll(contender: Contender, server: EchoServer, count: number): Promise<Idle[]> {
  const instances: Idle[] = []
  for (let i = 0; i < count; i++) instances.push(contender.idle(server.url))
  await withTimeout(
    Promise.all(instances.map((instance) => instance.opened)),
    30_000,
    `${contender.name}: ${count} connections`,
  )
  return instances
}

/** Closes them and waits until both ends have let go of every TCP socket. */
async function closeAll(instances: Idle[], server: EchoServer, tcpBefore: number): Promise<void> {
  await closeGroups(new Map([[server, instances]]), tcpBefore)
}

/** The same for instances spread over several servers: all closed first, then waited for. */
async function closeGroups(held: Map<EchoServer, Idle[]>, tcpBefore: number): Promise<void> {
  for (const instances of held.values()) for (const instance of instances) instance.close()
  for (const server of held.keys()) await server.waitForConnections(0, true, 30_000)
  const deadline = Date.now() + 30_000
  while (tcpSockets() > tcpBefore && Date.now() < deadline) await sleep(20)
}

export interface IdleRun {
  heapBytesPerInstance: number
  /** Outside the JS heap (socket buffers and the like), for context only. */
  externalBytesPerInstance: number
  timersPerInstance: number
}

/**
 * Opens `count` instances, waits until all are open and the server holds them, then takes
 * heap (after full collections) and timer counts against the same readings before.
 */
export async function idleFootprint(
  contender: Contender,
  server: EchoServer,
  count: number,
): Promise<IdleRun> {
  const tcpBefore = tcpSockets()
  const heapBefore = await settleHeap()
  const externalBefore = process.memoryUsage().external
  const timersBefore = activeTimers()
  const instances = await openAll(contender, server, count)
  await server.waitForConnections(count, false, 30_000)
  await sleep(100)
  const heapAfter = await settleHeap()
  const externalAfter = process.memoryUsage().external
  const timersAfter = activeTimers()
  await closeAll(instances, server, tcpBefore)
  return {
    heapBytesPerInstance: (heapAfter - heapBefore) / count,
    externalBytesPerInstance: (externalAfter - externalBefore) / count,
    timersPerInstance: (timersAfter - timersBefore) / count,
  }
}

/**
 * Timers once the connections have settled: each contender's `count` instances are opened
 * on top of the previous ones' (up to one `count` per contender at once, each on its
 * `serverOf` server), and counted after `settleMs` of idleness, when timers tied to the
 * open itself (partysocket's 5 s uptime timer) have run out.
 */
export async function settledTimers(
  contenders: readonly Contender[],
  serverOf: (contender: Contender) => EchoServer,
  count: number,
  settleMs: number,
): Promise<Map<Contender, number>> {
  const perInstance = new Map<Contender, number>()
  const held = new Map<EchoServer, Idle[]>()
  const tcpBefore = tcpSockets()
  let previous = activeTimers()
  try {
    for (const contender of contenders) {
      const server = serverOf(contender)
      const opened = await openAll(contender, server, count)
      held.set(server, [...(held.get(server) ?? []), ...opened])
      await sleep(settleMs)
      const timers = activeTimers()
      perInstance.set(contender, (timers - previous) / count)
      previous = timers
    }
  } finally {
    await closeGroups(held, tcpBefore)
  }
  return perInstance
}
