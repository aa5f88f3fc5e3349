#!/usr/bin/env node
// `node bench/redis.ts`: the cost of the Redis session store next to the memory store, in one
// run on loopback: reliable messages per second through one node (client → server, and the
// server's pushes to the client), request round-trip p50/p99, and Redis memory per idle session
// (MEMORY USAGE of its keys). Starts its own redis-server (no persistence).
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import { WebSocketServer } from 'ws'
import {
  attach,
  createSocketServer,
  memoryStore,
  redisStore,
  type SessionStore,
} from '../server/index.ts'
import { ReconnectingSocket, reliable, requests } from '../src/index.ts'

const MESSAGES = 5000
const REQUESTS = 1000
const IDLE_SESSIONS = 200
const TIMEOUT_MS = 60_000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(1)
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

interface Row {
  store: string
  upPerSec: number
  downPerSec: number
  p50Ms: number
  p99Ms: number
}

async function measure(name: string, store: SessionStore): Promise<Row> {
  let ups = 0
  let sid = ''
  const server = createSocketServer({ store, handlers: { echo: (data) => data } })
  server.on('up', (_data, ctx) => {
    sid = ctx.sid ?? ''
    ups++
  })
  const http = createServer()
  const wss = new WebSocketServer({ server: http })
  const detach = attach(wss, server)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  const socket = new ReconnectingSocket(`ws://127.0.0.1:${port}`, {
    reliable: reliable(),
    requests: requests({ timeoutMs: 10_000 }),
    network: false,
  })
  let downs = 0
  socket.onMessage('down', () => downs++)
  await until(() => socket.state === 'open', 'open')
  socket.send('up', {})
  await until(() => ups === 1, 'the session')

  // Client → server: sent in bursts the client's unacked bound lets through.
  let started = performance.now()
  for (let i = 0; i < MESSAGES; i++) {
    socket.send('up', { i })
    if (i % 500 === 499) await until(() => ups > i - 400, 'inbound progress')
  }
  await until(() => ups === MESSAGES + 1, 'inbound')
  const upPerSec = MESSAGES / ((performance.now() - started) / 1000)

  // Server → client: sendTo, awaited one at a time as one producer would.
  started = performance.now()
  for (let i = 0; i < MESSAGES; i++) {
    for (let attempt = 0; ; attempt++) {
      try {
        await server.sendTo(sid, 'down', { i })
        break
      } catch (error) {
        if ((error as { code?: string }).code !== 'UNACKED_LIMIT' || attempt > 10_000) throw error
        await sleep(1)
      }
    }
  }
  await until(() => downs === MESSAGES, 'outbound')
  const downPerSec = MESSAGES / ((performance.now() - started) / 1000)

  const times: number[] = []
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now()
    await socket.request('echo', { i })
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  socket.close()
  detach()
  wss.close()
  await new Promise<void>((resolve) => http.close(() => resolve()))
  return {
    store: name,
    upPerSec,
    downPerSec,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
  }
}

const dir = mkdtempSync(join(tmpdir(), 'resilient-socket-bench-redis-'))
const redisPort = 20_000 + Math.floor(Math.random() * 20_000)
const redisServer: ChildProcess = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
  { stdio: 'ignore' },
)
try {
  const client = createClient({ url: `redis://127.0.0.1:${redisPort}` })
  client.on('error', () => {})
  for (let attempt = 0; ; attempt++) {
    try {
      await client.connect()
      break
    } catch (error) {
      if (attempt > 100) throw error
      await sleep(50)
    }
  }
  const redis = await redisStore({ client, keyPrefix: 'bench:' })
  const rows = [await measure('memory', memoryStore()), await measure('redis', redis)]

  // Idle sessions: created (attached), no frames, no traffic.
  let bytes = 0
  for (let i = 0; i < IDLE_SESSIONS; i++) {
    const sid = `idle-${i}-${Math.random().toString(36).slice(2)}`
    await redis.create(sid, 'principal-1')
    for (const part of ['s', 'l', 't']) {
      const used = await client.memoryUsage(`bench:{${sid}}:${part}`)
      bytes += used ?? 0
    }
  }
  await redis.close()
  await client.close()

  const [memory, onRedis] = rows as [Row, Row]
  const f = (n: number): string => Math.round(n).toLocaleString('en-US')
  process.stdout.write(
    [
      `Redis store vs memory store, one node in-process, loopback (Node ${process.version}): ${f(MESSAGES)} reliable messages each way, ${f(REQUESTS)} sequential requests`,
      '',
      '| store | client → server msg/s | server → client msg/s (sendTo) | request p50 | request p99 |',
      '| --- | --- | --- | --- | --- |',
      ...rows.map(
        (row) =>
          `| ${row.store} | ${f(row.upPerSec)} | ${f(row.downPerSec)} | ${row.p50Ms.toFixed(2)} ms | ${row.p99Ms.toFixed(2)} ms |`,
      ),
      '',
      `Added by Redis: request p50 +${(onRedis.p50Ms - memory.p50Ms).toFixed(2)} ms, p99 +${(onRedis.p99Ms - memory.p99Ms).toFixed(2)} ms`,
      `Redis memory per idle session (MEMORY USAGE of its keys, mean of ${IDLE_SESSIONS}): ${f(bytes / IDLE_SESSIONS)} bytes`,
      '',
    ].join('\n'),
  )
} finally {
  redisServer.kill('SIGTERM')
  await sleep(200)
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
