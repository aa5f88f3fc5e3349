#!/usr/bin/env node
// CPU profile of the pipelined-throughput path, to see where a contender's time goes.
//
//   node bench/profile.ts [--contender resilient|raw|partysocket|reliable] [--runs 5]
//
// `reliable` is resilient-socket with `reliable()`, against the companion (the mode needs a
// server that speaks it; see companion-server.ts); the others run against the echo server.
// Runs the throughput scenario under `--cpu-prof` (profile written to bench/.tmp/) and
// prints the functions with the most self time, overall and in resilient-socket's code.
// Open the .cpuprofile in Chrome DevTools (Performance → Load profile) for the full picture.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    contender: { type: 'string', default: 'resilient' },
    runs: { type: 'string', default: '5' },
    child: { type: 'boolean', default: false },
  },
})

const PROFILE_DIR = fileURLToPath(new URL('./.tmp/', import.meta.url))

if (!values.child) {
  mkdirSync(PROFILE_DIR, { recursive: true })
  const startedAt = Date.now()
  const child = spawnSync(
    process.execPath,
    [
      '--cpu-prof',
      `--cpu-prof-dir=${PROFILE_DIR}`,
      '--cpu-prof-interval=200',
      fileURLToPath(import.meta.url),
      '--child',
      '--contender',
      values.contender,
      '--runs',
      values.runs,
    ],
    { stdio: 'inherit' },
  )
  if (child.status !== 0) process.exit(child.status ?? 1)
  const latest = readdirSync(PROFILE_DIR)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => `${PROFILE_DIR}${name}`)
    .filter((path) => statSync(path).mtimeMs >= startedAt)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  if (!latest) throw new Error('no profile was written')
  summarise(latest)
} else {
  const { partysocket, raw, reliableContender, resilient } = await import('./contenders.ts')
  const { pipelined } = await import('./messaging.ts')
  const { EchoServer } = await import('./server-process.ts')
  const { THROUGHPUT_MESSAGES } = await import('./bench.ts')
  const reliableOne = values.contender === 'reliable' ? reliableContender() : null
  if (values.contender === 'reliable' && !reliableOne) {
    throw new Error('this copy of resilient-socket has no reliable()')
  }
  const contender =
    reliableOne ??
    (values.contender === 'raw'
      ? raw
      : values.contender === 'partysocket'
        ? partysocket
        : resilient())
  const server = reliableOne ? await EchoServer.companion() : await EchoServer.start()
  try {
    for (let i = 0; i < Number(values.runs); i++) {
      const run = await pipelined(contender, server, THROUGHPUT_MESSAGES)
      process.stderr.write(`  ${contender.name}: ${run.ms.toFixed(0)} ms\n`)
    }
  } finally {
    await server.stop()
  }
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

function summarise(path: string): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map<string, number>()
  const byArea = new Map<string, number>()
  let totalUs = 0
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    const dt = profile.timeDeltas[i] ?? 0
    if (!node) return
    totalUs += dt
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${functionName || '(anonymous)'}  ${shorten(url)}:${lineNumber + 1}`
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt)
    const area = areaOf(functionName, url)
    byArea.set(area, (byArea.get(area) ?? 0) + dt)
  })
  const pct = (us: number): string => `${((us / totalUs) * 100).toFixed(1).padStart(5)}%`
  const top = (entries: [string, number][], n: number): string =>
    entries
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, us]) => `  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`)
      .join('\n')
  process.stdout.write(
    [
      `\nProfile: ${path}`,
      `Sampled ${(totalUs / 1000).toFixed(0)} ms.`,
      '\nSelf time by area:',
      top([...byArea], 20),
      '\nTop functions by self time:',
      top([...selfUs], 30),
      '\nresilient-socket functions by self time:',
      top(
        [...selfUs].filter(([key]) => /\b(src|dist)\//.test(key) && !key.includes('node_modules')),
        20,
      ),
      '',
    ].join('\n'),
  )
}

function shorten(url: string): string {
  const root = fileURLToPath(new URL('..', import.meta.url))
  return url.replace('file://', '').replace(root, '')
}

function areaOf(functionName: string, url: string): string {
  if (functionName === '(idle)') return '(idle)'
  if (functionName === '(garbage collector)') return '(garbage collector)'
  if (functionName === '(program)') return '(program: native, not attributed)'
  if (url.includes('undici')) return 'undici (Node WebSocket)'
  if (url.startsWith('node:')) return 'node internals'
  if (url.includes('/node_modules/partysocket/')) return 'partysocket'
  if (url.includes('/node_modules/eventemitter3/')) return 'eventemitter3'
  if (url.includes('/node_modules/')) return 'other dependencies'
  if (/\/(src|dist)\//.test(url)) return 'resilient-socket'
  if (url.includes('/bench/')) return 'bench harness'
  if (url === '') return `builtins (${functionName || 'anonymous'})`
  return 'other'
}
