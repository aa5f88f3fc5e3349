import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  heartbeat,
  ReconnectingSocket,
  reliable,
  requests,
  type SessionLost,
} from '../../src/index.ts'
import type { NodeCommand, NodeReport } from '../helpers/cluster-node.ts'
import { expectExactly } from '../helpers/exactly.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { seededRandom } from '../helpers/unit-harness.ts'
import { delay, waitFor } from './helpers.ts'

// Two server nodes, each its own OS process, on one real redis-server (redisStore), behind a
// TCP proxy that a test points at one node or the other, as a load balancer would. The real
// client in reliable mode streams both ways while a node is SIGKILLed, restarted cleanly, or
// Redis itself is restarted; the client resumes on the other node. Every wait is bounded.

const NODE_SCRIPT = join(import.meta.dirname, '../helpers/cluster-node.ts')
const FAST = { initialDelayMs: 20, maxDelayMs: 100, quickRetryMs: 10 }
const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000
const SEND_TIMEOUT_MS = 15_000
const N = 5000

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

interface Up {
  n: number
  deliveryId: string | undefined
  node: string
}

/** A node process, and what it reported over IPC. */
class ClusterNode {
  readonly closes: { code: number; reason: string; sid: string | undefined }[] = []
  readonly errors: string[] = []
  readonly slow: { phase: 'start' | 'end'; requestId: string | undefined }[] = []
  readonly name: string
  port = 0
  readonly #child: ChildProcess
  readonly #sent = new Map<number, (error: string | undefined) => void>()
  #nextId = 0
  #output = ''

  private constructor(name: string, child: ChildProcess, ups: Up[]) {
    this.name = name
    this.#child = child
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#output += chunk
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#output += chunk
    })
    child.on('message', (message: NodeReport) => {
      if (message.type === 'up')
        ups.push({ n: message.n, deliveryId: message.deliveryId, node: name })
      else if (message.type === 'closed') this.closes.push(message)
      else if (message.type === 'error') this.errors.push(`${message.code}: ${message.message}`)
      else if (message.type === 'sent') {
        this.#sent.get(message.id)?.(message.error)
        this.#sent.delete(message.id)
      } else if (message.type === 'slow') this.slow.push(message)
      else if (message.type === 'ready') this.port = message.port
    })
    child.on('exit', () => {
      for (const settle of this.#sent.values()) settle(`${name} exited`)
      this.#sent.clear()
    })
  }

  static async start(
    name: string,
    redisUrl: string,
    ups: Up[],
    pollMs = 2000,
  ): Promise<ClusterNode> {
    const child = fork(
      NODE_SCRIPT,
      ['--redis', redisUrl, '--name', name, '--poll-ms', String(pollMs)],
      {
        execPath: process.execPath,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    )
    const node = new ClusterNode(name, child, ups)
    await waitFor(
      () => node.port > 0 || child.exitCode !== null,
      START_TIMEOUT_MS,
      `node ${name} to listen`,
    )
    if (node.port === 0) throw new Error(`node ${name} exited before it listened:\n${node.#output}`)
    return node
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null
  }

  /** `server.sendTo(sid, 'down', { n })` on this node; resolves once it is appended. */
  sendTo(sid: string, n: number): Promise<void> {
    return this.#command({ type: 'sendTo', sid, n }, `sendTo ${n}`)
  }

  /** `server.join(sid, group)` on this node. */
  join(sid: string, group: string): Promise<void> {
    return this.#command({ type: 'join', sid, group }, `join ${group}`)
  }

  /** `server.broadcast(group, 'tick', { n })` on this node; resolves once every member has it appended. */
  broadcast(group: string, n: number): Promise<void> {
    return this.#command({ type: 'broadcast', group, n }, `broadcast ${n}`)
  }

  #command(command: DistributiveOmit<NodeCommand, 'id'>, what: string): Promise<void> {
    const id = ++this.#nextId
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#sent.delete(id)
        reject(new Error(`${this.name}: ${what} unanswered after ${SEND_TIMEOUT_MS} ms`))
      }, SEND_TIMEOUT_MS)
      this.#sent.set(id, (error) => {
        clearTimeout(timer)
        if (error === undefined) resolve()
        else reject(new Error(`${this.name}: ${what} failed: ${error}`))
      })
      this.#child.send({ ...command, id } as NodeCommand)
    })
  }

  /** SIGKILL (a crash: nothing detached, nothing flushed) or SIGTERM (a clean restart). */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    if (this.exited) return
    const gone = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.kill(signal)
    const timer = delay(STOP_TIMEOUT_MS).then(() => 'late' as const)
    if ((await Promise.race([gone, timer])) === 'late') {
      this.#child.kill('SIGKILL')
      await gone
      if (signal === 'SIGTERM') throw new Error(`${this.name} ignored SIGTERM:\n${this.#output}`)
    }
  }

  output(): string {
    return this.#output
  }
}

/**
 * What the handlers saw, once per delivery id. A node killed between a handler and its commit
 * has the new node run that frame again under the same delivery id (PROTOCOL.md §10: at most
 * the one frame in hand at the crash); any other repeat would be a new id, and counted.
 */
function delivered(ups: Up[]): { ns: number[]; redelivered: Up[] } {
  const seen = new Set<string>()
  const ns: number[] = []
  const redelivered: Up[] = []
  for (const up of ups) {
    const key = up.deliveryId ?? `none:${up.n}`
    if (seen.has(key)) {
      redelivered.push(up)
      continue
    }
    seen.add(key)
    ns.push(up.n)
  }
  return { ns, redelivered }
}

interface Cluster {
  redis: RedisServer
  nodes: ClusterNode[]
  proxy: TcpProxy
  socket: ReconnectingSocket
  ups: Up[]
  downs: number[]
  lost: SessionLost[]
  sid: string
  /** The node the proxy sends new connections to. */
  current: ClusterNode
  moveTo(node: ClusterNode): void
  close(): Promise<void>
}

let redis: RedisServer
let alwaysRedis: RedisServer
let everysecRedis: RedisServer

beforeAll(async () => {
  ;[redis, alwaysRedis, everysecRedis] = await Promise.all([
    startRedisServer(),
    startRedisServer({ aof: 'always' }),
    startRedisServer({ aof: 'everysec' }),
  ])
})

afterAll(async () => {
  await Promise.all([redis?.stop(), alwaysRedis?.stop(), everysecRedis?.stop()])
})

async function cluster(on: RedisServer): Promise<Cluster> {
  const ups: Up[] = []
  const downs: number[] = []
  const lost: SessionLost[] = []
  const nodes = await Promise.all([
    ClusterNode.start('a', on.url, ups),
    ClusterNode.start('b', on.url, ups),
  ])
  const [a] = nodes as [ClusterNode, ClusterNode]
  const proxy = await startTcpProxy(a.port)
  const socket = new ReconnectingSocket(proxy.url, {
    reliable: reliable({ heartbeat: heartbeat({ intervalMs: 250, timeoutMs: 500 }) }),
    requests: requests({ timeoutMs: 20_000 }),
    retry: FAST,
    network: false,
  })
  socket.onMessage('down', (data) => downs.push((data as { n: number }).n))
  socket.on('sessionlost', (event) => lost.push(event))
  await waitFor(() => socket.state === 'open', 10_000, 'the first open')
  socket.send('up', { n: 0 }) // names the session; not counted
  await waitFor(() => ups.length > 0, 10_000, 'the session id')
  const sid = (ups.shift()?.deliveryId ?? '').replace(/:\d+$/, '')
  const c: Cluster = {
    redis: on,
    nodes,
    proxy,
    socket,
    ups,
    downs,
    lost,
    sid,
    current: a,
    moveTo(node) {
      c.current = node
      proxy.retarget(node.port)
    },
    async close() {
      socket.close()
      await proxy.close()
      await Promise.all(c.nodes.map((node) => node.stop('SIGKILL')))
    },
  }
  return c
}

/** Pushes in flight at once: they are pipelined in order on one IPC channel and one Redis connection. */
const WINDOW = 32

/**
 * Streams 1..n each way at about one per ms: `up` from the client, `down` pushed by the node
 * the client is on. `events[i]` runs after send i once every push so far is appended, so a
 * push is never lost with the node that was making it: what is in flight is the protocol's.
 */
async function stream(
  c: Cluster,
  n: number,
  events: Record<number, () => Promise<void>>,
): Promise<void> {
  const started = Date.now()
  let pending: Promise<void>[] = []
  for (let i = 1; i <= n; i++) {
    c.socket.send('up', { n: i })
    pending.push(c.current.sendTo(c.sid, i))
    const event = events[i]
    if (pending.length >= WINDOW || event !== undefined) {
      await Promise.all(pending)
      pending = []
    }
    if (event !== undefined) await event()
    if (i - (Date.now() - started) > 0) await delay(1)
  }
  await Promise.all(pending)
}

async function expectDelivered(c: Cluster, n: number): Promise<Up[]> {
  await waitFor(
    () => delivered(c.ups).ns.length >= n && c.downs.length >= n,
    30_000,
    `${n} each way (got ${delivered(c.ups).ns.length} up, ${c.downs.length} down)`,
  )
  await delay(200) // a duplicate would arrive now
  const { ns, redelivered } = delivered(c.ups)
  expectExactly(ns, n, 'client → server')
  expectExactly(c.downs, n, 'server → client')
  expect(c.lost).toEqual([])
  return redelivered
}

describe('two nodes on one Redis', () => {
  it.each([1, 2, 3])(
    'seed %i: node A SIGKILLed mid-stream, the client resumes on B: 0 lost, 0 duplicated, 0 reordered both ways',
    async (seed) => {
      const random = seededRandom(seed)
      const killAt = 1000 + Math.floor(random() * 3000)
      const c = await cluster(redis)
      const [a, b] = c.nodes as [ClusterNode, ClusterNode]
      try {
        await stream(c, N, {
          [killAt]: async () => {
            c.moveTo(b)
            await a.stop('SIGKILL')
          },
        })
        const redelivered = await expectDelivered(c, N)
        // Only the frame A had handled and not yet committed may run again on B.
        expect(redelivered.length).toBeLessThanOrEqual(1)
        for (const up of redelivered) expect(up.node).toBe('b')
        // Both nodes took part: A before the kill, B after.
        expect(c.ups.some((up) => up.node === 'a' && up.n > 0)).toBe(true)
        expect(c.ups.some((up) => up.node === 'b' && up.n > killAt)).toBe(true)
        expect(b.errors).toEqual([])
      } finally {
        await c.close()
      }
    },
  )

  it('a clean restart of A (SIGTERM, 1012) moves the client to B, and back to the new A: 0 lost, 0 duplicated', async () => {
    const c = await cluster(redis)
    const [a, b] = c.nodes as [ClusterNode, ClusterNode]
    let fresh: ClusterNode | undefined
    try {
      await stream(c, N, {
        1500: async () => {
          c.moveTo(b)
          await a.stop('SIGTERM')
          fresh = await ClusterNode.start('a2', c.redis.url, c.ups)
          c.nodes.push(fresh)
        },
        3500: async () => {
          c.moveTo(fresh as ClusterNode)
          await b.stop('SIGTERM')
        },
      })
      const redelivered = await expectDelivered(c, N)
      // A clean stop commits what it handled: nothing runs twice.
      expect(redelivered).toEqual([])
      expect(a.closes.map((close) => close.code)).toEqual([1012])
      expect(b.closes.map((close) => close.code)).toEqual([1012])
      expect(new Set(c.ups.map((up) => up.node))).toEqual(new Set(['a', 'b', 'a2']))
    } finally {
      await c.close()
    }
  })

  it('Redis (AOF, appendfsync always) SIGKILLed and restarted mid-stream: 0 lost, 0 duplicated, no session lost', async () => {
    const c = await cluster(alwaysRedis)
    const [a, b] = c.nodes as [ClusterNode, ClusterNode]
    try {
      await stream(c, N, {
        2000: async () => {
          await c.redis.restart('SIGKILL')
        },
        // And a node crash after it, on the restarted Redis.
        3500: async () => {
          c.moveTo(b)
          await a.stop('SIGKILL')
        },
      })
      const redelivered = await expectDelivered(c, N)
      expect(redelivered.length).toBeLessThanOrEqual(1)
      // The nodes saw Redis go and rode it out: reported, retried.
      expect([...a.errors, ...b.errors].some((error) => error.startsWith('STORE_FAILED'))).toBe(
        true,
      )
    } finally {
      await c.close()
    }
  })
})

describe('a zombie node', () => {
  it('A keeps a half-open socket while its client resumes on B: A is fenced (4010) and cannot write into the session, its late answer included', async () => {
    const c = await cluster(redis)
    const [a, b] = c.nodes as [ClusterNode, ClusterNode]
    const answers: string[] = []
    c.socket.on('message', ({ envelope }) => {
      if (envelope?.re !== undefined) answers.push(envelope.re)
    })
    try {
      // A takes a request that it answers only after the client has moved on. (Only A is
      // slow: a reliable session handles frames one at a time, $ping included, so a handler
      // slower than the heartbeat's timeout would cost B its connection too.)
      const answered = c.socket.request('slow', { ms: 2500, on: 'a' })
      await waitFor(() => a.slow.length > 0, 5000, 'A to start the request')
      const requestId = a.slow[0]?.requestId
      // A's socket goes dark, never closed: A keeps believing it serves the client.
      expect(c.proxy.hold()).toBe(1)

      c.moveTo(b)
      await waitFor(() => b.slow.some((s) => s.phase === 'start'), 10_000, 'the resume on B')
      // A hears that the session moved and closes its zombie socket with 4010 (displaced).
      await waitFor(() => a.closes.length > 0, 5000, 'A to close its socket')
      expect(a.closes.map((close) => close.code)).toEqual([4010])
      expect(await answered).toEqual({ node: 'b' })
      // A's handler finished after the move: its answer must not reach the session.
      await waitFor(() => a.slow.some((s) => s.phase === 'end'), 5000, "A's late answer")
      await delay(500)
      expect(answers).toEqual([requestId])
      expect(c.lost).toEqual([])
      // And the stream goes on from B.
      await stream(c, 200, {})
      await expectDelivered(c, 200)
    } finally {
      await c.close()
    }
  })
})

describe('a broadcast across nodes', () => {
  const TICKS = 1000

  /** A reliable client through a proxy of its own, and the ticks it delivered. */
  async function member(target: ClusterNode, ups: Up[]) {
    const proxy = await startTcpProxy(target.port)
    const socket = new ReconnectingSocket(proxy.url, {
      reliable: reliable({ heartbeat: heartbeat({ intervalMs: 250, timeoutMs: 500 }) }),
      retry: FAST,
      network: false,
    })
    const ticks: number[] = []
    const lost: SessionLost[] = []
    socket.onMessage('tick', (data) => ticks.push((data as { n: number }).n))
    socket.on('sessionlost', (event) => lost.push(event))
    const resumes: boolean[] = []
    socket.on('open', (event) => {
      if (event.reconnected) resumes.push(event.resumed)
    })
    await waitFor(() => socket.state === 'open', 10_000, 'the first open')
    const before = ups.length
    socket.send('up', { n: 0 }) // names the session
    await waitFor(() => ups.length > before, 10_000, 'the session id')
    const sid = (ups[before]?.deliveryId ?? '').replace(/:\d+$/, '')
    expect(sid).not.toBe('')
    return { proxy, socket, ticks, lost, sid, resumes }
  }

  it('from node B to members on A and B while A is SIGKILLed mid-broadcast: each member gets every tick once, in order; a non-member none', async () => {
    const ups: Up[] = []
    const nodes = await Promise.all([
      ClusterNode.start('a', redis.url, ups),
      ClusterNode.start('b', redis.url, ups),
    ])
    const [a, b] = nodes
    const clients: Awaited<ReturnType<typeof member>>[] = []
    try {
      // Sequentially: each names its session by the next `up`.
      for (const target of [a, a, b, a]) clients.push(await member(target, ups))
      const [onA1, onA2, onB, outsider] = clients as [
        (typeof clients)[0],
        (typeof clients)[0],
        (typeof clients)[0],
        (typeof clients)[0],
      ]
      const members = [onA1, onA2, onB]
      const group = `room-${Date.now()}`
      // Joined on A, broadcast from B: membership lives in Redis.
      for (const m of members) await a.join(m.sid, group)

      let pending: Promise<void>[] = []
      for (let n = 1; n <= TICKS; n++) {
        pending.push(b.broadcast(group, n))
        if (pending.length >= WINDOW || n === TICKS / 2) {
          await Promise.all(pending)
          pending = []
        }
        if (n === TICKS / 2) {
          // A crashes with two members on it: they resume on B and get the rest from there.
          for (const c of [onA1, onA2, outsider]) c.proxy.retarget(b.port)
          await a.stop('SIGKILL')
        }
      }
      await Promise.all(pending)
      await waitFor(
        () => members.every((m) => m.ticks.length >= TICKS),
        30_000,
        `${TICKS} ticks each (got ${members.map((m) => m.ticks.length)})`,
      )
      await delay(200) // a duplicate would arrive now
      for (const [i, m] of members.entries()) {
        expectExactly(m.ticks, TICKS, `member ${i + 1}`)
        expect(m.lost).toEqual([])
      }
      expect(outsider.ticks).toEqual([])
      // The members on A really were cut, mid-broadcast, and resumed their sessions on B.
      for (const m of [onA1, onA2]) expect(m.resumes).toEqual([true])
      expect(onB.resumes).toEqual([])
      expect(b.errors).toEqual([])
    } finally {
      for (const c of clients) {
        c.socket.close()
        await c.proxy.close()
      }
      await Promise.all(nodes.map((node) => node.stop('SIGKILL')))
    }
  })
})

describe('Redis with AOF appendfsync everysec', () => {
  const BEFORE = 200
  // Within the client's ring of acknowledged frames (keepAckedMessages, 100), so the report
  // can name every one of them.
  const BURST = 80

  // Pushes into the session between the loss and the client's resume: Redis numbers them
  // from the `out` it kept, seqs the client has seen, so the resume renumbers them after it.
  const WINDOW_PUSHES = 10

  it.each([
    ['node A is SIGKILLed, the client resumes on B', 'killed'],
    ['node A stays up, and closes the socket with 1012 when it sees the restart', 'up'],
  ] as const)(
    'loses the writes after its last fsync (the unsynced tail cut; %s): the sessionlost report lists exactly what Redis lost, and pushes made after the loss arrive once, in order',
    async (_, fate) => {
      const c = await cluster(everysecRedis)
      const [a, b] = c.nodes as [ClusterNode, ClusterNode]
      const raw = createClient({ url: everysecRedis.url, socket: { reconnectStrategy: () => 50 } })
      raw.on('error', () => {})
      await raw.connect()
      const key = `rs:{${c.sid}}:s`
      const stored = async () => {
        const [i, o, acked] = await raw.hmGet(key, ['i', 'o', 'a'])
        return { in: Number(i), out: Number(o), acked: Number(acked) }
      }
      /** Until Redis has committed `inbound` and the client acknowledged all `outbound`. */
      const settled = async (inbound: number, outbound: number) => {
        let last = await stored()
        for (let i = 0; i < 500 && !(last.in === inbound && last.acked === outbound); i++) {
          await delay(20)
          last = await stored()
        }
        expect(last).toEqual({ in: inbound, out: outbound, acked: outbound })
        await waitFor(
          () => c.socket.stats.delivery?.unacked === 0,
          10_000,
          'the client to hear every ack',
        )
      }
      try {
        // What Redis had fsynced: 1..BEFORE each way, all of it acknowledged, nothing in flight.
        await stream(c, BEFORE, {})
        await expectDelivered(c, BEFORE)
        await settled(BEFORE + 1, BEFORE) // + the `up` 0 that named the session
        let mark = everysecRedis.aofMark()
        for (let i = 0; i < 50; i++) {
          await delay(50)
          const now = everysecRedis.aofMark()
          if (now === mark) break
          mark = now
        }

        // The burst after it: handled, committed, delivered and acknowledged, then lost.
        let pending: Promise<void>[] = []
        for (let n = BEFORE + 1; n <= BEFORE + BURST; n++) {
          c.socket.send('up', { n })
          pending.push(a.sendTo(c.sid, n))
        }
        await Promise.all(pending)
        pending = []
        await expectDelivered(c, BEFORE + BURST)
        await settled(BEFORE + BURST + 1, BEFORE + BURST)
        await c.redis.crashLosingAofAfter(mark)
        // What Redis has now is the truth the report must match.
        const after = await stored()
        expect(after).toEqual({ in: BEFORE + 1, out: BEFORE, acked: BEFORE })

        // Pushes made after the loss, before the client resumes. Redis gives them the seqs
        // after its `out`, which the client has seen: the resume must renumber them.
        const windowFrom = BEFORE + BURST + 1
        if (fate === 'killed') {
          c.moveTo(b)
          for (let n = windowFrom; n < windowFrom + WINDOW_PUSHES; n++)
            pending.push(b.sendTo(c.sid, n))
          await Promise.all(pending)
          await a.stop('SIGKILL')
        } else {
          // A sees the new epoch in its first append's answer and closes; the client resumes on A.
          for (let n = windowFrom; n < windowFrom + WINDOW_PUSHES; n++)
            pending.push(a.sendTo(c.sid, n))
          await Promise.all(pending)
        }
        pending = []
        await waitFor(() => c.lost.length > 0, 15_000, 'the sessionlost report')
        const [report] = c.lost
        const ns = (frames: { data: unknown }[]) =>
          frames.map((f) => (JSON.parse(String(f.data)) as { data: { n: number } }).data.n)
        expect(report).toMatchObject({
          reason: 'rollback',
          previousSid: c.sid,
          inDoubt: [],
          lostBeyond: false,
          // Every server frame up to here was delivered; Redis keeps `out` only up to after.out.
          lastSeen: BEFORE + BURST,
        })
        // Client → server: exactly the frames above Redis's `in`, which the node did receive
        // (its handlers ran: `ups` has them) but whose commits Redis lost.
        expect(report?.rolledBack.map((f) => f.seq)).toEqual(
          Array.from({ length: BEFORE + BURST + 1 - after.in }, (_, i) => after.in + 1 + i),
        )
        expect(ns(report?.rolledBack ?? [])).toEqual(
          Array.from({ length: BURST }, (_, i) => BEFORE + 1 + i),
        )
        expectExactly(delivered(c.ups).ns, BEFORE + BURST, 'client → server, handled')
        // Server → client: lastSeen - out frames the client delivered and Redis forgot.
        expect((report?.lastSeen ?? 0) - after.out).toBe(BURST)
        // The pushes made after the loss are not lost with it: they come after the report.
        const total = BEFORE + BURST + WINDOW_PUSHES
        await waitFor(() => c.downs.length >= total, 10_000, 'the pushes made after the loss')
        expectExactly(c.downs, total, 'server → client, delivered')
        if (fate === 'up') {
          expect(a.closes.some((close) => close.code === 1012)).toBe(true)
        }

        // The session goes on from what Redis has: new frames are neither dropped nor doubled.
        const node = fate === 'killed' ? b : a
        const before = c.ups.length
        for (let n = total + 1; n <= total + 20; n++) {
          c.socket.send('up', { n })
          await node.sendTo(c.sid, n)
        }
        await waitFor(() => c.downs.length >= total + 20, 10_000, 'the pushes after the resume')
        await waitFor(() => c.ups.length - before >= 20, 10_000, 'the sends after the loss')
        await delay(200)
        expectExactly(c.downs, total + 20, 'server → client, after')
        const later = c.ups.slice(before)
        expect(later.map((up) => up.n)).toEqual(Array.from({ length: 20 }, (_, i) => total + 1 + i))
        // Their seqs are the rolled-back ones again, under a new lineage: a handler deduping
        // on delivery ids takes them as the new frames they are.
        const earlier = new Set(c.ups.slice(0, before).map((up) => up.deliveryId))
        for (const up of later) expect(earlier.has(up.deliveryId)).toBe(false)
        expect(later[0]?.deliveryId).toMatch(new RegExp(`^${c.sid}\\.[\\w-]+:${after.in + 1}$`))
        expect(c.lost).toHaveLength(1)
      } finally {
        raw.destroy()
        await c.close()
      }
    },
  )
})
