import { describe, expect, it } from 'vitest'
import { memoryStore, type ServerError } from '../../server/index.ts'
import { connect, type Frame, type RawClient, startCompanion, until } from './helpers.ts'

/** A request handler that pushes `count` events first (so the server has frames to replay). */
const push = {
  push: async (count: unknown, ctx: { send(type: string, data?: unknown): Promise<void> }) => {
    for (let i = 1; i <= (count as number); i++) await ctx.send('item', i)
    return 'pushed'
  },
}

const items = (client: RawClient): unknown[] =>
  client.frames.filter((f) => f.type === 'item').map((f) => f.data)

describe('companion: reliable mode, the happy path', () => {
  it('answers $hello with $session first, then sequences every application frame it sends', async () => {
    const { url } = await startCompanion({ handlers: { ...push, echo: (d) => d } })
    const client = await connect(url)
    const session = await client.hello()
    expect(session).toEqual({ sid: expect.any(String), resumed: false, in: 0, out: 0 })
    expect(session.sid.length).toBeGreaterThanOrEqual(21)
    expect(client.frames[0]?.type).toBe('$session')
    client.sendSeq({ type: 'push', id: 'r1', data: 2 })
    const response = await client.next((f) => f.re === 'r1')
    expect(items(client)).toEqual([1, 2])
    expect(client.sequenced().map((f) => f.seq)).toEqual([1, 2, 3])
    expect(response).toMatchObject({ type: 'push', re: 'r1', data: 'pushed', seq: 3 })
    // $ frames never carry a seq.
    expect(client.frames.filter((f) => f.type.startsWith('$') && f.seq !== undefined)).toEqual([])
  })

  it('serves plain clients on the same endpoint, without seqs', async () => {
    const { url } = await startCompanion({ handlers: { echo: (d) => d } })
    const reliable = await connect(url)
    await reliable.hello()
    const plain = await connect(url)
    plain.send({ type: 'echo', id: 'p', data: 1 })
    expect(await plain.next((f) => f.re === 'p')).toEqual({ type: 'echo', re: 'p', data: 1 })
    // A $hello after the first frame does not start a session.
    plain.send({ type: '$hello', data: { v: 1 } })
    plain.send({ type: '$ping', id: 'x' })
    await plain.nextOf('$pong')
    expect(plain.frames.some((f) => f.type === '$session')).toBe(false)
  })

  it('gives handlers the delivery id sid:seq, and commits only after the handler', async () => {
    const companion = await startCompanion({ ackDelayMs: 0 })
    const deliveries: (string | undefined)[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    companion.server.on('work', async (_data, ctx) => {
      deliveries.push(ctx.deliveryId)
      await gate
    })
    const client = await connect(companion.url)
    const { sid } = await client.hello()
    client.sendSeq({ type: 'work' })
    await until(() => deliveries.length === 1)
    // The handler has not finished: nothing is acknowledged.
    expect(await client.quietFor(50, (f) => f.type === '$ack')).toBe(true)
    release()
    expect((await client.nextOf('$ack')).ack).toBe(1)
    expect(deliveries).toEqual([`${sid}:1`])
  })

  it('acks after ackAfterFrames frames without waiting for the timer', async () => {
    const companion = await startCompanion({ ackAfterFrames: 32, ackDelayMs: 60_000 })
    let count = 0
    companion.server.on('n', () => {
      count += 1
    })
    const client = await connect(companion.url)
    await client.hello()
    for (let i = 0; i < 31; i++) client.sendSeq({ type: 'n' })
    await until(() => count === 31)
    expect(await client.quietFor(50, (f) => f.type === '$ack')).toBe(true)
    client.sendSeq({ type: 'n' })
    expect((await client.nextOf('$ack')).ack).toBe(32)
  })

  it('acks ackDelayMs after the first unacked frame', async () => {
    const companion = await startCompanion({ ackAfterFrames: 1000, ackDelayMs: 20 })
    companion.server.on('n', () => {})
    const client = await connect(companion.url)
    await client.hello()
    client.sendSeq({ type: 'n' })
    expect((await client.nextOf('$ack')).ack).toBe(1)
  })

  it('piggybacks the ack on the frames it sends', async () => {
    const companion = await startCompanion({
      ackAfterFrames: 1000,
      ackDelayMs: 60_000,
      handlers: { echo: (d) => d },
    })
    companion.server.on('n', () => {})
    const client = await connect(companion.url)
    await client.hello()
    client.sendSeq({ type: 'n' })
    client.sendSeq({ type: 'echo', id: 'e' })
    // The response goes out before its own request is committed: it acks the event before it.
    expect(await client.next((f) => f.re === 'e')).toMatchObject({ seq: 1, ack: 1 })
    expect(client.frames.some((f) => f.type === '$ack')).toBe(false)
  })

  it('acks before a clean close by the server', async () => {
    const companion = await startCompanion({
      ackAfterFrames: 1000,
      ackDelayMs: 60_000,
      handlers: { echo: (data) => data },
    })
    companion.server.on('n', () => {})
    const client = await connect(companion.url)
    await client.hello()
    client.sendSeq({ type: 'n' })
    client.sendSeq({ type: 'n' })
    // An answer means the frames before its request were handled (one at a time, in order).
    client.sendSeq({ type: 'echo', id: 'b' })
    await client.next((f) => f.re === 'b')
    companion.server.close(1012, 'restart')
    expect(await client.closeInfo()).toEqual({ code: 1012, reason: 'restart' })
    expect(client.highestAck()).toBe(3)
  })

  it('answers a $ping at once, not behind a handler still running', async () => {
    let release = (): void => {}
    const companion = await startCompanion({
      handlers: { slow: () => new Promise<string>((resolve) => (release = () => resolve('done'))) },
    })
    const client = await connect(companion.url)
    await client.hello()
    client.sendSeq({ type: 'slow', id: 's' })
    client.send({ type: '$ping', id: 'p' })
    // The handler has not finished, and the pong is already here: a heartbeat shorter than a
    // slow handler must not declare a live connection dead.
    expect(await client.nextOf('$pong')).toMatchObject({ re: 'p' })
    expect(client.frames.some((f) => f.re === 's')).toBe(false)
    release()
    expect(await client.next((f) => f.re === 's')).toMatchObject({ data: 'done' })
  })
})

describe('companion: reliable mode across cuts', () => {
  it('replays the frames after `seen` under their original seqs, and $session tells in/out truthfully', async () => {
    const companion = await startCompanion({ handlers: push, ackDelayMs: 0 })
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    first.sendSeq({ type: 'push', id: 'r1', data: 4 })
    await first.next((f) => f.re === 'r1')
    await first.nextOf('$ack')
    first.terminate()

    const second = await connect(companion.url)
    const session = await second.resume(sid, 2, 1)
    expect(session).toEqual({ sid, resumed: true, in: 1, out: 5 })
    await second.next((f) => f.re === 'r1')
    expect(second.sequenced().map((f) => [f.seq, f.data])).toEqual([
      [3, 3],
      [4, 4],
      [5, 'pushed'],
    ])
    // The log after `seen` is all there is: acked frames are gone for good.
    second.send({ type: '$ack', ack: 5 })
    second.terminate()
    const third = await connect(companion.url)
    await third.resume(sid, 5, 1)
    expect(await third.quietFor(50, (f) => f.seq !== undefined)).toBe(true)
  })

  it('drops a duplicate without running its handler again, and acks it at once', async () => {
    const companion = await startCompanion({ ackDelayMs: 60_000, ackAfterFrames: 1000 })
    let runs = 0
    companion.server.on('n', () => {
      runs += 1
    })
    const client = await connect(companion.url)
    await client.hello()
    client.send({ type: 'n', seq: 1 })
    client.send({ type: 'n', seq: 1 })
    expect((await client.nextOf('$ack')).ack).toBe(1)
    expect(runs).toBe(1)
  })

  it('redelivers a frame whose handler did not commit before the cut (at least once), with the same delivery id', async () => {
    const companion = await startCompanion({ ackDelayMs: 0 })
    const deliveries: (string | undefined)[] = []
    const gates: (() => void)[] = []
    companion.server.on('work', async (_data, ctx) => {
      deliveries.push(ctx.deliveryId)
      await new Promise<void>((resolve) => gates.push(resolve))
    })
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    first.sendSeq({ type: 'work' })
    await until(() => deliveries.length === 1)
    first.terminate()
    const second = await connect(companion.url)
    expect(await second.resume(sid, 0, 0)).toMatchObject({ resumed: true, in: 0 })
    second.sendSeq({ type: 'work' })
    await until(() => deliveries.length === 2)
    // The first run finishing late cannot commit: its attachment was fenced.
    gates[0]?.()
    gates[1]?.()
    expect((await second.nextOf('$ack')).ack).toBe(1)
    expect(deliveries).toEqual([`${sid}:1`, `${sid}:1`])
    second.terminate()
    const third = await connect(companion.url)
    expect(await third.resume(sid, 0, 0)).toMatchObject({ resumed: true, in: 1 })
  })

  it('delivers what was sent to a detached session (server.sendTo) on resume', async () => {
    const companion = await startCompanion()
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    first.terminate()
    await until(() => [...companion.server.connections()].length === 0)
    await companion.server.sendTo(sid, 'news', 'while you were away')
    const second = await connect(companion.url)
    await second.resume(sid, 0, 0)
    expect(await second.nextOf('news')).toMatchObject({ seq: 1, data: 'while you were away' })
    await expect(companion.server.sendTo('no-such-sid', 'news')).rejects.toMatchObject({
      code: 'SESSION_GONE',
    })
  })

  it('a resume after a server restart with the memory store gets resumed: false, reason unknown-session', async () => {
    const before = await startCompanion()
    const first = await connect(before.url)
    const { sid } = await first.hello()
    await before.crash()
    const after = await startCompanion()
    const client = await connect(after.url)
    const session = await client.resume(sid, 0, 0)
    expect(session).toEqual({
      sid: expect.any(String),
      resumed: false,
      in: 0,
      out: 0,
      reason: 'unknown-session',
    })
    expect(session.sid).not.toBe(sid)
  })

  it('a session detached past sessionTtlMs is expired', async () => {
    let now = 1_000_000
    const companion = await startCompanion({
      store: memoryStore({ now: () => now }),
      sessionTtlMs: 120_000,
    })
    const detached = () => until(() => [...companion.server.connections()].length === 0)
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    first.terminate()
    await detached()
    now += 119_000
    const second = await connect(companion.url)
    expect(await second.resume(sid, 0, 0)).toMatchObject({ sid, resumed: true })
    second.terminate()
    await detached()
    now += 120_001
    const third = await connect(companion.url)
    expect(await third.resume(sid, 0, 0)).toMatchObject({ resumed: false, reason: 'expired' })
  })

  it('a clean close (1000) by the client ends its session', async () => {
    const companion = await startCompanion()
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    first.close(1000)
    await first.closed
    const second = await connect(companion.url)
    await until(() => [...companion.server.connections()].length === 1)
    expect(await second.resume(sid, 0, 0)).toMatchObject({
      resumed: false,
      reason: 'unknown-session',
    })
  })

  it('fences: a second socket resuming the sid displaces the first with 4010, and the session moves with it', async () => {
    const companion = await startCompanion({ handlers: push })
    const contexts: { send(type: string, data?: unknown): Promise<void> }[] = []
    companion.server.on('hold', (_d, ctx) => {
      contexts.push(ctx)
    })
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    first.sendSeq({ type: 'hold' })
    await until(() => contexts.length === 1)
    const second = await connect(companion.url)
    await second.resume(sid, 0, 0)
    expect(await first.closeInfo()).toEqual({ code: 4010, reason: 'displaced' })
    // A push from the old connection's handler addresses the session, so it reaches the new socket.
    await contexts[0]?.send('late', 1)
    expect(await second.nextOf('late')).toMatchObject({ seq: 1, data: 1 })
  })

  it('refuses to resume another principal’s session (forbidden) and a session of another version', async () => {
    const companion = await startCompanion({
      authenticate: (token) => ({ principal: token }),
    })
    const ann = await connect(companion.url)
    ann.send({ type: '$auth', data: { token: 'ann' } })
    const { sid } = await ann.hello()
    const eve = await connect(companion.url)
    eve.send({ type: '$auth', data: { token: 'eve' } })
    eve.send({ type: '$resume', data: { v: 1, sid, seen: 0, acked: 0 } })
    expect((await eve.nextOf('$session')).data).toMatchObject({
      resumed: false,
      reason: 'forbidden',
    })
    expect(ann.ws.readyState).toBe(ann.ws.OPEN)
    const future = await connect(companion.url)
    future.send({ type: '$auth', data: { token: 'ann' } })
    future.send({ type: '$hello', data: { v: 2 } })
    expect((await future.nextOf('$session')).data).toMatchObject({
      resumed: false,
      reason: 'version',
    })
  })

  it('answers a resume whose `seen` is below what it acknowledged with resumed: false, reason rollback', async () => {
    const companion = await startCompanion({ handlers: push })
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    first.sendSeq({ type: 'push', id: 'r', data: 3 })
    await first.next((f) => f.re === 'r')
    first.send({ type: '$ack', ack: 3 })
    first.send({ type: '$ping', id: 'p' })
    await first.nextOf('$pong')
    first.terminate()
    const second = await connect(companion.url)
    expect(await second.resume(sid, 1, 1)).toMatchObject({ resumed: false, reason: 'rollback' })
  })
})

describe('companion: reliable mode, hostile clients', () => {
  const violations: [string, (client: RawClient) => void][] = [
    ['a gap', (c) => c.send({ type: 'n', seq: 2 })],
    ['a seq of 0', (c) => c.send({ type: 'n', seq: 0 })],
    ['a negative seq', (c) => c.send({ type: 'n', seq: -1 })],
    ['a fractional seq', (c) => c.send({ type: 'n', seq: 1.5 })],
    ['a string seq', (c) => c.send({ type: 'n', seq: '1' })],
    ['a seq past 2^53', (c) => c.sendText('{"type":"n","seq":9007199254740993}')],
    ['a huge seq', (c) => c.sendText('{"type":"n","seq":1e308}')],
    ['no seq', (c) => c.send({ type: 'n' })],
    ['an ack beyond what was sent', (c) => c.send({ type: '$ack', ack: 1 })],
    ['an ack on a frame beyond what was sent', (c) => c.send({ type: 'n', seq: 1, ack: 5 })],
    ['a negative ack', (c) => c.send({ type: '$ack', ack: -1 })],
    ['a $ frame with a seq', (c) => c.send({ type: '$ping', id: 'p', seq: 1 })],
    ['a second $hello', (c) => c.send({ type: '$hello', data: { v: 1 } })],
    [
      'a malformed frame with a bad seq',
      (c) => c.sendText('{"type":"n","seq":-4,"data":{"__proto__":1}}'),
    ],
  ]

  for (const [what, misbehave] of violations) {
    it(`closes with 4009 on ${what}`, async () => {
      const companion = await startCompanion()
      const handled: unknown[] = []
      companion.server.on('n', (data) => void handled.push(data))
      const client = await connect(companion.url)
      await client.hello()
      misbehave(client)
      expect((await client.closeInfo()).code).toBe(4009)
      expect(handled).toEqual([])
    })
  }

  it('closes with 4009 on a frame sent before $session', async () => {
    // A slow store keeps $session back, so the next frame surely arrives before it.
    const store = memoryStore()
    const slowStore = {
      ...store,
      create: async (sid: string, principal: string) => {
        await new Promise((resolve) => setTimeout(resolve, 100))
        return store.create(sid, principal)
      },
    }
    const { url } = await startCompanion({ store: slowStore })
    const client = await connect(url)
    client.send({ type: '$hello', data: { v: 1 } })
    client.send({ type: 'n', seq: 1 })
    expect((await client.closeInfo()).code).toBe(4009)
    expect(client.frames.some((f) => f.type === '$session')).toBe(false)
  })

  it('closes with 4009 on a malformed $resume', async () => {
    const { url } = await startCompanion()
    for (const data of [
      { v: 1, sid: 5, seen: 0, acked: 0 },
      { v: 1, sid: 'x', seen: -1, acked: 0 },
      { v: 1, sid: 'x', seen: 0, acked: 0.5 },
      { v: 1, sid: 'x'.repeat(1000), seen: 0, acked: 0 },
      'not an object',
    ]) {
      const client = await connect(url)
      client.send({ type: '$resume', data })
      expect((await client.closeInfo()).code, JSON.stringify(data)).toBe(4009)
    }
  })

  it('consumes the seq of a frame it cannot decode (reported, answered if a request), so the session goes on', async () => {
    const companion = await startCompanion({ ackDelayMs: 0 })
    const handled: unknown[] = []
    companion.server.on('n', (data) => void handled.push(data))
    const client = await connect(companion.url)
    await client.hello()
    client.sendText('{"type":"n","id":"bad","seq":1,"data":{"__proto__":{"x":1}}}')
    client.out = 1
    client.sendSeq({ type: 'n', data: 'after' })
    const answer = await client.next((f) => f.re === 'bad')
    expect(answer).toMatchObject({ seq: 1, error: { code: 'DECODE_FAILED' } })
    await until(() => handled.length === 1)
    expect(handled).toEqual(['after'])
    await until(() => client.highestAck() === 2)
    expect(companion.errors.map((e: ServerError) => e.code)).toEqual(['DECODE_FAILED'])
  })
})

describe('companion: bounds and the result cache', () => {
  it('rejects a send past maxUnackedFrames with UNACKED_LIMIT (nothing sent), and takes sends again after an ack', async () => {
    const companion = await startCompanion({ maxUnackedFrames: 3 })
    let ctx!: { send(type: string, data?: unknown): Promise<void> }
    companion.server.on('hold', (_d, c) => {
      ctx = c
    })
    const client = await connect(companion.url)
    await client.hello()
    client.sendSeq({ type: 'hold' })
    await until(() => ctx !== undefined)
    for (let i = 1; i <= 3; i++) await ctx.send('item', i)
    await expect(ctx.send('item', 4)).rejects.toMatchObject({ code: 'UNACKED_LIMIT' })
    await until(() => items(client).length === 3)
    client.send({ type: '$ack', ack: 2 })
    // The ack is handled after it arrives; a ping answered means it was.
    client.send({ type: '$ping', id: 'p' })
    await client.nextOf('$pong')
    await ctx.send('item', 'after ack')
    expect((await client.next((f) => f.data === 'after ack')).seq).toBe(4)
    expect(items(client)).toEqual([1, 2, 3, 'after ack'])
  })

  it('counts bytes too (maxUnackedBytes), and whenUnackedFull: close closes with 4008', async () => {
    const companion = await startCompanion({ maxUnackedBytes: 200, whenUnackedFull: 'close' })
    let ctx!: { send(type: string, data?: unknown): Promise<void> }
    companion.server.on('hold', (_d, c) => {
      ctx = c
    })
    const client = await connect(companion.url)
    await client.hello()
    client.sendSeq({ type: 'hold' })
    await until(() => ctx !== undefined)
    await ctx.send('item', 'x'.repeat(100))
    await expect(ctx.send('item', 'y'.repeat(100))).rejects.toMatchObject({ code: 'UNACKED_LIMIT' })
    expect(await client.closeInfo()).toEqual({ code: 4008, reason: 'unacked limit' })
  })

  it('closes with 4008 when a response does not fit: a request is never left unanswered in silence', async () => {
    const companion = await startCompanion({ maxUnackedFrames: 1, handlers: { echo: (d) => d } })
    const client = await connect(companion.url)
    await client.hello()
    client.sendSeq({ type: 'echo', id: 'a' })
    client.sendSeq({ type: 'echo', id: 'b' })
    expect((await client.closeInfo()).code).toBe(4008)
    expect(client.frames.filter((f: Frame) => f.re !== undefined).map((f) => f.re)).toEqual(['a'])
  })

  it('answers a repeated request id from the result cache, per principal, without running the handler again', async () => {
    let runs = 0
    const companion = await startCompanion({
      authenticate: (token) => ({ principal: token }),
      handlers: {
        charge: () => {
          runs += 1
          return { charged: runs }
        },
      },
    })
    const first = await connect(companion.url)
    first.send({ type: '$auth', data: { token: 'ann' } })
    await first.hello()
    first.sendSeq({ type: 'charge', id: 'same-id' })
    expect((await first.next((f) => f.re === 'same-id')).data).toEqual({ charged: 1 })
    first.terminate()
    // A lost session: the client resends its idempotent request in a new one, same id.
    const second = await connect(companion.url)
    second.send({ type: '$auth', data: { token: 'ann' } })
    await second.hello()
    second.sendSeq({ type: 'charge', id: 'same-id' })
    expect((await second.next((f) => f.re === 'same-id')).data).toEqual({ charged: 1 })
    // Plain connections use it too.
    const plain = await connect(companion.url)
    plain.send({ type: '$auth', data: { token: 'ann' } })
    plain.send({ type: 'charge', id: 'same-id' })
    expect((await plain.next((f) => f.re === 'same-id')).data).toEqual({ charged: 1 })
    expect(runs).toBe(1)
    const other = await connect(companion.url)
    other.send({ type: '$auth', data: { token: 'eve' } })
    other.send({ type: 'charge', id: 'same-id' })
    expect((await other.next((f) => f.re === 'same-id')).data).toEqual({ charged: 2 })
  })

  it('runs a request once when its repeat arrives while the first run is still going', async () => {
    let runs = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const companion = await startCompanion({
      handlers: {
        slow: async () => {
          runs += 1
          await gate
          return 'done'
        },
      },
    })
    const a = await connect(companion.url)
    const b = await connect(companion.url)
    a.send({ type: 'slow', id: 'r' })
    await until(() => runs === 1)
    b.send({ type: 'slow', id: 'r' })
    b.send({ type: '$ping', id: 'p' })
    await b.nextOf('$pong')
    release()
    expect((await a.next((f) => f.re === 'r')).data).toBe('done')
    expect((await b.next((f) => f.re === 'r')).data).toBe('done')
    expect(runs).toBe(1)
  })
})
