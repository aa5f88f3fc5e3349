// The scenarios, in order, and how their figures are summarised, judged and printed.
import {
  type Contender,
  libraryFrom,
  partysocket,
  RELIABLE_NAME,
  REQUEST_OPTIONS,
  RESILIENT_OPTIONS_SHOWN,
  raw,
  reliableContender,
  resilient,
} from './contenders.ts'
import { idleFootprint, settledTimers } from './memory.ts'
import { pingPong, pipelined } from './messaging.ts'
import { alternate } from './rounds.ts'
import {
  burstSection,
  cutSection,
  type DeliveryResults,
  herdSection,
  judgeDelivery,
  outageSection,
  type RedisSection,
  type RedisSkipped,
  redisSection,
  redisSkipReason,
  renderDelivery,
  renderRedis,
  sweepSection,
  type Target,
} from './sections.ts'
import { EchoServer } from './server-process.ts'
import { measureSizes, type SizeReport } from './size.ts'
import { median, percentile, ratio, round } from './stats.ts'
import { kb, ms, signedKb, table, times } from './table.ts'

export const THROUGHPUT_MESSAGES = 50_000
export const ROUND_TRIPS = 5000
export const IDLE_INSTANCES = 500
/** Longer than partysocket's 5 s uptime timer, so that idle means idle. */
const SETTLE_MS = 6000

/**
 * Measured rounds per scenario (after the warm-up round, for those timed). The message
 * scenarios are short and the noisiest on a shared machine, so they get more; the delivery
 * scenarios count messages, and each of their rounds takes seconds of real time (the
 * outage, the herd's reconnection). `--rounds` sets them all.
 */
export const DEFAULT_ROUNDS = {
  memory: 3,
  throughput: 6,
  latency: 6,
  burst: 3,
  cut: 2,
  outage: 2,
  herd: 1,
  sweep: 4,
  redis: 4,
}
export type Scenario = keyof typeof DEFAULT_ROUNDS
/** Every section `npm run bench` knows, in the order they run. */
export const SECTIONS = [...(Object.keys(DEFAULT_ROUNDS) as Scenario[]), 'size'] as const

const TARGETS = {
  throughputRatio: 1.1,
  latencyRatio: 1.1,
  heapOverRawBytes: 4096,
  timersPerIdleInstance: 1,
}

export interface ThroughputRow {
  name: string
  /** The server it ran against; the ratios are to the raw WebSocket on the same one. */
  server: ServerKind
  medianMs: number
  ratio: number
  messagesPerSecond: number
  /** The client process's CPU time for the same runs (median), and its ratio to raw's. */
  cpuMedianMs: number
  cpuRatio: number
  /** Median over rounds of this round's time / raw's time in the same round. */
  pairedRatio: number
  runsMs: number[]
  outOfOrder: number
  /** Fewest echoes in a round; short of the count means the contender dropped some. */
  deliveredMin: number
}

export interface LatencyRow {
  name: string
  medianMs: number
  p99Ms: number
  ratioMedian: number
  ratioP99: number
  /** Median over rounds of this round's median / raw's median in the same round. */
  pairedRatioMedian: number
  runs: { medianMs: number; p99Ms: number }[]
}

export interface MemoryRow {
  name: string
  /** The server it was connected to (a reliable socket needs the companion). */
  server: ServerKind
  heapBytesPerInstance: number
  heapOverRawBytes: number
  timersJustOpened: number
  timersSettled: number | null
  runsHeapBytes: number[]
}

export interface BenchResults extends DeliveryResults {
  library: { from: string; options: unknown }
  /** Measured rounds of the sections that ran. */
  rounds: Partial<Record<Scenario, number>>
  /** Wall time of each section (s), to keep the whole run within a few minutes. */
  sectionDurationsS: Record<string, number>
  memoryMeasured: string
  throughput?: { messages: number; rows: ThroughputRow[] }
  latency?: { roundTrips: number; rows: LatencyRow[] }
  memory?: { instances: number; settleMs: number; rows: MemoryRow[] }
  size?: SizeReport
  /** The Redis store next to the memory store, or why it was skipped (no redis-server). */
  redis?: RedisSection | RedisSkipped
  targets: Target[]
}

/** The thin echo server, or resilient-socket/server (bench/companion-server.ts). */
export type ServerKind = 'echo' | 'companion'

/** The raw WebSocket against the companion: the reliable mode's like-for-like reference. */
const rawOnCompanion: Contender = { ...raw, name: 'raw WebSocket (companion)' }

const r1 = (value: number): number => round(value, 1)
const r3 = (value: number): number => round(value, 3)

export class Bench {
  readonly #rounds: Record<Scenario, number>
  readonly #log: (line: string) => void
  #results: BenchResults | null = null

  constructor({ rounds, log }: { rounds?: number; log: (line: string) => void }) {
    this.#rounds = { ...DEFAULT_ROUNDS }
    if (rounds !== undefined)
      for (const key of Object.keys(this.#rounds)) this.#rounds[key as Scenario] = rounds
    this.#log = log
  }

  /**
   * Idle memory runs first by default. Once a Node process has carried traffic and been
   * through a few full collections, V8 starts giving new undici WebSocket objects (and,
   * following them, new ReconnectingSocket objects) dictionary-mode properties, which
   * shifts every instance by several KB; a fresh process gives the reproducible figure.
   * `memoryAfterTraffic` measures that other state instead.
   */
  async run(sections: Set<string>, memoryAfterTraffic = false): Promise<BenchResults> {
    const rounds = Object.fromEntries(
      Object.entries(this.#rounds).filter(([section]) => sections.has(section)),
    )
    const results: BenchResults = {
      library: { from: libraryFrom, options: RESILIENT_OPTIONS_SHOWN },
      rounds,
      memoryMeasured: memoryAfterTraffic
        ? 'after the traffic scenarios'
        : 'first, in a fresh process',
      sectionDurationsS: {},
      targets: [],
    }
    this.#log(`resilient-socket from ${libraryFrom}; measured rounds: ${roundsText(rounds)}`)
    const needsServer = ['throughput', 'latency', 'memory', 'burst', 'cut', 'sweep'].some((s) =>
      sections.has(s),
    )
    const server = needsServer ? await EchoServer.start() : null
    // The cut stream runs every contender against the companion; throughput and memory
    // add reliable() rows, which need it, unless the copy measured has no reliable mode.
    const reliableRows = reliableContender() !== null
    const needsCompanion =
      sections.has('cut') ||
      (reliableRows && (sections.has('throughput') || sections.has('memory')))
    const companion = needsCompanion ? await EchoServer.companion() : null
    const timed = async <T>(section: string, run: () => T | Promise<T>): Promise<T> => {
      const start = performance.now()
      const result = await run()
      const seconds = Math.round((performance.now() - start) / 100) / 10
      results.sectionDurationsS[section] = seconds
      this.#log(`${section}: done in ${seconds} s`)
      return result
    }
    try {
      const memory = server && sections.has('memory')
      const idle = async () =>
        server ? timed('memory', () => this.#memory(server, companion)) : undefined
      if (memory && !memoryAfterTraffic) results.memory = await idle()
      if (server && sections.has('throughput'))
        results.throughput = await timed('throughput', () => this.#throughput(server, companion))
      if (server && sections.has('latency'))
        results.latency = await timed('latency', () => this.#latency(server))
      if (server && sections.has('burst'))
        results.burst = await timed('burst', () => burstSection(server, this.#options('burst')))
      if (companion && sections.has('cut'))
        results.cut = await timed('cut', () => cutSection(companion, this.#options('cut')))
      if (server && sections.has('sweep'))
        results.sweep = await timed('sweep', () => sweepSection(server, this.#options('sweep')))
      if (memory && memoryAfterTraffic) results.memory = await idle()
    } finally {
      await server?.stop()
      await companion?.stop()
    }
    // These two start and kill servers of their own.
    if (sections.has('outage'))
      results.outage = await timed('outage', () => outageSection(this.#options('outage')))
    if (sections.has('herd'))
      results.herd = await timed('herd', () => herdSection(this.#options('herd')))
    // Its own redis-server and an in-process node; without redis-server it says so and ends.
    if (sections.has('redis')) {
      const skipped = redisSkipReason()
      if (skipped) {
        results.redis = { skipped }
        this.#log(`redis: skipped, ${skipped}`)
      } else results.redis = await timed('redis', () => redisSection(this.#options('redis')))
    }
    if (sections.has('size')) {
      this.#log('size: npx size-limit --json')
      results.size = await timed('size', () => measureSizes())
    }
    results.targets = judge(results)
    this.#results = results
    return results
  }

  #options(section: Scenario) {
    return {
      rounds: this.#rounds[section],
      progress: (label: string) => this.#log(`${section}: ${label}`),
    }
  }

  async #throughput(
    server: EchoServer,
    companion: EchoServer | null,
  ): Promise<BenchResults['throughput']> {
    // The burst (about 3 MB) outruns the default 1 MiB high-water mark, so most of it goes
    // through the send queue; the second row shows what that backpressure costs. The
    // reliable mode needs a server that speaks it, so its row runs against the companion,
    // next to the raw WebSocket on the same companion (which parses and answers each frame).
    const reliableOne = companion ? reliableContender(`${RELIABLE_NAME} (companion)`) : null
    const onCompanion = new Set<Contender>(reliableOne ? [rawOnCompanion, reliableOne] : [])
    const contenders = [
      raw,
      resilient(),
      resilient('resilient-socket (highWaterMarkBytes: Infinity)', {
        highWaterMarkBytes: Number.POSITIVE_INFINITY,
      }),
      partysocket,
      ...onCompanion,
    ]
    const serverOf = (c: Contender): EchoServer =>
      onCompanion.has(c) && companion ? companion : server
    const runs = await alternate(contenders, this.#options('throughput'), (c) =>
      pipelined(c, serverOf(c), THROUGHPUT_MESSAGES),
    )
    const rows = contenders.map((contender): ThroughputRow => {
      const baseRuns = runs.get(onCompanion.has(contender) ? rawOnCompanion : raw) ?? []
      const base = median(baseRuns.map((run) => run.ms))
      const baseCpu = median(baseRuns.map((run) => run.cpuMs))
      const own = runs.get(contender) ?? []
      const medianMs = median(own.map((run) => run.ms))
      const cpuMs = median(own.map((run) => run.cpuMs))
      return {
        name: contender.name,
        server: onCompanion.has(contender) ? 'companion' : 'echo',
        medianMs: r1(medianMs),
        ratio: r3(ratio(medianMs, base)),
        messagesPerSecond: Math.round((THROUGHPUT_MESSAGES / medianMs) * 1000),
        cpuMedianMs: r1(cpuMs),
        cpuRatio: r3(ratio(cpuMs, baseCpu)),
        pairedRatio: r3(median(own.map((run, i) => ratio(run.ms, baseRuns[i]?.ms ?? Number.NaN)))),
        runsMs: own.map((run) => r1(run.ms)),
        outOfOrder: own.reduce((sum, run) => sum + run.outOfOrder, 0),
        deliveredMin: Math.min(...own.map((run) => run.delivered)),
      }
    })
    return { messages: THROUGHPUT_MESSAGES, rows }
  }

  async #latency(server: EchoServer): Promise<BenchResults['latency']> {
    const viaRequest = resilient('resilient-socket request()', REQUEST_OPTIONS)
    const viaSend = resilient('resilient-socket send/onMessage')
    const contenders = [raw, viaSend, viaRequest, partysocket]
    const runs = await alternate(contenders, this.#options('latency'), (c) =>
      pingPong(c, server, ROUND_TRIPS, c === viaRequest ? 'request' : 'send'),
    )
    const summary = (contender: Contender) =>
      (runs.get(contender) ?? []).map((samples) => ({
        medianMs: median(samples),
        p99Ms: percentile(samples, 99),
      }))
    const baseRuns = summary(raw)
    const baseMedian = median(baseRuns.map((run) => run.medianMs))
    const baseP99 = median(baseRuns.map((run) => run.p99Ms))
    const rows = contenders.map((contender): LatencyRow => {
      const own = summary(contender)
      const medianMs = median(own.map((run) => run.medianMs))
      const p99Ms = median(own.map((run) => run.p99Ms))
      return {
        name: contender.name,
        medianMs: r3(medianMs),
        p99Ms: r3(p99Ms),
        ratioMedian: r3(ratio(medianMs, baseMedian)),
        ratioP99: r3(ratio(p99Ms, baseP99)),
        pairedRatioMedian: r3(
          median(own.map((run, i) => ratio(run.medianMs, baseRuns[i]?.medianMs ?? Number.NaN))),
        ),
        runs: own.map((run) => ({ medianMs: r3(run.medianMs), p99Ms: r3(run.p99Ms) })),
      }
    })
    return { roundTrips: ROUND_TRIPS, rows }
  }

  async #memory(server: EchoServer, companion: EchoServer | null): Promise<BenchResults['memory']> {
    const reliableOne = companion ? reliableContender(`${RELIABLE_NAME} (companion)`) : null
    const contenders = [
      raw,
      resilient('resilient-socket (heartbeat on)'),
      partysocket,
      ...(reliableOne ? [reliableOne] : []),
    ]
    const serverOf = (c: Contender): EchoServer =>
      c === reliableOne && companion ? companion : server
    const runs = await alternate(contenders, this.#options('memory'), (c) =>
      idleFootprint(c, serverOf(c), IDLE_INSTANCES),
    )
    this.#log(
      `memory: timers after ${SETTLE_MS / 1000} s idle, ${IDLE_INSTANCES} of each held at once`,
    )
    const settled = await settledTimers(contenders, serverOf, IDLE_INSTANCES, SETTLE_MS)
    const heap = (contender: Contender) =>
      median((runs.get(contender) ?? []).map((run) => run.heapBytesPerInstance))
    const baseHeap = heap(raw)
    const rows = contenders.map(
      (contender): MemoryRow => ({
        name: contender.name,
        server: contender === reliableOne ? 'companion' : 'echo',
        heapBytesPerInstance: Math.round(heap(contender)),
        heapOverRawBytes: Math.round(heap(contender) - baseHeap),
        timersJustOpened: r3(
          median((runs.get(contender) ?? []).map((run) => run.timersPerInstance)),
        ),
        timersSettled: settled.has(contender) ? r3(settled.get(contender) as number) : null,
        runsHeapBytes: (runs.get(contender) ?? []).map((run) =>
          Math.round(run.heapBytesPerInstance),
        ),
      }),
    )
    return { instances: IDLE_INSTANCES, settleMs: SETTLE_MS, rows }
  }

  render(machine: Record<string, unknown>, durationS: number): string {
    const results = this.#results
    if (!results) return ''
    const out: string[] = []
    out.push(
      `Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${String(machine.node).slice(1)}, ${machine.date}, load average ${(machine.loadAverage as number[]).join(' ')} at start, ${(machine.loadAverageAtEnd as number[]).join(' ')} at the end (2 cores shared with other work make single figures noisy)`,
      `resilient-socket from ${results.library.from}, with its defaults (plus the heartbeat); contenders alternating; measured rounds (after one warm-up round where timed): ${roundsText(results.rounds)}; ${durationS} s in all.`,
    )
    const { throughput, latency, memory, size } = results
    if (throughput) {
      out.push(
        '',
        `Pipelined throughput: ${throughput.messages.toLocaleString('en')} JSON messages sent at once, until the last echo is decoded (median). Rows marked (companion) ran against resilient-socket/server, which parses and answers every frame; their ratios are to the raw WebSocket on the companion`,
        '',
        table(
          [
            'contender',
            'wall time',
            'vs raw',
            'paired',
            'messages/s',
            'client CPU',
            'vs raw',
            'runs (ms)',
          ],
          throughput.rows.map((row) => [
            row.deliveredMin < throughput.messages
              ? `${row.name} (only ${row.deliveredMin.toLocaleString('en')} echoed)`
              : row.name,
            ms(row.medianMs, 0),
            times(row.ratio),
            times(row.pairedRatio),
            row.messagesPerSecond.toLocaleString('en'),
            ms(row.cpuMedianMs, 0),
            times(row.cpuRatio),
            row.runsMs.map((v) => v.toFixed(0)).join(' '),
          ]),
        ),
      )
    }
    if (latency) {
      out.push(
        '',
        `Ping-pong latency: ${latency.roundTrips.toLocaleString('en')} sequential round trips (median over rounds of each round's median and p99)`,
        '',
        table(
          ['contender', 'median', 'vs raw', 'paired', 'p99', 'vs raw'],
          latency.rows.map((row) => [
            row.name,
            ms(row.medianMs, 3),
            times(row.ratioMedian),
            times(row.pairedRatioMedian),
            ms(row.p99Ms, 3),
            times(row.ratioP99),
          ]),
        ),
      )
    }
    if (memory) {
      out.push(
        '',
        `Idle footprint: ${memory.instances} connected idle instances, measured ${results.memoryMeasured} (heapUsed after forced GC, per instance, native WebSocket included; median)`,
        '',
        table(
          [
            'contender',
            'heap / instance',
            'vs raw',
            'timers / instance (just opened)',
            `timers / instance (${memory.settleMs / 1000} s idle)`,
          ],
          memory.rows.map((row) => [
            row.name,
            kb(row.heapBytesPerInstance),
            signedKb(row.heapOverRawBytes),
            row.timersJustOpened.toFixed(2),
            row.timersSettled === null ? 'n/a' : row.timersSettled.toFixed(2),
          ]),
        ),
      )
    }
    for (const section of renderDelivery(results)) out.push('', section)
    if (results.redis) out.push('', renderRedis(results.redis))
    if (size) {
      out.push(
        '',
        `Size (min+gzip, with dependencies; ${size.note}${size.builtAt ? `; dist/index.js built ${size.builtAt}` : ''})`,
        '',
      )
      if (size.entries.length === 0) out.push(`not measured: ${size.note}`)
      else
        out.push(
          table(
            ['entry', 'file', 'size', 'budget', 'within'],
            size.entries.map((entry) => [
              entry.name,
              entry.path,
              entry.bytes === null ? 'missing' : `${(entry.bytes / 1000).toFixed(2)} kB`,
              entry.limitBytes === null ? '—' : `${(entry.limitBytes / 1000).toFixed(2)} kB`,
              entry.passed ? 'yes' : 'no',
            ]),
          ),
        )
    }
    // A run of sections that judge nothing (`redis` alone) has no targets to show.
    if (results.targets.length === 0) return out.join('\n')
    out.push(
      '',
      'Targets',
      '',
      table(
        ['target', 'measured', 'met'],
        results.targets.map((t) => [
          t.target,
          t.value,
          t.met === null ? 'not measured' : t.met ? 'yes' : 'NO',
        ]),
      ),
    )
    return out.join('\n')
  }
}

function roundsText(rounds: Partial<Record<Scenario, number>>): string {
  return Object.entries(rounds)
    .map(([scenario, n]) => `${scenario} ${n}`)
    .join(', ')
}

function judge(results: BenchResults): Target[] {
  const targets: Target[] = []
  const ours = (name: string) => name.startsWith('resilient-socket')
  const through = results.throughput?.rows.find((row) => row.name === 'resilient-socket')
  if (through) {
    targets.push({
      target: `throughput within ${TARGETS.throughputRatio}× of raw (heartbeat + typed dispatch on)`,
      value: times(through.ratio),
      met: through.ratio <= TARGETS.throughputRatio,
    })
  }
  const reliableThrough = results.throughput?.rows.find((row) => row.name.startsWith(RELIABLE_NAME))
  if (reliableThrough) {
    targets.push({
      target: `throughput with reliable() within ${TARGETS.throughputRatio}× of raw (both on the companion)`,
      value: `${times(reliableThrough.ratio)} (paired ${times(reliableThrough.pairedRatio)}, client CPU ${times(reliableThrough.cpuRatio)})`,
      met:
        reliableThrough.deliveredMin === results.throughput?.messages &&
        reliableThrough.ratio <= TARGETS.throughputRatio,
    })
  }
  const latency = results.latency?.rows.find((row) => row.name.endsWith('send/onMessage'))
  if (latency) {
    targets.push({
      target: `ping-pong median within ${TARGETS.latencyRatio}× of raw (send/onMessage)`,
      value: times(latency.ratioMedian),
      met: latency.ratioMedian <= TARGETS.latencyRatio,
    })
  }
  const request = results.latency?.rows.find((row) => row.name.endsWith('request()'))
  if (request) {
    targets.push({
      target: `ping-pong median within ${TARGETS.latencyRatio}× of raw (request(), for reference)`,
      value: times(request.ratioMedian),
      met: request.ratioMedian <= TARGETS.latencyRatio,
    })
  }
  targets.push(...judgeDelivery(results))
  const memory = results.memory?.rows.find((row) => ours(row.name))
  if (memory) {
    targets.push({
      target: `idle heap within ${TARGETS.heapOverRawBytes / 1024} KB of raw per instance`,
      value: signedKb(memory.heapOverRawBytes),
      met: memory.heapOverRawBytes <= TARGETS.heapOverRawBytes,
    })
    const timers = Math.max(memory.timersJustOpened, memory.timersSettled ?? 0)
    targets.push({
      target: `at most ${TARGETS.timersPerIdleInstance} timer per idle instance (heartbeat on)`,
      value: timers.toFixed(2),
      met: timers <= TARGETS.timersPerIdleInstance,
    })
  }
  if (results.size) {
    targets.push({
      target: 'size-limit budgets',
      value:
        results.size.entries
          .map(
            (e) =>
              `${e.name}: ${e.bytes === null ? 'missing' : `${(e.bytes / 1000).toFixed(2)} kB`}`,
          )
          .join('; ') || results.size.note,
      met: results.size.measured ? results.size.entries.every((e) => e.passed) : null,
    })
  }
  return targets
}
