/**
 * The Redis store against a real redis-server (test/helpers/redis-server.ts): the shared
 * contract, then what only Redis has (atomicity across connections, key layout, TTLs,
 * a restart under the store, the epoch and the reconciliation after a restart or a real
 * data loss, two companions on one Redis).
 */
import { randomUUID } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import {
  type AttachResult,
  type LoggedFrame,
  type RedisSessionStore,
  type RedisStoreClient,
  type RedisStoreOptions,
  redisStore,
  type ServerError,
  type StoreEvent,
} from '../../server/index.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'
import { connect, startCompanion } from './helpers.ts'
import { appended, sessionStoreContract } from './store-contract.ts'

const LIMITS = { maxFrames: 1000, maxBytes: 1024 * 1024 }
const PREFIX = 'rs-test:'

const makeClient = (url: string) =>
  createClient({ url, socket: { reconnectStrategy: () => 50, connectTimeout: 2000 } })
type Client = ReturnType<typeof makeClient>

let redis: RedisServer
const clients: Client[] = []
const stores: RedisSessionStore[] = []

/** A client that reconnects quickly (a restart is part of the tests); closed after the suite. */
async function newClient(): Promise<Client> {
  const client = makeClient(redis.url)
  // node-redis throws on an 'error' event without a listener; the restart test expects errors.
  client.on('error', () => {})
  clients.push(client)
  await client.connect()
  return client
}

async function newStore(
  client?: Client,
  options: Partial<RedisStoreOptions> = {},
): Promise<RedisSessionStore> {
  const store = await redisStore({
    client: client ?? (await newClient()),
    keyPrefix: PREFIX,
    ...options,
  })
  stores.push(store)
  return store
}

beforeAll(async () => {
  redis = await startRedisServer()
})

afterAll(async () => {
  for (const store of stores) await store.close().catch(() => {})
  for (const client of clients) client.destroy()
  await redis?.stop()
})

/** Waits (bounded) until `check` holds; throws with `what` if it does not in time. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let round = 0; round < 10_000 && !check(); round++) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  if (!check()) throw new Error(`not within ${timeoutMs} ms: ${what}`)
}

const body = (n: number): string => `{"type":"n","data":${n}}`
const BODY_BYTES = body(0).length

/**
 * The epochs of one session across restarts, for `toEqual`: a new epoch is Redis's clock in
 * ms, so a test cannot know it. `E(n)` matches the n-th epoch after epoch 0: its first use
 * records the value (it must be above the one before), and every later use must equal it.
 */
function epochs() {
  const values: number[] = [0]
  const match = (n: number) => ({
    asymmetricMatch(actual: unknown): boolean {
      if (typeof actual !== 'number') return false
      const known = values[n]
      if (known !== undefined) return known === actual
      if (!(actual > (values[n - 1] ?? Number.POSITIVE_INFINITY))) return false
      values[n] = actual
      return true
    },
    toString: () => `epoch #${n}`,
    toAsymmetricMatcher: () => `epoch #${n}`,
  })
  /** The n-th epoch; it must have been recorded. */
  match.value = (n: number): number => {
    const value = values[n]
    if (value === undefined) throw new Error(`epoch #${n} has not been seen yet`)
    return value
  }
  return match
}

/** The watcher is told of `frame` (by pub/sub or the re-read), and of nothing else in its epoch. */
async function expectToldOnce(
  events: StoreEvent[],
  frame: { sid: string; seq: number; epoch: number },
): Promise<void> {
  const inEpoch = () => events.filter((e) => e.type === 'appended' && e.epoch === frame.epoch)
  await until(() => inEpoch().length > 0, `an append of epoch ${frame.epoch} told`)
  expect(inEpoch()).toEqual([{ type: 'appended', ...frame }])
}

function attachedState(result: AttachResult) {
  if (result.status !== 'attached') throw new Error(`attach answered ${result.status}`)
  return result
}

/**
 * A redis-server with AOF, `appendfsync always` (a SIGKILL loses nothing; a loss is made
 * with `crashLosingAofAfter`), a client, and a store on it that rides out restarts; all
 * stopped after the test.
 */
async function durable(wrap: (client: Client) => RedisStoreClient = (client) => client) {
  const server = await startRedisServer({ aof: 'always' })
  onTestFinished(() => server.stop())
  const client = makeClient(server.url)
  client.on('error', () => {})
  await client.connect()
  onTestFinished(() => client.destroy())
  const store = await redisStore({
    client: wrap(client),
    keyPrefix: PREFIX,
    operationTimeoutMs: 15_000,
    pollIntervalMs: 100,
  })
  onTestFinished(() => store.close())
  return { server, client, store }
}

/** The client, but its subscriber hears nothing: watchers learn only by the re-read. */
function deaf(client: Client): RedisStoreClient {
  return {
    eval: (script, options) => client.eval(script, options),
    evalSha: (sha, options) => client.evalSha(sha, options),
    withCommandOptions: (options) => client.withCommandOptions(options),
    duplicate: () => ({
      connect: async () => undefined,
      pSubscribe: async () => undefined,
      on: () => undefined,
      close: async () => undefined,
    }),
  }
}

let shared: Client | undefined
sessionStoreContract('redisStore', async () => {
  shared ??= await newClient()
  return newStore(shared)
})

describe('redisStore on a real redis-server', () => {
  it('keeps seqs and commits atomic across two connections (two nodes)', async () => {
    const a = await newStore()
    const b = await newStore()
    const sid = randomUUID()
    await a.create(sid, 'ann')
    const appended = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 === 0 ? a : b).append(sid, `{"type":"n","data":${i}}`, LIMITS),
      ),
    )
    const seqs = appended.map((r) => (r as { seq: number }).seq).sort((x, y) => x - y)
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    const log = await b.read(sid, 0, 1000)
    expect(log).not.toBe('gone')
    const frames = log as readonly LoggedFrame[]
    expect(frames.map((f) => f.seq)).toEqual(seqs)
    // Every body is there exactly once, each under the seq its append was told.
    const bySeq = new Map(frames.map((f) => [f.seq, f.body]))
    appended.forEach((r, i) => {
      expect(bySeq.get((r as { seq: number }).seq)).toBe(`{"type":"n","data":${i}}`)
    })
    const commits = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).accept(sid, 1, 1)),
    )
    expect(commits.filter((r) => r === 'committed')).toHaveLength(1)
  })

  it('hash-tags every key of a session with {sid}, and sets TTLs on detach and attach', async () => {
    const client = await newClient()
    const store = await newStore(client, { attachedTtlMs: 3_600_000, tombstoneTtlMs: 600_000 })
    const sid = randomUUID()
    await store.create(sid, 'ann')
    await store.append(sid, '{"type":"n"}', LIMITS)
    const keys = await client.keys(`${PREFIX}*${sid}*`)
    expect(keys.length).toBe(3)
    for (const key of keys) expect(key.startsWith(`${PREFIX}{${sid}}:`)).toBe(true)

    await store.detach(sid, 1, 60_000)
    for (const key of keys.filter((k) => !k.endsWith(':t'))) {
      const ttl = await client.pTTL(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(60_000)
    }
    // The tombstone outlives the session, so a late resume hears `expired`.
    expect(await client.pTTL(`${PREFIX}{${sid}}:t`)).toBeGreaterThan(60_000)

    await store.attach(sid, 'ann', 0, 0)
    expect(await client.pTTL(`${PREFIX}{${sid}}:s`)).toBeGreaterThan(60_000)
  })

  it('gives the log of an attached session a TTL from its first append (a SIGKILLed node leaves nothing for ever)', async () => {
    const store = await newStore()
    const client = await newClient()
    const sid = randomUUID()
    await store.create(sid, 'ann')
    await store.append(sid, body(1), LIMITS)
    expect(await client.pTTL(`${PREFIX}{${sid}}:l`)).toBeGreaterThan(0)
  })

  it('trims acked entries by seq and keeps every unacked one', async () => {
    const client = await newClient()
    const store = await newStore(client)
    const sid = randomUUID()
    await store.create(sid, 'ann')
    for (let i = 0; i < 50; i++) await store.append(sid, `{"type":"n","data":${i}}`, LIMITS)
    await store.ack(sid, 1, 30, 0)
    expect(await client.xLen(`${PREFIX}{${sid}}:l`)).toBe(20)
    const rest = (await store.read(sid, 0, 100)) as readonly LoggedFrame[]
    expect(rest.map((f) => f.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 31))
    expect(await client.hGet(`${PREFIX}{${sid}}:s`, 'b')).toBe(
      String(rest.reduce((n, f) => n + `{"type":"n","data":${f.seq - 1}}`.length, 0)),
    )
  })

  it('rides out a Redis restart with AOF (appendfsync always): the store reports, retries, and loses nothing', async () => {
    const E = epochs()
    const durable = await startRedisServer({ aof: 'always' })
    onTestFinished(() => durable.stop())
    const client = createClient({ url: durable.url, socket: { reconnectStrategy: () => 50 } })
    client.on('error', () => {})
    await client.connect()
    onTestFinished(() => client.destroy())
    const errors: ServerError[] = []
    const store = await redisStore({
      client,
      keyPrefix: PREFIX,
      operationTimeoutMs: 15_000,
      pollIntervalMs: 200,
      onError: (error) => errors.push(error),
    })
    onTestFinished(() => store.close())
    const sid = randomUUID()
    await store.create(sid, 'ann')
    for (let i = 0; i < 3; i++) await store.append(sid, `{"type":"n","data":${i}}`, LIMITS)
    expect(await store.accept(sid, 1, 1)).toBe('committed')
    const events: number[] = []
    store.watch(sid, (event) => {
      if (event.type === 'appended') events.push(event.seq)
    })

    await durable.kill()
    // Sent while Redis is down: queued by the client, run once it is back.
    const appending = store.append(sid, '{"type":"n","data":3}', LIMITS)
    const accepting = store.accept(sid, 1, 2)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await durable.start()
    expect(await appending).toEqual(appended(4, E(1)))
    expect(await accepting).toBe('committed')
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((e) => e.code === 'STORE_FAILED')).toBe(true)

    expect(await store.attach(sid, 'ann', 0, 0)).toEqual({
      status: 'attached',
      sid,
      generation: 2,
      in: 2,
      out: 4,
      acked: 0,
      epoch: E(1),
      lineage: '',
      kept: 4,
    })
    // The watcher still hears appends after the restart (pub/sub resubscribed, or the re-read).
    await store.append(sid, '{"type":"n","data":4}', LIMITS)
    const deadline = Date.now() + 5000
    while (!events.includes(5) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(events).toContain(5)
  })

  it('lists a group of 2,500 members in pages (SSCAN), each sid once', async () => {
    const store = await newStore()
    const group = `big-${randomUUID()}`
    const sids = Array.from({ length: 2500 }, (_, i) => `sid-${i}`)
    for (let i = 0; i < sids.length; i += 250) {
      await Promise.all(sids.slice(i, i + 250).map((sid) => store.join(group, sid)))
    }
    const members = await store.members(group)
    expect(members).toHaveLength(sids.length)
    expect(new Set(members)).toEqual(new Set(sids))
  })

  it('after a restart without persistence the session is gone, and says so', async () => {
    const volatile = await startRedisServer()
    onTestFinished(() => volatile.stop())
    const client = createClient({ url: volatile.url, socket: { reconnectStrategy: () => 50 } })
    client.on('error', () => {})
    await client.connect()
    onTestFinished(() => client.destroy())
    const store = await redisStore({ client, keyPrefix: PREFIX, operationTimeoutMs: 15_000 })
    onTestFinished(() => store.close())
    const sid = randomUUID()
    await store.create(sid, 'ann')
    await store.append(sid, '{"type":"n"}', LIMITS)
    await volatile.restart('SIGKILL')
    expect(await store.attach(sid, 'ann', 0, 0)).toEqual({ status: 'unknown-session' })
    expect(await store.append(sid, '{"type":"n"}', LIMITS)).toEqual({ status: 'gone' })
  })

  it('fails an operation within operationTimeoutMs while Redis is down, and never runs it later', async () => {
    const flaky = await startRedisServer()
    onTestFinished(() => flaky.stop())
    const client = createClient({ url: flaky.url, socket: { reconnectStrategy: () => 50 } })
    client.on('error', () => {})
    await client.connect()
    onTestFinished(() => client.destroy())
    const store = await redisStore({ client, keyPrefix: PREFIX, operationTimeoutMs: 300 })
    onTestFinished(() => store.close())
    await flaky.kill()
    const sid = randomUUID()
    await expect(store.create(sid, 'ann')).rejects.toMatchObject({ code: 'STORE_FAILED' })
    await flaky.start()
    // Reconnected: the timed-out create was taken out of the queue, so the sid is still free.
    const deadline = Date.now() + 5000
    while (!client.isReady && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect((await client.keys(`${PREFIX}*${sid}*`)).length).toBe(0)
  })
})

describe('redisStore after a Redis restart: the epoch and the reconciliation', () => {
  it('a lossless restart: the first append after it starts epoch 1 (also in the watcher event), older-epoch acks and reads are refused, an attach at the boundary numbers nothing again', async () => {
    const E = epochs()
    const { server, client, store } = await durable()
    const sid = randomUUID()
    await store.create(sid, 'ann')
    const events: StoreEvent[] = []
    store.watch(sid, (event) => events.push(event))
    for (let n = 1; n <= 3; n++) {
      expect(await store.append(sid, body(n), LIMITS)).toEqual(appended(n))
    }
    await until(() => events.some((e) => e.type === 'appended' && e.seq === 3), 'seq 3 told')

    await server.restart('SIGKILL')
    expect(await store.append(sid, body(4), LIMITS)).toEqual(appended(4, E(1)))
    // The only frame of epoch 1 so far, whether pub/sub or the re-read tells it.
    await expectToldOnce(events, { sid, seq: 4, epoch: E.value(1) })
    expect(await store.append(sid, body(5), LIMITS)).toEqual(appended(5, E(1)))
    expect(await client.hGet(`${PREFIX}{${sid}}:s`, 'k')).toBe('3')

    expect(await store.ack(sid, 1, 4, 0)).toBe('restarted')
    expect(await store.read(sid, 0, 100, 0)).toBe('restarted')
    const all = Array.from({ length: 5 }, (_, i) => ({ seq: i + 1, body: body(i + 1) }))
    expect(await store.read(sid, 0, 100)).toEqual(all)

    // seen = the boundary: the client had everything Redis kept, nothing is renumbered.
    expect(await store.attach(sid, 'ann', 3, 0)).toEqual({
      status: 'attached',
      sid,
      generation: 2,
      in: 0,
      out: 5,
      acked: 3,
      epoch: E(1),
      lineage: '',
      kept: 5,
    })
    expect(await store.read(sid, 0, 100, E.value(1))).toEqual(all.slice(3))
    expect(await store.append(sid, body(6), LIMITS)).toEqual(appended(6, E(1)))
    expect(await store.ack(sid, 2, 5, E.value(1))).toBe('ok')
    expect(await store.read(sid, 0, 100, E.value(1))).toEqual([{ seq: 6, body: body(6) }])
    // The same seen again: still nothing to renumber.
    expect(attachedState(await store.attach(sid, 'ann', 5, 0))).toMatchObject({
      out: 6,
      acked: 5,
      epoch: E(1),
      kept: 6,
    })
  })

  it.each([
    { lost: 2, what: 'fewer frames than are appended after it (seen ends below out)' },
    { lost: 4, what: 'more frames than are appended after it (seen ends above out)' },
  ])(
    'a real loss of $what: the attach renumbers the new frames from seen + 1, once, and reports kept',
    async ({ lost }) => {
      const E = epochs()
      const { server, client, store } = await durable()
      const sid = randomUUID()
      const hash = `${PREFIX}{${sid}}:s`
      await store.create(sid, 'ann')
      for (let n = 1; n <= 5; n++) await store.append(sid, body(n), LIMITS)
      expect(await store.accept(sid, 1, 1)).toBe('committed')
      expect(await store.ack(sid, 1, 2, 0)).toBe('ok')
      const mark = server.aofMark()
      // The client sees these, and has inbound 2 acknowledged; Redis loses all of it.
      for (let n = 6; n <= 5 + lost; n++) await store.append(sid, body(n), LIMITS)
      expect(await store.accept(sid, 1, 2)).toBe('committed')
      const seen = 5 + lost

      await server.crashLosingAofAfter(mark)
      expect(await client.hmGet(hash, ['o', 'a', 'i'])).toEqual(['5', '2', '1'])
      const fresh = ['{"type":"after","data":"a"}', '{"type":"after","data":"bb"}', '{"t":"c"}']
      for (const [n, frame] of fresh.entries()) {
        expect(await store.append(sid, frame, LIMITS)).toEqual(appended(6 + n, E(1)))
      }

      const first = attachedState(await store.attach(sid, 'ann', seen, 2))
      expect(first).toMatchObject({
        sid,
        generation: 2,
        in: 1,
        out: seen + 3,
        acked: seen,
        epoch: E(1),
        kept: 5,
      })
      // Inbound 2 was committed and lost: its seq will be used again, under a new lineage.
      expect(first.lineage).not.toBe('')
      const renumbered = fresh.map((frame, n) => ({ seq: seen + 1 + n, body: frame }))
      expect(await store.read(sid, 0, 100, E.value(1))).toEqual(renumbered)

      // The first answer may not have reached the client: the same seen hears the same kept,
      // and the frames are not moved twice.
      expect(attachedState(await store.attach(sid, 'ann', seen, 2))).toMatchObject({
        generation: 3,
        in: 1,
        out: seen + 3,
        acked: seen,
        epoch: E(1),
        kept: 5,
      })
      expect(await store.read(sid, 0, 100, E.value(1))).toEqual(renumbered)

      // The unacked bytes are the three new frames': one more frame fits to the byte, not a
      // byte more; and the frame count is three.
      const bytes = fresh.reduce((n, frame) => n + Buffer.byteLength(frame), 0)
      expect(await client.hGet(hash, 'b')).toBe(String(bytes))
      const byBytes = { maxFrames: 1000, maxBytes: bytes + BODY_BYTES }
      expect(await store.append(sid, body(0), byBytes)).toEqual(appended(seen + 4, E(1)))
      expect(await store.append(sid, '1', byBytes)).toEqual({ status: 'full' })
      expect(await store.append(sid, '1', { maxFrames: 4, maxBytes: 1024 * 1024 })).toEqual({
        status: 'full',
      })
      expect(await store.ack(sid, 3, seen + 2, E.value(1))).toBe('ok')
      expect(await store.read(sid, 0, 100, E.value(1))).toEqual([
        renumbered[2],
        { seq: seen + 4, body: body(0) },
      ])
    },
  )

  it("a loss, then a lossless restart before the client resumes: the boundary is the first restart's, so every frame appended since is renumbered", async () => {
    const E = epochs()
    const { server, client, store } = await durable()
    const sid = randomUUID()
    await store.create(sid, 'ann')
    for (let n = 1; n <= 5; n++) await store.append(sid, body(n), LIMITS)
    const mark = server.aofMark()
    for (let n = 6; n <= 7; n++) await store.append(sid, body(n), LIMITS)
    await server.crashLosingAofAfter(mark)
    const fresh = [
      '{"type":"after","data":1}',
      '{"type":"after","data":2}',
      '{"type":"after","data":3}',
    ]
    for (const [n, frame] of fresh.entries()) {
      expect(await store.append(sid, frame, LIMITS)).toEqual(appended(6 + n, E(1)))
    }
    await server.restart('SIGKILL')
    const last = '{"type":"after","data":4}'
    expect(await store.append(sid, last, LIMITS)).toEqual(appended(9, E(2)))
    expect(await client.hGet(`${PREFIX}{${sid}}:s`, 'k')).toBe('5')

    // With the second restart's out (8) as the boundary, seen 7 would trim two new frames
    // as if the client had them.
    expect(await store.attach(sid, 'ann', 7, 0)).toEqual({
      status: 'attached',
      sid,
      generation: 2,
      in: 0,
      out: 11,
      acked: 7,
      epoch: E(2),
      lineage: '',
      kept: 5,
    })
    expect(await store.read(sid, 0, 100, E.value(2))).toEqual(
      [...fresh, last].map((frame, n) => ({ seq: 8 + n, body: frame })),
    )
  })

  it('a loss, then the client resumes before anything is appended: kept is what Redis kept, numbering goes on above seen', async () => {
    const { server, store } = await durable()
    const sid = randomUUID()
    await store.create(sid, 'ann')
    for (let n = 1; n <= 5; n++) await store.append(sid, body(n), LIMITS)
    const mark = server.aofMark()
    for (let n = 6; n <= 9; n++) await store.append(sid, body(n), LIMITS)
    await server.crashLosingAofAfter(mark)

    expect(attachedState(await store.attach(sid, 'ann', 7, 0))).toMatchObject({
      generation: 2,
      out: 7,
      acked: 7,
      kept: 5,
    })
    expect(await store.read(sid, 0, 100)).toEqual([])
    expect(await store.append(sid, body(8), LIMITS)).toMatchObject({
      status: 'appended',
      seq: 8,
    })
    expect(attachedState(await store.attach(sid, 'ann', 7, 0))).toMatchObject({
      generation: 3,
      out: 8,
      acked: 7,
      kept: 5,
    })
    expect(await store.read(sid, 0, 100)).toEqual([{ seq: 8, body: body(8) }])
  })

  it('an attach after a loss, before any append, moves the epoch, so a watcher that was told higher seqs hears the new frames', async () => {
    const E = epochs()
    const { server, store } = await durable()
    const sid = randomUUID()
    await store.create(sid, 'ann')
    const events: StoreEvent[] = []
    store.watch(sid, (event) => events.push(event))
    for (let n = 1; n <= 5; n++) await store.append(sid, body(n), LIMITS)
    const mark = server.aofMark()
    for (let n = 6; n <= 9; n++) await store.append(sid, body(n), LIMITS)
    await until(() => events.some((e) => e.type === 'appended' && e.seq === 9), 'seq 9 told')
    await server.crashLosingAofAfter(mark)

    expect(attachedState(await store.attach(sid, 'ann', 7, 0))).toMatchObject({
      out: 7,
      kept: 5,
      epoch: E(1),
    })
    const from = events.length
    expect(await store.append(sid, body(8), LIMITS)).toEqual(appended(8, E(1)))
    // Seq 8 is below the 9 told in epoch 0: without the new epoch it would be taken as old.
    await until(
      () => events.slice(from).some((e) => e.type === 'appended' && e.seq === 8),
      'seq 8 of epoch 1 told',
      3000,
    )
  })

  it('while Redis is down, a watched session has one re-read in flight, not one per poll', async () => {
    let inFlight = 0
    let most = 0
    // The re-read is the one script with the session's three keys and no arguments.
    const counting = (client: Client): RedisStoreClient => ({
      eval: (script, options) => client.eval(script, options),
      evalSha: (sha, options) => client.evalSha(sha, options),
      withCommandOptions: (options) => {
        const inner = client.withCommandOptions(options)
        return {
          eval: (script, args) => inner.eval(script, args),
          evalSha: async (sha, args) => {
            const peek = args.keys.length === 3 && args.arguments.length === 0
            if (peek) most = Math.max(most, ++inFlight)
            try {
              return await inner.evalSha(sha, args)
            } finally {
              if (peek) inFlight--
            }
          },
        }
      },
      duplicate: () => client.duplicate(),
    })
    const { server, store } = await durable(counting)
    const sid = randomUUID()
    await store.create(sid, 'ann')
    store.watch(sid, () => {})
    await server.kill()
    // Ten polls (100 ms each) while every re-read waits for Redis.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await server.start()
    await store.append(sid, body(1), LIMITS)
    expect(most).toBe(1)
  })

  it('an attach that Redis lost: its socket hears restarted (so it resumes), not fenced (which would end the session as displaced)', async () => {
    const { server, store } = await durable()
    const sid = randomUUID()
    await store.create(sid, 'ann')
    await store.append(sid, body(1), LIMITS)
    const mark = server.aofMark()
    const lostAttach = attachedState(await store.attach(sid, 'ann', 0, 0))
    expect(lostAttach.generation).toBe(2)
    await server.crashLosingAofAfter(mark)

    expect(await store.accept(sid, 2, 1)).toBe('restarted')
    expect(await store.ack(sid, 2, 1, lostAttach.epoch)).toBe('restarted')
    expect(await store.append(sid, body(2), LIMITS, 2)).toEqual({ status: 'restarted' })
    expect(await store.read(sid, 0, 100)).toEqual([{ seq: 1, body: body(1) }])
    // A newer attachment still fences the older ones.
    const next = attachedState(await store.attach(sid, 'ann', 0, 0))
    expect(next.generation).toBe(2)
    expect(await store.accept(sid, 1, 1)).toBe('fenced')
    expect(await store.accept(sid, 2, 1)).toBe('committed')
  })

  it('the re-read tells a watcher about a new epoch when pub/sub says nothing, also with a seq below the one it told before', async () => {
    const E = epochs()
    const { server, store } = await durable(deaf)
    const sid = randomUUID()
    await store.create(sid, 'ann')
    const events: StoreEvent[] = []
    // Its first re-read is queued on the connection before the appends: it finds out = 0.
    store.watch(sid, (event) => events.push(event))
    for (let n = 1; n <= 3; n++) await store.append(sid, body(n), LIMITS)
    const mark = server.aofMark()
    for (let n = 4; n <= 5; n++) await store.append(sid, body(n), LIMITS)
    await until(
      () => events.some((e) => e.type === 'appended' && e.seq === 5 && e.epoch === 0),
      'seq 5 told by the re-read',
    )

    await server.crashLosingAofAfter(mark)
    expect(await store.append(sid, body(4), LIMITS)).toEqual(appended(4, E(1)))
    await expectToldOnce(events, { sid, seq: 4, epoch: E.value(1) })
  })
})

describe('two companions on one Redis', () => {
  it('a session begun on node A resumes on node B, with what A logged and what B appends', async () => {
    const nodeA = await startCompanion({ store: await newStore() })
    const nodeB = await startCompanion({ store: await newStore() })
    const first = await connect(nodeA.url)
    const session = await first.hello()
    first.sendSeq({ type: 'note', data: 1 })
    await first.nextOf('$ack')
    await nodeA.server.sendTo(session.sid, 'from-a', 1)
    await first.next((f) => f.type === 'from-a')
    first.terminate()
    await nodeB.server.sendTo(session.sid, 'from-b', 2)

    const second = await connect(nodeB.url)
    const resumed = await second.resume(session.sid, 0, 0)
    expect(resumed).toMatchObject({ sid: session.sid, resumed: true, in: 1, out: 2 })
    const replayed = [await second.nextOf('from-a'), await second.nextOf('from-b')]
    expect(replayed.map((f) => f.seq)).toEqual([1, 2])
    expect(nodeA.errors).toEqual([])
    expect(nodeB.errors).toEqual([])
  })

  it('a send from node B reaches the client attached on node A, in order and once', async () => {
    const nodeA = await startCompanion({ store: await newStore() })
    const nodeB = await startCompanion({ store: await newStore() })
    const client = await connect(nodeA.url)
    const { sid } = await client.hello()
    for (let i = 0; i < 20; i++) await (i % 2 === 0 ? nodeB : nodeA).server.sendTo(sid, 'n', i)
    const got = []
    for (let i = 0; i < 20; i++) got.push(await client.nextOf('n'))
    expect(got.map((f) => f.data)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(await client.quietFor(100, (f) => f.type === 'n')).toBe(true)
  })

  it('a broadcast from node B reaches the members on A and on B once each, in order; the group is one Redis set of its own', async () => {
    const nodeA = await startCompanion({ store: await newStore() })
    const nodeB = await startCompanion({ store: await newStore() })
    const onA = await connect(nodeA.url)
    const onB = await connect(nodeB.url)
    const outsider = await connect(nodeA.url)
    const { sid: sidA } = await onA.hello()
    const { sid: sidB } = await onB.hello()
    await outsider.hello()
    const group = `room-${randomUUID()}`
    // Joined on either node: membership is in Redis, not in a node.
    await nodeA.server.join(sidA, group)
    await nodeB.server.join(sidB, group)
    for (let i = 0; i < 20; i++) {
      const result = await nodeB.server.broadcast(group, 'tick', i)
      expect(result.sent.sort()).toEqual([sidA, sidB].sort())
    }
    for (const client of [onA, onB]) {
      const got = []
      for (let i = 0; i < 20; i++) got.push(await client.nextOf('tick'))
      expect(got.map((f) => f.data)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(got.map((f) => f.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      expect(await client.quietFor(100, (f) => f.type === 'tick')).toBe(true)
    }
    expect(await outsider.quietFor(50, (f) => f.type === 'tick')).toBe(true)
    const raw = await newClient()
    expect((await raw.sMembers(`${PREFIX}g:${group}`)).sort()).toEqual([sidA, sidB].sort())
    await nodeA.server.leave(sidA, group)
    await nodeA.server.leave(sidB, group)
    expect(await raw.exists(`${PREFIX}g:${group}`)).toBe(0)
    expect([...nodeA.errors, ...nodeB.errors]).toEqual([])
  })
})
