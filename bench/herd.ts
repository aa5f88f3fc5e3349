#!/usr/bin/env node
// Herd: N clients connected to one server, the server killed, down for a while, then back.
// How hard do they hit it when it returns (handshakes per 100 ms), and how long until the
// last one is back? Each client is its own copy of the library (a separate module
// instance), as N browser tabs would be, so nothing module-level is shared between them.
//
//   node bench/herd.ts [--contender resilient|partysocket] [--policy JSON] [--runs N]
//                      [--clients 500] [--down-ms 2000] [--settle-ms 5500] [--simulate]
//                      [--seed N] [--json]
//
// --policy is given to resilient-socket as its `retry` option, e.g.
//   node bench/herd.ts --policy '{"initialDelayMs":500,"factor":1.6,"maxDelayMs":30000}'
// Without it, the library's default backoff. --simulate runs the same library code against
// a virtual clock and a scripted socket instead (no server, no module copies, seeded
// jitter): a second per run, for trying many policies before measuring the few that matter.
// `npm run bench -- herd` runs this once per contender and reports it with the rest.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { registerHooks, stripTypeScriptTypes } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { BackoffOptions, SocketOptions, WebSocketLike } from '../src/index.ts'
import { libraryEntry } from './library.ts'
import { EchoServer, sleep } from './server-process.ts'
import { median, peakInWindow, percentile, seededRandom } from './stats.ts'

type Library = typeof import('../src/index.ts')
type PartySocketModule = typeof import('partysocket/ws')

export type HerdContender = 'resilient' | 'partysocket'

export interface HerdOptions {
  contender: HerdContender
  /** resilient-socket's `retry` option; undefined for its default. */
  policy?: BackoffOptions
  clients: number
  downMs: number
  /** How long the clients stay connected before the kill: past both libraries' 5 s uptime rule. */
  settleMs: number
  /** Clients not back this long after the server is up are reported as not back. */
  maxWaitMs: number
  simulate: boolean
  seed: number
}

export const HERD_DEFAULTS: HerdOptions = {
  contender: 'resilient',
  clients: 500,
  downMs: 2000,
  settleMs: 5500,
  maxWaitMs: 45_000,
  simulate: false,
  seed: 1,
}

/** The issue's bar: what the server may see, and how long the last user may wait. */
export const HERD_TARGETS = { peakPercent: 5, slowestBackMs: 5000 }

const WINDOW_MS = 100

export interface HerdResult {
  contender: HerdContender
  policy: BackoffOptions | 'default'
  mode: 'sockets' | 'simulated'
  clients: number
  downMs: number
  /** Most handshakes the server accepted in any 100 ms after it was back. */
  peakPer100ms: number
  peakPercent: number
  /** Per client, from the server listening again to that client's open (ms). */
  medianBackMs: number
  p90BackMs: number
  slowestBackMs: number
  notBack: number
  /** Connection attempts from the kill until the last client was back, refused ones included. */
  attempts: number
  /** Most attempts in any 100 ms, refused ones included: the storm a down server absorbs. */
  attemptsPeakPer100ms: number
  /** Handshakes accepted per 100 ms from the moment the server was back. */
  acceptsPer100ms: number[]
  /** Importing the N copies of the library (ms); 0 when simulated. */
  loadMs: number
}

const epochNow = (): number => performance.timeOrigin + performance.now()

function summarise(
  options: HerdOptions,
  mode: HerdResult['mode'],
  upAt: number,
  accepts: number[],
  backAt: number[],
  attempts: number[],
  loadMs: number,
): HerdResult {
  const back = backAt.filter(Number.isFinite).map((at) => at - upAt)
  const after = accepts.filter((at) => at >= upAt).map((at) => at - upAt)
  const bins: number[] = []
  for (const at of after) {
    const bin = Math.floor(at / WINDOW_MS)
    while (bins.length <= bin) bins.push(0)
    bins[bin] = (bins[bin] as number) + 1
  }
  const peak = peakInWindow(after, WINDOW_MS)
  const round = (ms: number): number => Math.round(ms)
  return {
    contender: options.contender,
    policy: options.policy ?? 'default',
    mode,
    clients: options.clients,
    downMs: options.downMs,
    peakPer100ms: peak,
    peakPercent: Math.round((peak / options.clients) * 1000) / 10,
    medianBackMs: round(median(back)),
    p90BackMs: round(percentile(back, 90)),
    slowestBackMs: round(back.length ? Math.max(...back) : Number.NaN),
    notBack: options.clients - back.length,
    attempts: attempts.length,
    attemptsPeakPer100ms: peakInWindow(attempts, WINDOW_MS),
    acceptsPer100ms: bins,
    loadMs: round(loadMs),
  }
}

// ── Real sockets, one module instance per client ─────────────────────────────────────

/** Marks the URLs of one client's copy of the library; everything they import gets it too. */
const INSTANCE_PARAM = '?herd-instance='

/**
 * Gives every module imported from a marked module the same mark, so that each client
 * gets its own copy of the whole graph (the library's files and the ESM dependencies).
 * TypeScript is stripped once per file, not once per copy. CommonJS files would be cached
 * by path by Node whatever the URL; the library's graph (its files, nanoid) has none.
 */
function isolateInstances(): void {
  const stripped = new Map<string, string>()
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context)
      const parent = context.parentURL ?? ''
      const mark = parent.indexOf(INSTANCE_PARAM)
      if (mark < 0 || !resolved.url.startsWith('file:') || resolved.url.includes('?'))
        return resolved
      return { ...resolved, url: resolved.url + parent.slice(mark) }
    },
    load(url, context, nextLoad) {
      const mark = url.indexOf(INSTANCE_PARAM)
      if (mark < 0 || !url.endsWith('.ts', mark)) return nextLoad(url, context)
      const file = url.slice(0, mark)
      let source = stripped.get(file)
      if (source === undefined) {
        source = stripTypeScriptTypes(readFileSync(new URL(file), 'utf8'))
        stripped.set(file, source)
      }
      return { format: 'module', source, shortCircuit: true }
    },
  })
}

interface HerdClient {
  /** Opens so far. */
  opens: number
  /** When it opened after the measured kill (epoch ms); NaN until then. */
  backAt: number
  close(): void
}

/** Kills the server and has a ready one listen on its port after `downMs`. */
async function outage(server: EchoServer, downMs: number): Promise<EchoServer> {
  const next = await EchoServer.standby(server.port)
  const killedAt = epochNow()
  await server.kill()
  await sleep(killedAt + downMs - epochNow())
  return next.listen()
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) return false
    await sleep(50)
  }
  return true
}

async function herdWithSockets(options: HerdOptions): Promise<HerdResult> {
  isolateInstances()
  const { clients } = options
  const attempts: number[] = []
  let counting = false
  // Wraps the platform WebSocket to see every attempt, refused ones included.
  class CountingWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      if (counting) attempts.push(epochNow())
    }
  }

  const loadStart = performance.now()
  const entry =
    options.contender === 'resilient'
      ? libraryEntry().url.href
      : import.meta.resolve('partysocket/ws')
  const copies: unknown[] = []
  for (let i = 0; i < clients; i++) copies.push(await import(`${entry}${INSTANCE_PARAM}${i}`))
  const loadMs = performance.now() - loadStart

  let server = await EchoServer.start()
  let killedAt = Number.POSITIVE_INFINITY
  const herd: HerdClient[] = []
  for (const copy of copies) {
    const client: HerdClient = { opens: 0, backAt: Number.NaN, close: () => {} }
    const onOpen = (): void => {
      client.opens++
      if (epochNow() > killedAt && Number.isNaN(client.backAt)) client.backAt = epochNow()
    }
    if (options.contender === 'resilient') {
      const lib = copy as Library
      const socketOptions: SocketOptions = { WebSocket: CountingWebSocket }
      if (options.policy) socketOptions.retry = options.policy
      const socket = new lib.ReconnectingSocket(server.url, socketOptions)
      socket.on('open', onOpen)
      socket.on('error', () => {})
      client.close = () => socket.close()
    } else {
      const ReconnectingWebSocket = (copy as PartySocketModule).default
      const ws = new ReconnectingWebSocket(server.url, undefined, { WebSocket: CountingWebSocket })
      ws.addEventListener('open', onOpen)
      ws.onerror = () => {}
      client.close = () => ws.close()
    }
    herd.push(client)
  }
  try {
    await waitFor(() => herd.every((c) => c.opens >= 1), 30_000)
    await server.waitForConnections(clients, false, 30_000)
    // A rehearsal: every copy runs its close and reconnect path once, so that the measured
    // drop is not spread by compiling that path 500 times over (each copy has its own
    // functions; separate tabs would do it on their own CPUs, in parallel).
    server = await outage(server, 0)
    await waitFor(() => herd.every((c) => c.opens >= 2), options.maxWaitMs)
    await server.waitForConnections(clients, false, 30_000)
    await sleep(options.settleMs)
    await server.acceptLog()

    counting = true
    killedAt = epochNow()
    server = await outage(server, options.downMs)
    const upAt = server.upAt
    await waitFor(() => herd.every((c) => Number.isFinite(c.backAt)), options.maxWaitMs)
    const accepts = await server.acceptLog()
    return summarise(
      options,
      'sockets',
      upAt,
      accepts,
      herd.map((c) => c.backAt),
      attempts,
      loadMs,
    )
  } finally {
    for (const client of herd) client.close()
    await server.stop()
  }
}

// ── Simulated: the real library on a virtual clock, with scripted sockets ──────────────

/** A refused connection on loopback, and a handshake with a server that is up (virtual ms). */
const REFUSE_MS = 1
const HANDSHAKE_MS = 2

interface VirtualTimer {
  at: number
  order: number
  run: () => void
  cancelled: boolean
}

const before = (a: VirtualTimer, b: VirtualTimer): boolean =>
  a.at < b.at || (a.at === b.at && a.order < b.order)

/** Virtual time, a timer heap, and a server that is up outside [downFrom, upFrom). */
class VirtualWorld {
  now = 1_000_000
  upFrom = 0
  downFrom = Number.POSITIVE_INFINITY
  readonly attempts: number[] = []
  readonly accepts: number[] = []
  readonly open = new Set<ScriptedSocket>()
  readonly #heap: VirtualTimer[] = []
  #order = 0

  isUp(at: number): boolean {
    return at >= this.upFrom || at < this.downFrom
  }

  schedule(delayMs: number, run: () => void): VirtualTimer {
    const timer = {
      at: this.now + Math.max(0, delayMs),
      order: this.#order++,
      run,
      cancelled: false,
    }
    const heap = this.#heap
    heap.push(timer)
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (!before(heap[i] as VirtualTimer, heap[parent] as VirtualTimer)) break
      ;[heap[i], heap[parent]] = [heap[parent] as VirtualTimer, heap[i] as VirtualTimer]
      i = parent
    }
    return timer
  }

  cancel(timer: unknown): void {
    if (timer) (timer as VirtualTimer).cancelled = true
  }

  /** Runs timers in order until `stop()` holds or virtual time reaches `until`. */
  async run(until: number, stop: () => boolean = () => false): Promise<void> {
    const heap = this.#heap
    // The library continues on microtasks (autoConnect, async URL and token steps).
    const settle = () => new Promise((resolve) => setImmediate(resolve))
    await settle()
    while (heap.length && !stop() && (heap[0] as VirtualTimer).at <= until) {
      const next = this.#pop()
      if (next.cancelled) continue
      this.now = next.at
      next.run()
      await settle()
    }
    if (!stop()) this.now = Math.max(this.now, until)
  }

  #pop(): VirtualTimer {
    const heap = this.#heap
    const top = heap[0] as VirtualTimer
    const last = heap.pop() as VirtualTimer
    if (heap.length === 0) return top
    heap[0] = last
    for (let i = 0; ; ) {
      const left = 2 * i + 1
      const right = left + 1
      let least = i
      if (left < heap.length && before(heap[left] as VirtualTimer, heap[least] as VirtualTimer))
        least = left
      if (right < heap.length && before(heap[right] as VirtualTimer, heap[least] as VirtualTimer))
        least = right
      if (least === i) return top
      ;[heap[i], heap[least]] = [heap[least] as VirtualTimer, heap[i] as VirtualTimer]
      i = least
    }
  }
}

/** Fails like Node 24 and browsers (error, then close 1006) or opens, on the virtual clock. */
class ScriptedSocket implements WebSocketLike {
  readyState = 0
  readonly bufferedAmount = 0
  readonly protocol = ''
  binaryType = 'blob'
  onopen: ((event: never) => void) | null = null
  onmessage: ((event: never) => void) | null = null
  onclose: ((event: never) => void) | null = null
  onerror: ((event: never) => void) | null = null
  readonly #world: VirtualWorld

  constructor(world: VirtualWorld) {
    this.#world = world
    world.attempts.push(world.now)
    const up = world.isUp(world.now)
    world.schedule(up ? HANDSHAKE_MS : REFUSE_MS, () => (up ? this.#open() : this.#drop()))
  }

  #open(): void {
    if (this.readyState !== 0) return
    this.readyState = 1
    this.#world.accepts.push(this.#world.now)
    this.#world.open.add(this)
    ;(this.onopen as ((event: object) => void) | null)?.({})
  }

  /** A refused attempt, or the server gone under an open connection. */
  drop(): void {
    this.#drop()
  }

  #drop(): void {
    if (this.readyState === 3) return
    this.readyState = 3
    this.#world.open.delete(this)
    ;(this.onerror as ((event: object) => void) | null)?.({})
    ;(this.onclose as ((event: object) => void) | null)?.({
      code: 1006,
      reason: '',
      wasClean: false,
    })
  }

  send(): void {}

  close(): void {
    this.readyState = 3
    this.#world.open.delete(this)
  }
}

async function herdSimulated(options: HerdOptions): Promise<HerdResult> {
  const lib = (await import(libraryEntry().url.href)) as Library
  const world = new VirtualWorld()
  const seeds = seededRandom(options.seed)
  const clock = {
    now: () => world.now,
    setTimeout: (run: () => void, delayMs: number) => world.schedule(delayMs, run),
    clearTimeout: (timer: unknown) => world.cancel(timer),
  }
  const backAt: number[] = []
  let killedAt = Number.POSITIVE_INFINITY
  const sockets = []
  for (let i = 0; i < options.clients; i++) {
    backAt.push(Number.NaN)
    // Each client's jitter has its own seeded stream, as separate processes would.
    const socket = new lib.ReconnectingSocket('ws://herd.invalid', {
      WebSocket: class extends ScriptedSocket {
        constructor() {
          super(world)
        }
      },
      clock,
      random: seededRandom(Math.floor(seeds() * 2 ** 32)),
      network: false,
      ...(options.policy ? { retry: options.policy } : {}),
    })
    socket.on('error', () => {})
    socket.on('open', () => {
      if (world.now > killedAt && Number.isNaN(backAt[i])) backAt[i] = world.now
    })
    sockets.push(socket)
  }
  await world.run(world.now + options.settleMs)
  if (world.open.size !== options.clients) throw new Error('simulation: not every client opened')
  world.attempts.length = 0
  world.accepts.length = 0
  killedAt = world.now
  world.downFrom = killedAt
  world.upFrom = killedAt + options.downMs
  for (const socket of [...world.open]) socket.drop()
  await world.run(world.upFrom + options.maxWaitMs, () => backAt.every(Number.isFinite))
  for (const socket of sockets) socket.close()
  return summarise(options, 'simulated', world.upFrom, world.accepts, backAt, world.attempts, 0)
}

// ── Running it ──────────────────────────────────────────────────────────────────────

const SELF = fileURLToPath(import.meta.url)

function argsOf(options: HerdOptions): string[] {
  const args = [
    '--contender',
    options.contender,
    '--clients',
    String(options.clients),
    '--down-ms',
    String(options.downMs),
    '--settle-ms',
    String(options.settleMs),
    '--max-wait-ms',
    String(options.maxWaitMs),
    '--seed',
    String(options.seed),
  ]
  if (options.policy) args.push('--policy', JSON.stringify(options.policy))
  if (options.simulate) args.push('--simulate')
  return args
}

/**
 * One herd run in a fresh process (its N module copies die with it), with the server in
 * another: the bench's way in.
 */
export function runHerd(options: HerdOptions): Promise<HerdResult> {
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', SELF, ...argsOf(options), '--runs', '1', '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    out += chunk
  })
  const timeoutMs = options.settleMs + options.downMs + options.maxWaitMs + 90_000
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(JSON.parse(out) as HerdResult)
      else reject(new Error(`herd run exited with ${code}`))
    })
  })
}

export function describePolicy(policy: HerdResult['policy']): string {
  if (policy === 'default') return 'default'
  return Object.entries(policy)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ')
}

function line(result: HerdResult): string {
  const bins = result.acceptsPer100ms
  const shown = bins.slice(0, 60).join(' ') + (bins.length > 60 ? ' …' : '')
  return [
    `peak ${result.peakPer100ms} per 100 ms (${result.peakPercent} %)`,
    `back: median ${result.medianBackMs} ms, p90 ${result.p90BackMs} ms, slowest ${result.slowestBackMs} ms`,
    result.notBack ? `NOT BACK: ${result.notBack}` : 'all back',
    `attempts ${result.attempts} (peak ${result.attemptsPeakPer100ms} per 100 ms)`,
    `\n    accepts per 100 ms after up: ${shown}`,
  ].join('; ')
}

function parseOptions(): { options: HerdOptions; runs: number; json: boolean } {
  const { values } = parseArgs({
    options: {
      contender: { type: 'string', default: HERD_DEFAULTS.contender },
      policy: { type: 'string' },
      clients: { type: 'string', default: String(HERD_DEFAULTS.clients) },
      'down-ms': { type: 'string', default: String(HERD_DEFAULTS.downMs) },
      'settle-ms': { type: 'string', default: String(HERD_DEFAULTS.settleMs) },
      'max-wait-ms': { type: 'string', default: String(HERD_DEFAULTS.maxWaitMs) },
      runs: { type: 'string' },
      seed: { type: 'string', default: String(HERD_DEFAULTS.seed) },
      simulate: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const int = (name: string, value: string, min: number, max: number): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`--${name} must be an integer from ${min} to ${max}\n`)
      process.exit(2)
    }
    return n
  }
  const contender = values.contender as HerdContender
  if (contender !== 'resilient' && contender !== 'partysocket') {
    process.stderr.write('--contender must be resilient or partysocket\n')
    process.exit(2)
  }
  let policy: BackoffOptions | undefined
  if (values.policy !== undefined) {
    try {
      policy = JSON.parse(values.policy) as BackoffOptions
    } catch {
      process.stderr.write(`--policy must be JSON, e.g. '{"initialDelayMs":500,"factor":1.6}'\n`)
      process.exit(2)
    }
  }
  if (policy && contender !== 'resilient') {
    process.stderr.write('--policy applies to resilient-socket only\n')
    process.exit(2)
  }
  const options: HerdOptions = {
    contender,
    policy,
    clients: int('clients', values.clients, 1, 5000),
    downMs: int('down-ms', values['down-ms'], 0, 60_000),
    settleMs: int('settle-ms', values['settle-ms'], 0, 60_000),
    maxWaitMs: int('max-wait-ms', values['max-wait-ms'], 1000, 300_000),
    simulate: values.simulate,
    seed: int('seed', values.seed, 0, 2 ** 31),
  }
  const runs = int('runs', values.runs ?? (values.simulate ? '20' : '3'), 1, 100)
  return { options, runs, json: values.json }
}

async function main(): Promise<void> {
  const { options, runs, json } = parseOptions()
  if (json && runs === 1) {
    const result = options.simulate ? await herdSimulated(options) : await herdWithSockets(options)
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const results: HerdResult[] = []
  process.stderr.write(
    `herd: ${options.clients} × ${options.contender} (${describePolicy(options.policy ?? 'default')}), ` +
      `server down ${options.downMs} ms, ${options.simulate ? 'simulated' : `real sockets, ${libraryEntry().from}`}\n`,
  )
  for (let run = 0; run < runs; run++) {
    // Simulated runs are cheap and deterministic per seed: in this process, one seed each.
    const runOptions = { ...options, seed: options.seed + run }
    const result = options.simulate ? await herdSimulated(runOptions) : await runHerd(runOptions)
    results.push(result)
    if (!json) process.stderr.write(`  run ${run + 1}/${runs}: ${line(result)}\n`)
  }
  const mid = (pick: (r: HerdResult) => number) => Math.round(median(results.map(pick)))
  const worst = (pick: (r: HerdResult) => number) => Math.max(...results.map(pick))
  const summary = {
    runs,
    peakPer100ms: { median: mid((r) => r.peakPer100ms), worst: worst((r) => r.peakPer100ms) },
    slowestBackMs: { median: mid((r) => r.slowestBackMs), worst: worst((r) => r.slowestBackMs) },
    medianBackMs: mid((r) => r.medianBackMs),
    notBack: worst((r) => r.notBack),
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ summary, results })}\n`)
    return
  }
  const peakTarget = Math.floor((options.clients * HERD_TARGETS.peakPercent) / 100)
  process.stdout.write(
    `${options.contender} (${describePolicy(options.policy ?? 'default')}) over ${runs} runs: ` +
      `peak per 100 ms median ${summary.peakPer100ms.median}, worst ${summary.peakPer100ms.worst} (target ≤ ${peakTarget}); ` +
      `slowest back median ${summary.slowestBackMs.median} ms, worst ${summary.slowestBackMs.worst} ms (target ≤ ${HERD_TARGETS.slowestBackMs}); ` +
      `median back ${summary.medianBackMs} ms; not back (worst run) ${summary.notBack}\n`,
  )
}

if (process.argv[1] === SELF) await main()
