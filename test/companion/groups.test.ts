/**
 * Groups on the companion (memory store): `join`, `leave` and `broadcast` as appends into
 * each member session, so a broadcast is sequenced per session, kept for a detached member
 * and replayed on its resume. The same across two nodes on Redis is in redis-store.test.ts
 * and, with real processes, in test/integration/cluster.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../server/index.ts'
import { connect, startCompanion, until } from './helpers.ts'

describe('server.broadcast', () => {
  it('reaches every member once, in order per session, and no one else', async () => {
    const companion = await startCompanion()
    const a = await connect(companion.url)
    const b = await connect(companion.url)
    const outsider = await connect(companion.url)
    const sa = await a.hello()
    const sb = await b.hello()
    await outsider.hello()
    await companion.server.join(sa.sid, 'room')
    await companion.server.join(sb.sid, 'room')
    // Twice is once: a set, not a list.
    await companion.server.join(sb.sid, 'room')
    for (let i = 0; i < 10; i++) {
      const result = await companion.server.broadcast('room', 'tick', i)
      expect(result.sent.sort()).toEqual([sa.sid, sb.sid].sort())
      expect(result).toMatchObject({ full: [], gone: [], failed: [] })
    }
    for (const client of [a, b]) {
      const got = []
      for (let i = 0; i < 10; i++) got.push(await client.nextOf('tick'))
      expect(got.map((f) => f.data)).toEqual(Array.from({ length: 10 }, (_, i) => i))
      expect(got.map((f) => f.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
      expect(await client.quietFor(50, (f) => f.type === 'tick')).toBe(true)
    }
    expect(await outsider.quietFor(50, (f) => f.type === 'tick')).toBe(true)
    await companion.server.leave(sa.sid, 'room')
    expect((await companion.server.broadcast('room', 'tick', 10)).sent).toEqual([sb.sid])
    expect(await b.nextOf('tick')).toMatchObject({ data: 10, seq: 11 })
    expect(await a.quietFor(50, (f) => f.type === 'tick')).toBe(true)
    expect(companion.errors).toEqual([])
  })

  it('keeps a broadcast for a detached member, after its own sends, and replays it on resume', async () => {
    const companion = await startCompanion()
    const first = await connect(companion.url)
    const { sid } = await first.hello()
    await companion.server.join(sid, 'room')
    await companion.server.sendTo(sid, 'own', 1)
    first.terminate()
    await until(() => [...companion.server.connections()].length === 0)
    expect((await companion.server.broadcast('room', 'tick', 'while away')).sent).toEqual([sid])
    const second = await connect(companion.url)
    await second.resume(sid, 0, 0)
    expect(await second.nextOf('own')).toMatchObject({ seq: 1 })
    expect(await second.nextOf('tick')).toMatchObject({ seq: 2, data: 'while away' })
  })

  it('reports a full member without holding the others back, and drops a gone one from the group', async () => {
    const store = memoryStore()
    const companion = await startCompanion({ store, maxUnackedFrames: 1 })
    const slow = await connect(companion.url)
    const fast = await connect(companion.url)
    const { sid: slowSid } = await slow.hello()
    const { sid: fastSid } = await fast.hello()
    await companion.server.join(slowSid, 'room')
    await companion.server.join(fastSid, 'room')
    // A member the store never had (joined straight in the store: join() refuses it).
    await store.join('room', 'no-such-sid')
    const first = await companion.server.broadcast('room', 'tick', 1)
    expect(first).toEqual({
      sent: expect.arrayContaining([slowSid, fastSid]),
      full: [],
      gone: ['no-such-sid'],
      failed: [],
    })
    expect([...(await store.members('room'))].sort()).toEqual([slowSid, fastSid].sort())
    // The fast client acknowledges; the slow one does not, so its one unacked frame fills it.
    const tick = await fast.nextOf('tick')
    fast.send({ type: '$ack', ack: tick.seq })
    for (let i = 0; i < 200; i++) {
      const log = await store.read(fastSid, 0, 10)
      if (log !== 'gone' && log.length === 0) break
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const second = await companion.server.broadcast('room', 'tick', 2)
    expect(second).toEqual({ sent: [fastSid], full: [slowSid], gone: [], failed: [] })
    expect(await fast.nextOf('tick')).toMatchObject({ seq: 2, data: 2 })
  })

  it('refuses a join of a session the store does not have, and bad arguments', async () => {
    const companion = await startCompanion()
    await expect(companion.server.join('no-such-sid', 'room')).rejects.toMatchObject({
      code: 'SESSION_GONE',
    })
    const client = await connect(companion.url)
    const { sid } = await client.hello()
    await expect(companion.server.join(sid, '')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
    await expect(companion.server.broadcast('room', '$x')).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    })
    expect(await companion.server.broadcast('empty', 'tick')).toEqual({
      sent: [],
      full: [],
      gone: [],
      failed: [],
    })
  })
})
