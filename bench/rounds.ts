import type { Contender } from './contenders.ts'

export interface RoundsOptions {
  /** Measured rounds after the warm-up round. */
  rounds: number
  /** Called before each run, e.g. to print progress. */
  progress?: (label: string) => void
  /**
   * Run a round first and throw it away. Off for the scenarios that count messages rather
   * than time them: a count needs no warm JIT.
   * @default true
   */
  warmUp?: boolean
}

/**
 * Runs every contender once per round, in the same order each time (A B C A B C …), so
 * that whatever else the machine is doing falls on all of them alike. Round 0 warms up
 * the JIT, the server and the kernel's socket buffers and is thrown away.
 */
export async function alternate<T>(
  contenders: readonly Contender[],
  { rounds, progress, warmUp = true }: RoundsOptions,
  run: (contender: Contender, round: number) => Promise<T>,
): Promise<Map<Contender, T[]>> {
  const results = new Map<Contender, T[]>(contenders.map((c) => [c, []]))
  for (let round = warmUp ? 0 : 1; round <= rounds; round++) {
    for (const contender of contenders) {
      progress?.(`${round === 0 ? 'warm-up' : `round ${round}/${rounds}`} ${contender.name}`)
      forceGc()
      const result = await run(contender, round)
      if (round > 0) results.get(contender)?.push(result)
    }
  }
  return results
}

/** A full collection, so that one contender's garbage is not collected on the next one's clock. */
export function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
}

/**
 * The most thorough collection V8 offers (the one it runs before giving up on memory:
 * several full passes with compaction, caches cleared), repeated across turns of the event
 * loop because WeakRef targets live until the current job ends and FinalizationRegistry
 * callbacks run as tasks (undici uses both). A plain `gc()` leaves enough allocator slack
 * behind to move a 500-instance reading by several KB per instance depending on what the
 * process did before; this one does not.
 */
export async function settleHeap(): Promise<number> {
  const gc = (globalThis as { gc?: (options?: object) => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  let used = Number.POSITIVE_INFINITY
  for (let i = 0; i < 5; i++) {
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })
    await new Promise((resolve) => setImmediate(resolve))
    const now = process.memoryUsage().heapUsed
    if (now >= used - 1024) return Math.min(now, used)
    used = now
  }
  return used
}

/** Rejects with `what` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface SettleOptions {
  /** Give up when `progress()` has not changed for this long (ms). */
  quietMs: number
  /** Give up after this long in any case (ms). */
  timeoutMs: number
  /** How often to look (ms). */
  pollMs?: number
}

/**
 * Waits until `done()` holds, or `progress()` has stood still for `quietMs`, or `timeoutMs`
 * has passed. For runs where a contender may lose messages: instead of a hang until a
 * timeout, the run ends shortly after the last arrival and reports what arrived.
 */
export async function settle(
  done: () => boolean | Promise<boolean>,
  progress: () => number | Promise<number>,
  { quietMs, timeoutMs, pollMs = 20 }: SettleOptions,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  let last = await progress()
  let movedAt = performance.now()
  for (;;) {
    if (await done()) return true
    const now = performance.now()
    if (now > deadline) return false
    const current = await progress()
    if (current !== last) {
      last = current
      movedAt = now
    } else if (now - movedAt > quietMs) return false
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
