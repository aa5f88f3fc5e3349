// The delivery, herd and size-sweep sections of `npm run bench`: each one runs its
// scenario side by side for every contender, summarises the rounds, prints a table and
// says which targets of issue 14 it meets. Every contender runs with its defaults; a row
// that sets an option names it.
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import {
  type Contender,
  hasReliable,
  partysocket,
  RELIABLE_NAME,
  raw,
  reliableContender,
  resilient,
  type Tally,
} from './contenders.ts'
import {
  BURST_FRAME_BYTES,
  BURST_MESSAGES,
  burst,
  CUT_MESSAGES,
  CUTS,
  cutStream,
  cutTimes,
} from './delivery.ts'
import {
  HERD_DEFAULTS,
  HERD_TARGETS,
  type HerdContender,
  type HerdResult,
  runHerd,
} from './herd.ts'
import { OUTAGE_MS, OUTAGE_SENDS, recovery } from './recovery.ts'
import { alternate, forceGc, type RoundsOptions } from './rounds.ts'
import type { EchoServer } from './server-process.ts'
import { median, ratio, round } from './stats.ts'
import type { StoreKind, StoreRun } from './store-cost.ts'
import { SWEEP_SIZES, sweep } from './sweep.ts'
import { ms, table, times } from './table.ts'

export interface Target {
  target: string
  value: string
  met: boolean | null
}

const r3 = (value: number): number => round(value, 3)
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)
const en = (n: number): string => n.toLocaleString('en')
const NO_RECONNECT = 'n/a: no reconnection'

/** The first cut stream's seed; round n uses SEED + n, the same for every contender. */
export const CUT_SEED = 14_000

function tallyText(tally: Tally | null): string {
  if (!tally) return '—'
  const drops = Object.entries(tally.drops)
    .map(([reason, n]) => `${en(n ?? 0)} ${reason}`)
    .join(', ')
  return `send(): ${en(tally.sent)} sent, ${en(tally.queued)} queued, ${en(tally.dropped)} dropped; drop events: ${drops || '0'}`
}

// ── Burst ────────────────────────────────────────────────────────────────────────────

export interface BurstRow {
  name: string
  /** Fewest echoed in any round. */
  echoedMin: number
  missingTotal: number
  /** Time to the last echo, median over rounds (ms). */
  medianMs: number
  /** `drop` events over all rounds (resilient-socket). */
  dropEvents: number | null
  /** The last round's account, for the table. */
  tally: Tally | null
}

export interface BurstSection {
  messages: number
  frameBytes: number
  rounds: number
  rows: BurstRow[]
}

export async function burstSection(
  server: EchoServer,
  options: RoundsOptions,
): Promise<BurstSection> {
  const contenders = [raw, resilient(), partysocket]
  const runs = await alternate(contenders, { ...options, warmUp: false }, (c) => burst(c, server))
  const rows = contenders.map((contender): BurstRow => {
    const own = runs.get(contender) ?? []
    const ours = own.every((run) => run.tally !== null)
    return {
      name: contender.name,
      echoedMin: Math.min(...own.map((run) => run.echoed)),
      missingTotal: sum(own.map((run) => run.missing)),
      medianMs: round(median(own.map((run) => run.ms)), 1),
      dropEvents: ours
        ? sum(own.map((run) => sum(Object.values(run.tally?.drops ?? {}).map((n) => n ?? 0))))
        : null,
      tally: own.at(-1)?.tally ?? null,
    }
  })
  return { messages: BURST_MESSAGES, frameBytes: BURST_FRAME_BYTES, rounds: options.rounds, rows }
}

export function renderBurst(section: BurstSection): string {
  return [
    `Connected burst: ${en(section.messages)} × ${section.frameBytes} B sent in one loop on an open connection, echoed by the server in another process (${section.rounds} rounds, defaults)`,
    '',
    table(
      [
        'contender',
        'echoed (worst round)',
        'missing (all rounds)',
        'to last echo (median)',
        "resilient-socket's own account (last round)",
      ],
      section.rows.map((row) => [
        row.name,
        `${en(row.echoedMin)} of ${en(section.messages)}`,
        en(row.missingTotal),
        ms(row.medianMs, 0),
        tallyText(row.tally),
      ]),
    ),
  ].join('\n')
}

function judgeBurst(section: BurstSection): Target[] {
  const ours = section.rows.find((row) => row.dropEvents !== null)
  if (!ours) return []
  return [
    {
      target: `burst: all ${en(section.messages)} echoed, no drop (defaults)`,
      value: `${en(ours.echoedMin)} echoed in the worst round, ${en(ours.dropEvents ?? 0)} drop events`,
      met: ours.echoedMin === section.messages && ours.dropEvents === 0,
    },
  ]
}

// ── Cut stream ───────────────────────────────────────────────────────────────────────

export interface CutDirection {
  lostTotal: number
  duplicatesTotal: number
  allInOrder: boolean
}

export interface CutRow extends CutDirection {
  name: string
  droppedByQueueTotal: number | null
  lostOnWireTotal: number
  /** The companion's stream to the client over the same resets. */
  push: (CutDirection & { noConnectionTotal: number; refusedTotal: number }) | null
  runs: { lost: number; hits: number; droppedByQueue: number; pushLost: number | null }[]
  /** The first errors the companion reported, over all rounds. */
  serverErrors: string[]
  note: string
}

export interface CutSection {
  messages: number
  cuts: number
  rounds: number
  /** `companion`: resilient-socket/server for every contender, with a stream each way. */
  server: 'companion' | 'echo'
  /** The reset times of each round (ms from the start of the stream). */
  cutAtMs: number[][]
  rows: CutRow[]
}

/**
 * Every contender against the same companion endpoint, so that the client is the only
 * difference: plain clients get plain connections, reliable() gets a session.
 */
export async function cutSection(server: EchoServer, options: RoundsOptions): Promise<CutSection> {
  const reliableOne = reliableContender()
  const contenders = [raw, partysocket, resilient(), ...(reliableOne ? [reliableOne] : [])]
  const runs = await alternate(contenders, { ...options, warmUp: false }, (c, n) =>
    cutStream(c, server, CUT_SEED + n, true),
  )
  const rows = contenders.map((contender): CutRow => {
    const own = runs.get(contender) ?? []
    const ours = own.every((run) => run.tally !== null)
    const pushes = own.map((run) => run.push).filter((push) => push !== null)
    return {
      name: contender.name,
      lostTotal: sum(own.map((run) => run.lost)),
      droppedByQueueTotal: ours ? sum(own.map((run) => run.droppedByQueue)) : null,
      lostOnWireTotal: sum(own.map((run) => run.lostOnWire)),
      duplicatesTotal: sum(own.map((run) => run.duplicates)),
      allInOrder: own.every((run) => run.inOrder),
      push:
        pushes.length === own.length
          ? {
              lostTotal: sum(pushes.map((push) => push.lost)),
              duplicatesTotal: sum(pushes.map((push) => push.duplicates)),
              allInOrder: pushes.every((push) => push.inOrder),
              noConnectionTotal: sum(pushes.map((push) => push.noConnection)),
              refusedTotal: sum(pushes.map((push) => push.refused)),
            }
          : null,
      runs: own.map(({ lost, hits, droppedByQueue, push }) => ({
        lost,
        hits,
        droppedByQueue,
        pushLost: push?.lost ?? null,
      })),
      serverErrors: [...new Set(own.flatMap((run) => run.serverErrors))].slice(0, 5),
      note:
        contender === raw
          ? 'no reconnection: all is lost from the first cut that hits'
          : contender === partysocket
            ? 'unbounded queue while closed; no acknowledgements'
            : contender === reliableOne
              ? 'a session: seqs, acks, replay after resume'
              : 'queue defaults; no acknowledgements',
    }
  })
  const cutAtMs = Array.from({ length: options.rounds }, (_, i) => cutTimes(CUT_SEED + i + 1))
  return {
    messages: CUT_MESSAGES,
    cuts: CUTS,
    rounds: options.rounds,
    server: 'companion',
    cutAtMs,
    rows,
  }
}

export function renderCut(section: CutSection): string {
  const total = section.messages * section.rounds
  const direction = (d: CutDirection | null): string[] =>
    d === null
      ? ['n/a', 'n/a', 'n/a']
      : [`${en(d.lostTotal)} of ${en(total)}`, en(d.duplicatesTotal), d.allInOrder ? 'yes' : 'no']
  const errors = section.rows.filter((row) => row.serverErrors.length > 0)
  return [
    `Cut stream: ${en(section.messages)} messages each way at 1 per ms (client → server, and the server's own stream to the client) through a TCP relay that resets the connection ${section.cuts} times at seeded random moments (${section.rounds} rounds; resets at ${section.cutAtMs.map((cuts) => cuts.join('/')).join(' and ')} ms). Every contender against the same resilient-socket/server endpoint; each side counts what it received`,
    '',
    table(
      [
        'contender',
        'client → server: lost',
        'duplicated',
        'in order',
        'server → client: lost',
        'duplicated',
        'in order',
        'of the lost → client: no connection open',
        'dropped by its own queue',
        'per round: lost → / lost ← / resets that hit',
        'note',
      ],
      section.rows.map((row) => [
        row.name,
        ...direction(row),
        ...direction(row.push),
        row.push === null ? 'n/a' : en(row.push.noConnectionTotal + row.push.refusedTotal),
        row.droppedByQueueTotal === null ? '—' : en(row.droppedByQueueTotal),
        row.runs.map((run) => `${run.lost}/${run.pushLost ?? '—'}/${run.hits}`).join(' '),
        row.note,
      ]),
    ),
    ...(errors.length
      ? [
          '',
          ...errors.map((row) => `Server errors with ${row.name}: ${row.serverErrors.join('; ')}`),
        ]
      : []),
  ].join('\n')
}

function judgeCut(section: CutSection): Target[] {
  const targets: Target[] = []
  const ours = section.rows.find((row) => row.name === 'resilient-socket')
  if (ours) {
    targets.push({
      target: 'cut stream: nothing dropped by the socket’s own queue (defaults)',
      value: `${en(ours.droppedByQueueTotal ?? 0)} dropped by the queue, ${en(ours.lostOnWireTotal)} lost on the wire`,
      met: ours.droppedByQueueTotal === 0,
    })
  }
  const reliableRow = section.rows.find((row) => row.name === RELIABLE_NAME)
  if (reliableRow) {
    const push = reliableRow.push
    targets.push({
      target: 'cut stream with reliable(): 0 lost, 0 duplicated, in order, both directions',
      value: `→ ${en(reliableRow.lostTotal)} lost, ${en(reliableRow.duplicatesTotal)} dup, ${reliableRow.allInOrder ? 'in order' : 'OUT OF ORDER'}; ← ${push ? `${en(push.lostTotal)} lost, ${en(push.duplicatesTotal)} dup, ${push.allInOrder ? 'in order' : 'OUT OF ORDER'}` : 'n/a'}`,
      met:
        reliableRow.lostTotal === 0 &&
        reliableRow.duplicatesTotal === 0 &&
        reliableRow.allInOrder &&
        push !== null &&
        push.lostTotal === 0 &&
        push.duplicatesTotal === 0 &&
        push.allInOrder,
    })
  }
  return targets
}

// ── Outage ───────────────────────────────────────────────────────────────────────────

export interface OutageRow {
  name: string
  upToOpenMs: number | null
  lostTotal: number | null
  droppedByQueueTotal: number | null
  duplicatesTotal: number | null
  allInOrder: boolean | null
  runs: { upToOpenMs: number; lost: number }[]
  note: string
}

export interface OutageSection {
  outageMs: number
  sends: number
  rounds: number
  rows: OutageRow[]
}

export async function outageSection(options: RoundsOptions): Promise<OutageSection> {
  const ours = resilient()
  const contenders = [ours, partysocket]
  const runs = await alternate(contenders, { ...options, warmUp: false }, (c) => recovery(c))
  const rows: OutageRow[] = [
    {
      name: raw.name,
      upToOpenMs: null,
      lostTotal: null,
      droppedByQueueTotal: null,
      duplicatesTotal: null,
      allInOrder: null,
      runs: [],
      note: `${NO_RECONNECT}; sends after the close are discarded`,
    },
    ...contenders.map((contender): OutageRow => {
      const own = runs.get(contender) ?? []
      return {
        name: contender.name,
        upToOpenMs: round(median(own.map((run) => run.upToOpenMs)), 1),
        lostTotal: sum(own.map((run) => run.lost)),
        droppedByQueueTotal: contender === ours ? sum(own.map((run) => run.droppedByQueue)) : null,
        duplicatesTotal: sum(own.map((run) => run.duplicates)),
        allInOrder: own.every((run) => run.inOrder),
        runs: own.map((run) => ({ upToOpenMs: round(run.upToOpenMs, 1), lost: run.lost })),
        note:
          contender === ours
            ? 'default queue and backoff'
            : 'default (unbounded) queue and backoff',
      }
    }),
  ]
  return { outageMs: OUTAGE_MS, sends: OUTAGE_SENDS, rounds: options.rounds, rows }
}

export function renderOutage(section: OutageSection): string {
  const total = section.sends * section.rounds
  const na = 'n/a'
  return [
    `Outage: server process killed, ${en(section.sends)} sends at 1 per ms over the ${section.outageMs / 1000} s it is down, server back on the same port (${section.rounds} rounds)`,
    '',
    table(
      [
        'contender',
        'delivered (all rounds)',
        'dropped by its own queue',
        'duplicates',
        'in order',
        'server up → open (median)',
        'per round: up→open ms / lost',
        'note',
      ],
      section.rows.map((row) => [
        row.name,
        row.lostTotal === null ? na : `${en(total - row.lostTotal)} of ${en(total)}`,
        row.droppedByQueueTotal === null
          ? row.lostTotal === null
            ? na
            : '—'
          : en(row.droppedByQueueTotal),
        row.duplicatesTotal === null ? na : en(row.duplicatesTotal),
        row.allInOrder === null ? na : row.allInOrder ? 'yes' : 'no',
        row.upToOpenMs === null ? na : ms(row.upToOpenMs, 0),
        row.runs
          .map(
            (run) =>
              `${Number.isFinite(run.upToOpenMs) ? run.upToOpenMs.toFixed(0) : '—'}/${run.lost}`,
          )
          .join(' '),
        row.note,
      ]),
    ),
  ].join('\n')
}

function judgeOutage(section: OutageSection): Target[] {
  const ours = section.rows.find((row) => row.droppedByQueueTotal !== null)
  if (!ours) return []
  return [
    {
      target: `outage: all ${en(section.sends)} sent while down delivered, in order, once`,
      value: `${en(ours.lostTotal ?? 0)} lost, ${en(ours.duplicatesTotal ?? 0)} duplicated, ${ours.allInOrder ? 'in order' : 'OUT OF ORDER'}`,
      met: ours.lostTotal === 0 && ours.duplicatesTotal === 0 && ours.allInOrder === true,
    },
  ]
}

// ── Herd ─────────────────────────────────────────────────────────────────────────────

export interface HerdRow {
  name: string
  applicable: boolean
  /** Worst round's peak of handshakes per 100 ms, and as a share of the clients. */
  peakPer100ms: number | null
  peakPercent: number | null
  medianBackMs: number | null
  slowestBackMs: number | null
  notBack: number | null
  attempts: number | null
  runs: HerdResult[]
  note: string
}

export interface HerdSection {
  clients: number
  downMs: number
  rounds: number
  rows: HerdRow[]
}

const HERD_CONTENDERS: { name: string; herd: HerdContender }[] = [
  { name: 'resilient-socket', herd: 'resilient' },
  { name: partysocket.name, herd: 'partysocket' },
]

export async function herdSection(options: RoundsOptions): Promise<HerdSection> {
  const runs = new Map<HerdContender, HerdResult[]>(HERD_CONTENDERS.map((c) => [c.herd, []]))
  for (let n = 1; n <= options.rounds; n++) {
    for (const { name, herd } of HERD_CONTENDERS) {
      options.progress?.(`round ${n}/${options.rounds} ${name}`)
      runs.get(herd)?.push(await runHerd({ ...HERD_DEFAULTS, contender: herd, seed: n }))
    }
  }
  const rows: HerdRow[] = [
    {
      name: raw.name,
      applicable: false,
      peakPer100ms: null,
      peakPercent: null,
      medianBackMs: null,
      slowestBackMs: null,
      notBack: null,
      attempts: null,
      runs: [],
      note: `${NO_RECONNECT}: not applicable`,
    },
    ...HERD_CONTENDERS.map(({ name, herd }): HerdRow => {
      const own = runs.get(herd) ?? []
      const worst = (pick: (r: HerdResult) => number): number => Math.max(...own.map(pick))
      return {
        name,
        applicable: true,
        peakPer100ms: worst((r) => r.peakPer100ms),
        peakPercent: worst((r) => r.peakPercent),
        medianBackMs: Math.round(median(own.map((r) => r.medianBackMs))),
        slowestBackMs: worst((r) => r.slowestBackMs),
        notBack: worst((r) => r.notBack),
        attempts: Math.round(median(own.map((r) => r.attempts))),
        runs: own,
        note:
          herd === 'resilient'
            ? 'default backoff'
            : 'default backoff: 3 s, ×1.3, 10 s cap, no jitter',
      }
    }),
  ]
  return {
    clients: HERD_DEFAULTS.clients,
    downMs: HERD_DEFAULTS.downMs,
    rounds: options.rounds,
    rows,
  }
}

export function renderHerd(section: HerdSection): string {
  const na = 'n/a'
  const seconds = (value: number | null): string =>
    value === null || !Number.isFinite(value) ? na : `${(value / 1000).toFixed(2)} s`
  return [
    `Herd: ${section.clients} clients, each its own copy of the library, connected for 5.5 s; server killed, down ${section.downMs / 1000} s, back on the same port (${section.rounds} round${section.rounds === 1 ? '' : 's'}; worst round shown)`,
    '',
    table(
      [
        'contender',
        'peak handshakes / 100 ms',
        'share of clients',
        'back after server up: median',
        'slowest',
        'not back',
        'attempts (median)',
        'per round: peak / slowest',
        'note',
      ],
      section.rows.map((row) => [
        row.name,
        row.peakPer100ms === null ? na : String(row.peakPer100ms),
        row.peakPercent === null ? na : `${row.peakPercent} %`,
        seconds(row.medianBackMs),
        seconds(row.slowestBackMs),
        row.notBack === null ? na : String(row.notBack),
        row.attempts === null ? na : en(row.attempts),
        row.runs.map((r) => `${r.peakPer100ms}/${(r.slowestBackMs / 1000).toFixed(1)} s`).join(' '),
        row.note,
      ]),
    ),
  ].join('\n')
}

function judgeHerd(section: HerdSection): Target[] {
  const ours = section.rows.find((row) => row.name === 'resilient-socket')
  if (!ours || ours.peakPer100ms === null) return []
  const peakMax = Math.floor((section.clients * HERD_TARGETS.peakPercent) / 100)
  return [
    {
      target: `herd: at most ${peakMax} handshakes per 100 ms (${HERD_TARGETS.peakPercent} %) after the server is back`,
      value: `${ours.peakPer100ms} (${ours.peakPercent} %)`,
      met: ours.peakPer100ms <= peakMax,
    },
    {
      target: `herd: slowest client back within ${HERD_TARGETS.slowestBackMs / 1000} s of the server`,
      value: `${((ours.slowestBackMs ?? Number.NaN) / 1000).toFixed(2)} s, ${ours.notBack} not back`,
      met:
        (ours.slowestBackMs ?? Number.POSITIVE_INFINITY) <= HERD_TARGETS.slowestBackMs &&
        ours.notBack === 0,
    },
  ]
}

// ── Size sweep ───────────────────────────────────────────────────────────────────────

export interface SweepCell {
  name: string
  medianMs: number
  ratio: number
  pairedRatio: number
  /** The client's CPU time (median) and its ratio to raw's. */
  cpuMedianMs: number
  cpuRatio: number
  /** Fewest echoes in any round: short of the count if the contender dropped some. */
  deliveredMin: number
}

export interface SweepRow {
  label: string
  bytes: number
  count: number
  cells: SweepCell[]
}

export interface SweepSection {
  rounds: number
  rows: SweepRow[]
}

/** The ratio the issue asks of the default high-water mark, for every size. */
export const SWEEP_TARGET_RATIO = 1.05
const DEFAULT_MARK = 'resilient-socket'

export async function sweepSection(
  server: EchoServer,
  options: RoundsOptions,
): Promise<SweepSection> {
  const contenders: Contender[] = [
    raw,
    resilient(DEFAULT_MARK),
    resilient('resilient-socket (highWaterMarkBytes: Infinity)', {
      highWaterMarkBytes: Number.POSITIVE_INFINITY,
    }),
    partysocket,
  ]
  const rows: SweepRow[] = []
  for (const size of SWEEP_SIZES) {
    const runs = await alternate(
      contenders,
      { ...options, progress: (label) => options.progress?.(`${size.label} ${label}`) },
      (c) => sweep(c, server, size),
    )
    const base = runs.get(raw) ?? []
    const baseMedian = median(base.map((run) => run.ms))
    const baseCpu = median(base.map((run) => run.cpuMs))
    rows.push({
      ...size,
      cells: contenders.map((contender): SweepCell => {
        const own = runs.get(contender) ?? []
        const medianMs = median(own.map((run) => run.ms))
        return {
          name: contender.name,
          medianMs: round(medianMs, 1),
          ratio: r3(ratio(medianMs, baseMedian)),
          pairedRatio: r3(median(own.map((run, i) => ratio(run.ms, base[i]?.ms ?? Number.NaN)))),
          cpuMedianMs: round(median(own.map((run) => run.cpuMs)), 1),
          cpuRatio: r3(ratio(median(own.map((run) => run.cpuMs)), baseCpu)),
          deliveredMin: Math.min(...own.map((run) => run.delivered)),
        }
      }),
    })
  }
  return { rounds: options.rounds, rows }
}

export function renderSweep(section: SweepSection): string {
  const names = section.rows[0]?.cells.map((cell) => cell.name) ?? []
  return [
    `Size sweep: bulk sends of one size in one loop, until the last echo (server in another process, contenders alternating, ${section.rounds} rounds after a warm-up, medians). Wall time, its ratio to raw (in brackets: the median of per-round ratios), and the client's CPU time ratio to raw`,
    '',
    table(
      ['size × count', ...names],
      section.rows.map((row) => [
        `${row.label} × ${en(row.count)}`,
        ...row.cells.map((cell) => {
          const incomplete =
            cell.deliveredMin < row.count ? ` (only ${en(cell.deliveredMin)} echoed)` : ''
          if (cell.name === raw.name)
            return `${ms(cell.medianMs, 0)}, CPU ${ms(cell.cpuMedianMs, 0)}${incomplete}`
          return `${ms(cell.medianMs, 0)} ${times(cell.ratio)} (${times(cell.pairedRatio)}), CPU ${times(cell.cpuRatio)}${incomplete}`
        }),
      ]),
    ),
  ].join('\n')
}

function judgeSweep(section: SweepSection): Target[] {
  return section.rows.map((row) => {
    const cell = row.cells.find((c) => c.name === DEFAULT_MARK)
    const ratioValue = cell?.ratio ?? Number.NaN
    return {
      target: `size sweep ${row.label} × ${en(row.count)}: within ${SWEEP_TARGET_RATIO}× of raw (default 1 MiB mark)`,
      value: `${times(ratioValue)} (paired ${times(cell?.pairedRatio ?? Number.NaN)}, client CPU ${times(cell?.cpuRatio ?? Number.NaN)})`,
      met: cell ? ratioValue <= SWEEP_TARGET_RATIO && cell.deliveredMin === row.count : null,
    }
  })
}

// ── Redis store cost ─────────────────────────────────────────────────────────────────

export interface StoreRow {
  /** `memory` or `Redis`: the node's session store; everything else is the same. */
  store: string
  /** Medians over the rounds. */
  upPerSec: number
  downPerSec: number
  requestP50Ms: number
  requestP99Ms: number
  runs: StoreRun[]
}

export interface RedisSection {
  rounds: number
  /** Reliable frames each way per round, and sequential requests per round. */
  messages: number
  requests: number
  redisVersion: string
  rows: StoreRow[]
  /** Redis over memory: throughput ratios (below 1: slower) and the time added to a request (ms). */
  redisVsMemory: {
    upRatio: number
    downRatio: number
    requestP50AddedMs: number
    requestP99AddedMs: number
  }
  /** The mean `MEMORY USAGE` of an idle session's keys (created, no frames), over `sessions`. */
  idleSession: { sessions: number; bytes: number; keysPerSession: number }
}

/** Why the section did not run (no redis-server here): the rest of the run goes on. */
export interface RedisSkipped {
  skipped: string
}

/** The first executable `program` in PATH's directories, or null. */
function onPath(program: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, program)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not in this directory: look in the next.
    }
  }
  return null
}

/** Why the `redis` section cannot run here, or null when it can. */
export function redisSkipReason(): string | null {
  if (onPath('redis-server') === null)
    return 'no redis-server on PATH (apt-get install -y redis-server)'
  if (!hasReliable) return 'the resilient-socket measured (BENCH_FROM) has no reliable mode'
  return null
}

/**
 * The memory store and the Redis store alternately (memory, Redis, memory, Redis …), each
 * round a fresh node, client and store (Redis flushed), after a warm-up round of each that
 * is thrown away; then the idle-session memory, which is a count and needs no rounds.
 */
export async function redisSection(options: RoundsOptions): Promise<RedisSection> {
  const skipped = redisSkipReason()
  if (skipped) throw new Error(`redis section: ${skipped}`)
  // Loaded here, not at the top: see store-cost.ts.
  const cost = await import('./store-cost.ts')
  const redis = await cost.RedisBench.start()
  try {
    const kinds: StoreKind[] = [cost.memoryKind, redis.kind]
    const runs = new Map<StoreKind, StoreRun[]>(kinds.map((kind) => [kind, []]))
    for (let n = options.warmUp === false ? 1 : 0; n <= options.rounds; n++) {
      for (const kind of kinds) {
        options.progress?.(`${n === 0 ? 'warm-up' : `round ${n}/${options.rounds}`} ${kind.name}`)
        forceGc()
        const store = await kind.open()
        try {
          const run = await cost.storeRound(store)
          if (n > 0) runs.get(kind)?.push(run)
        } finally {
          await kind.release(store)
        }
      }
    }
    const rows = kinds.map((kind): StoreRow => {
      const own = runs.get(kind) ?? []
      const mid = (pick: (run: StoreRun) => number): number => median(own.map(pick))
      return {
        store: kind.name,
        upPerSec: Math.round(mid((run) => run.upPerSec)),
        downPerSec: Math.round(mid((run) => run.downPerSec)),
        requestP50Ms: r3(mid((run) => run.requestP50Ms)),
        requestP99Ms: r3(mid((run) => run.requestP99Ms)),
        runs: own.map((run) => ({
          upPerSec: Math.round(run.upPerSec),
          downPerSec: Math.round(run.downPerSec),
          requestP50Ms: r3(run.requestP50Ms),
          requestP99Ms: r3(run.requestP99Ms),
        })),
      }
    })
    const [memory, onRedis] = rows as [StoreRow, StoreRow]
    options.progress?.(
      `idle sessions: ${en(cost.IDLE_SESSIONS)} created, MEMORY USAGE of their keys`,
    )
    const idle = await redis.idleSessionBytes(cost.IDLE_SESSIONS)
    return {
      rounds: options.rounds,
      messages: cost.STORE_MESSAGES,
      requests: cost.STORE_REQUESTS,
      redisVersion: await redis.version(),
      rows,
      redisVsMemory: {
        upRatio: r3(ratio(onRedis.upPerSec, memory.upPerSec)),
        downRatio: r3(ratio(onRedis.downPerSec, memory.downPerSec)),
        requestP50AddedMs: r3(onRedis.requestP50Ms - memory.requestP50Ms),
        requestP99AddedMs: r3(onRedis.requestP99Ms - memory.requestP99Ms),
      },
      idleSession: {
        sessions: cost.IDLE_SESSIONS,
        bytes: Math.round(idle.bytes),
        keysPerSession: round(idle.keysPerSession, 2),
      },
    }
  } finally {
    await redis.stop()
  }
}

export function renderRedis(section: RedisSection | RedisSkipped): string {
  if ('skipped' in section) return `Redis store cost: skipped, ${section.skipped}`
  const { redisVsMemory: vs, idleSession: idle } = section
  const signedMs = (value: number): string => `${value >= 0 ? '+' : '−'}${ms(Math.abs(value), 2)}`
  return [
    `Redis store cost: one node of resilient-socket/server in the bench's process with its session store in memory or in Redis (redis-server ${section.redisVersion} of its own, no persistence, loopback), one client with reliable(): ${en(section.messages)} reliable messages each way, then ${en(section.requests)} sequential requests (${section.rounds} round${section.rounds === 1 ? '' : 's'} after a warm-up, stores alternating, medians)`,
    '',
    table(
      [
        'store',
        'client → server msg/s',
        'server → client msg/s (sendTo)',
        'request p50',
        'request p99',
        'per round: → / ← msg/s',
      ],
      section.rows.map((row) => [
        row.store,
        en(row.upPerSec),
        en(row.downPerSec),
        ms(row.requestP50Ms, 2),
        ms(row.requestP99Ms, 2),
        row.runs.map((run) => `${en(run.upPerSec)}/${en(run.downPerSec)}`).join(' '),
      ]),
    ),
    '',
    `Redis vs memory: client → server ${times(vs.upRatio)}, server → client ${times(vs.downRatio)}; request p50 ${signedMs(vs.requestP50AddedMs)}, p99 ${signedMs(vs.requestP99AddedMs)}. Redis memory per idle session: ${en(idle.bytes)} bytes (mean MEMORY USAGE of its ${idle.keysPerSession} keys over ${en(idle.sessions)} sessions)`,
  ].join('\n')
}

export interface DeliveryResults {
  burst?: BurstSection
  cut?: CutSection
  outage?: OutageSection
  herd?: HerdSection
  sweep?: SweepSection
}

export function renderDelivery(results: DeliveryResults): string[] {
  const out: string[] = []
  if (results.burst) out.push(renderBurst(results.burst))
  if (results.cut) out.push(renderCut(results.cut))
  if (results.outage) out.push(renderOutage(results.outage))
  if (results.herd) out.push(renderHerd(results.herd))
  if (results.sweep) out.push(renderSweep(results.sweep))
  return out
}

export function judgeDelivery(results: DeliveryResults): Target[] {
  return [
    ...(results.burst ? judgeBurst(results.burst) : []),
    ...(results.cut ? judgeCut(results.cut) : []),
    ...(results.outage ? judgeOutage(results.outage) : []),
    ...(results.herd ? judgeHerd(results.herd) : []),
    ...(results.sweep ? judgeSweep(results.sweep) : []),
  ]
}
