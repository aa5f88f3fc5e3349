#!/usr/bin/env node
// `npm run bench`: resilient-socket against the raw WebSocket and partysocket, on loopback,
// with the echo server in a separate process. Prints Markdown tables and writes
// bench/results.json. Takes about 5 minutes on a quiet machine (35 s of it the redis
// section); name sections to run only those:
//
//   npm run bench -- herd                 one section (or several: `-- burst cut outage`)
//   node bench/run.ts [SECTION…] [--rounds N] [--only a,b] [--memory-after-traffic]
//
// Sections: memory, throughput, latency, burst, cut, sweep, outage, herd, redis, size
// (`recovery` is the outage's old name; `redis` is skipped, in one line, without a
// redis-server on PATH). Every comparison runs its contenders alternately
// (A B C A B C …), timed ones after a warm-up round that is thrown away; `--rounds N` sets
// every section's rounds. Figures are medians over the rounds, and ratios are median /
// median of the raw WebSocket.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

// Heap figures need forced full collections. Rather than ask for a flag, run again with it.
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  const self = fileURLToPath(import.meta.url)
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', ...process.execArgv, self, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  )
  process.exit(child.status ?? 1)
}

const { Bench, SECTIONS } = await import('./bench.ts')

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string' },
    only: { type: 'string' },
    'memory-after-traffic': { type: 'boolean', default: false },
  },
})
const rounds = values.rounds === undefined ? undefined : Number(values.rounds)
if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 1 || rounds > 20)) {
  process.stderr.write('--rounds must be an integer from 1 to 20\n')
  process.exit(2)
}
const ALIASES: Record<string, string> = { recovery: 'outage' }
const named = [...positionals, ...(values.only?.split(',') ?? [])]
  .map((name) => name.trim())
  .filter(Boolean)
  .map((name) => ALIASES[name] ?? name)
const unknown = named.filter((name) => !(SECTIONS as readonly string[]).includes(name))
if (unknown.length) {
  process.stderr.write(`unknown section ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}\n`)
  process.exit(2)
}
const sections = new Set<string>(named.length ? named : SECTIONS)

if (typeof WebSocket !== 'function' || Number(process.versions.node.split('.')[0]) < 22) {
  process.stderr.write(`Node 22+ with a global WebSocket is needed (this is ${process.version}).\n`)
  process.exit(2)
}

const cpus = os.cpus()
const machine = {
  cpuModel: cpus[0]?.model.trim() ?? 'unknown',
  cores: cpus.length,
  totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
  date: new Date().toISOString(),
  /** Other work on the machine at the start (1, 5, 15 min): the figures are only as quiet as it. */
  loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  loadAverageAtEnd: [] as number[],
}

const bench = new Bench({ rounds, log: (line) => process.stderr.write(`  ${line}\n`) })
const startedAt = performance.now()
const results = await bench.run(sections, values['memory-after-traffic'])
const durationS = Math.round((performance.now() - startedAt) / 100) / 10
machine.loadAverageAtEnd = os.loadavg().map((load) => Math.round(load * 100) / 100)

const output = { machine, durationS, ...results }
// A full run is the record (bench/results.json); a partial one must not overwrite it.
const partial = named.length > 0
const resultsUrl = partial
  ? new URL(`./.tmp/results-${[...sections].join('-')}.json`, import.meta.url)
  : new URL('./results.json', import.meta.url)
if (partial) mkdirSync(new URL('./.tmp/', import.meta.url), { recursive: true })
const resultsPath = fileURLToPath(resultsUrl)
writeFileSync(resultsPath, `${JSON.stringify(output, null, 2)}\n`)

process.stdout.write(`\n${bench.render(machine, durationS)}\n\nWrote ${resultsPath}\n`)
