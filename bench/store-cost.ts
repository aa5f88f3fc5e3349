// The `redis` section's scenario: one node of resilient-socket/server in this process, its
// session store in memory or in Redis, and one resilient-socket client with `reliable()` on
// loopback. A round measures reliable messages per second each way (client → server, and
// the server's own `sendTo` pushes), and sequential request round trips. Outside the rounds,
// the Redis memory an idle session holds. The section (sections.ts) loads this module only
// when it runs, so that the server, ws and the Redis client stay out of every other
// section's process.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient } from 'redis'
import { WebSocketServer } from 'ws'
import {
  attach,
  createSocketServer,
  memoryStore,
  type RedisSessionStore,
  redisStore,
  type SessionStore,
} from '../server/index.ts'
import { type RedisServer, startRedisServer } from '../test/helpers/redis-server.ts'
import { type Conn, lib, type Payload, REQUEST_OPTIONS, resilient } from './contenders.ts'
import { withTimeout } from './rounds.ts'
import { percentile } from './stats.ts'

/** Reliable frames each way per round. */
export const STORE_MESSAGES = 10_000
/** Sequential `request()` round trips per round. */
export const STORE_REQUESTS = 1000
/** Sessions created for the idle-memory figure (its mean is over these). */
export const IDLE_SESSIONS = 200

/** The longest any one wait of a round may take; a stuck round fails instead of hanging. */
const WAIT_TIMEOUT_MS = 60_000
/** How often the waits look. */
const POLL_MS = 1
/**
 * The client's sends go out in bursts of this many, each after the node has handled all but
 * `SEND_SLACK` of what was sent before: the client's unacked window holds them (1,000 by
 * default), so the figure is the store's pace, not the client's queue's.
 */
const SEND_BURST = 500
const SEND_SLACK = 100
/** A `sendTo` refused with UNACKED_LIMIT (the client has not acked enough yet) is tried again, at most this often in a row. */
const SEND_TO_RETRIES = 10_000
const KEY_PREFIX = 'bench:'
const IDLE_PREFIX = 'bench-idle:'

const newClient = (url: string) => createClient({ url })
type RedisClient = ReturnType<typeof newClient>

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `done` until it holds; fails after WAIT_TIMEOUT_MS (and as many polls at most). */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_TIMEOUT_MS
  for (let poll = 0; poll < WAIT_TIMEOUT_MS / POLL_MS; poll++) {
    if (done()) return
    if (performance.now() > deadline) break
    await sleep(POLL_MS)
  }
  if (!done()) throw new Error(`redis section: timed out waiting for ${what}`)
}

/** One round of one store. */
export interface StoreRun {
  /** Client → server: reliable frames handled by the node per second. */
  upPerSec: number
  /** Server → client: `sendTo` awaited one at a time, frames delivered per second. */
  downPerSec: number
  /** This round's request round trips (ms). */
  requestP50Ms: number
  requestP99Ms: number
}

/** A store for one round, and what to do with it afterwards. */
export interface StoreKind {
  readonly name: string
  open(): Promise<SessionStore>
  release(store: SessionStore): Promise<void>
}

/** A fresh memory store per round, so that no round inherits another's sessions. */
export const memoryKind: StoreKind = {
  name: 'memory',
  open: async () => memoryStore(),
  release: async () => {},
}

/** Runs `STORE_MESSAGES` each way and `STORE_REQUESTS` requests through a node on `store`. */
export async function storeRound(store: SessionStore): Promise<StoreRun> {
  let ups = 0
  let sid: string | undefined
  const node = createSocketServer({ store, handlers: { echo: (data) => data } })
  node.on('bench', (_data, ctx) => {
    sid ??= ctx.sid
    ups++
  })
  const http = createServer()
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false })
  const detach = attach(wss, node)
  let conn: Conn | undefined
  try {
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const { port } = http.address() as AddressInfo
    const contender = resilient('resilient-socket reliable()', {
      reliable: lib.reliable(),
      ...REQUEST_OPTIONS,
    })
    const client = contender.create(`ws://127.0.0.1:${port}`)
    conn = client
    let downs = 0
    client.onEcho((_data, type) => {
      if (type === 'push') downs++
    })
    await withTimeout(client.opened(), WAIT_TIMEOUT_MS, 'redis section: open')
    client.send('bench', { seq: -1, text: 'session' })
    await waitFor(() => ups === 1 && sid !== undefined, 'the session')
    const session = sid as string

    let started = performance.now()
    for (let i = 0; i < STORE_MESSAGES; i++) {
      client.send('bench', { seq: i, text: 'hello, world' })
      if (i % SEND_BURST === SEND_BURST - 1)
        await waitFor(() => ups > i - SEND_SLACK, 'the node to handle a burst')
    }
    await waitFor(() => ups === STORE_MESSAGES + 1, 'client → server')
    const upPerSec = STORE_MESSAGES / ((performance.now() - started) / 1000)

    // One producer awaiting each append, as an application pushing events in order would.
    started = performance.now()
    for (let i = 0; i < STORE_MESSAGES; i++) {
      const payload: Payload = { seq: i, text: 'hello, world' }
      for (let attempt = 0; ; attempt++) {
        try {
          await node.sendTo(session, 'push', payload)
          break
        } catch (error) {
          const full = (error as { code?: unknown }).code === 'UNACKED_LIMIT'
          if (!full || attempt >= SEND_TO_RETRIES) throw error
          await sleep(POLL_MS)
        }
      }
    }
    await waitFor(() => downs === STORE_MESSAGES, 'server → client')
    const downPerSec = STORE_MESSAGES / ((performance.now() - started) / 1000)

    const request = client.request
    if (!request) throw new Error('redis section: the client has no request()')
    const times: number[] = []
    for (let i = 0; i < STORE_REQUESTS; i++) {
      const t0 = performance.now()
      await withTimeout(
        request({ seq: i, text: 'echo' }),
        WAIT_TIMEOUT_MS,
        'redis section: request',
      )
      times.push(performance.now() - t0)
    }
    return {
      upPerSec,
      downPerSec,
      requestP50Ms: percentile(times, 50),
      requestP99Ms: percentile(times, 99),
    }
  } finally {
    conn?.close()
    detach()
    wss.close()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }
}

/** A redis-server of the section's own (no persistence), and a client connected to it. */
export class RedisBench {
  readonly kind: StoreKind
  readonly #server: RedisServer
  readonly #client: RedisClient

  private constructor(server: RedisServer, client: RedisClient) {
    this.#server = server
    this.#client = client
    this.kind = {
      name: 'Redis',
      open: () => redisStore({ client, keyPrefix: KEY_PREFIX }),
      // Every round starts from an empty Redis, as every memory round starts from an empty store.
      release: async (store) => {
        await (store as RedisSessionStore).close()
        await client.flushDb()
      },
    }
  }

  static async start(): Promise<RedisBench> {
    const server = await startRedisServer()
    const client = newClient(server.url)
    // Connection errors surface as failed commands; the client's own event would be unhandled.
    client.on('error', () => {})
    try {
      await withTimeout(client.connect(), WAIT_TIMEOUT_MS, 'redis section: connect')
    } catch (error) {
      await server.stop()
      throw error
    }
    return new RedisBench(server, client)
  }

  /** `redis-server --version`'s version, for the table's heading. */
  async version(): Promise<string> {
    const info = await this.#client.info('server')
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
  }

  /**
   * The mean `MEMORY USAGE` of every key of `count` sessions that were created and never
   * carried a frame: all keys under a prefix of their own, whatever keys the store makes.
   */
  async idleSessionBytes(count: number): Promise<{ bytes: number; keysPerSession: number }> {
    const store = await redisStore({ client: this.#client, keyPrefix: IDLE_PREFIX })
    try {
      for (let i = 0; i < count; i++) await store.create(`idle-${i}`, 'principal-1')
      let bytes = 0
      let keys = 0
      // SCAN pages through a keyspace of a few hundred keys; the bound is far above that.
      let pages = 0
      for await (const page of this.#client.scanIterator({
        MATCH: `${IDLE_PREFIX}*`,
        COUNT: 1000,
      })) {
        for (const key of page) {
          bytes += (await this.#client.memoryUsage(key)) ?? 0
          keys++
        }
        if (++pages > 10_000) throw new Error('redis section: SCAN did not finish')
      }
      return { bytes: bytes / count, keysPerSession: keys / count }
    } finally {
      await store.close()
      await this.#client.flushDb()
    }
  }

  async stop(): Promise<void> {
    try {
      await this.#client.close()
    } finally {
      await this.#server.stop()
    }
  }
}
