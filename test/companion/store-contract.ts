/**
 * The contract every SessionStore keeps (server/store.ts), as a suite that takes a store
 * factory: the memory store runs it now, and the Redis store will run the same suite.
 * No fake clock: a distributed store measures TTLs with its own, so expiry is checked with a
 * short TTL and a bounded wait, never an exact time.
 */
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { LoggedFrame, SessionStore, StoreEvent } from '../../server/index.ts'

const LIMITS = { maxFrames: 1000, maxBytes: 1024 * 1024 }

async function seqs(store: SessionStore, sid: string): Promise<number[]> {
  const frames = await store.read(sid, 0, 100)
  if (frames === 'gone') throw new Error(`session ${sid} is gone`)
  return frames.map((f) => f.seq)
}

async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (ok(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export function sessionStoreContract(
  name: string,
  makeStore: () => SessionStore | Promise<SessionStore>,
): void {
  describe(`SessionStore contract: ${name}`, () => {
    const fresh = async () => {
      const store = await makeStore()
      const sid = randomUUID()
      const state = await store.create(sid, 'ann')
      return { store, sid, state }
    }

    it('creates a session attached with generation 1 and nothing in either direction', async () => {
      const { state, sid, store } = await fresh()
      expect(state).toEqual({ sid, generation: 1, in: 0, out: 0, acked: 0 })
      await expect(store.create(sid, 'ann')).rejects.toThrow()
    })

    it('attach increments the generation, and refuses unknown sids and other principals without changing anything', async () => {
      const { store, sid } = await fresh()
      expect(await store.attach(sid, 'ann')).toEqual({
        status: 'attached',
        sid,
        generation: 2,
        in: 0,
        out: 0,
        acked: 0,
      })
      expect(await store.attach(sid, 'eve')).toEqual({ status: 'forbidden' })
      expect(await store.attach(randomUUID(), 'ann')).toEqual({ status: 'unknown-session' })
      expect(await store.attach(sid, 'ann')).toMatchObject({ generation: 3 })
    })

    it('accept commits only the next seq, tells duplicates and gaps apart, and fences old generations', async () => {
      const { store, sid } = await fresh()
      expect(await store.accept(sid, 1, 2)).toBe('gap')
      expect(await store.accept(sid, 1, 1)).toBe('committed')
      expect(await store.accept(sid, 1, 1)).toBe('duplicate')
      const { generation } = (await store.attach(sid, 'ann')) as { generation: number }
      expect(await store.accept(sid, 1, 2)).toBe('fenced')
      expect(await store.accept(sid, generation, 2)).toBe('committed')
      expect(await store.attach(sid, 'ann')).toMatchObject({ in: 2 })
      expect(await store.accept(randomUUID(), 1, 1)).toBe('gone')
    })

    it('accept is atomic: of concurrent commits of one seq exactly one wins', async () => {
      const { store, sid } = await fresh()
      const results = await Promise.all(Array.from({ length: 10 }, () => store.accept(sid, 1, 1)))
      expect(results.filter((r) => r === 'committed')).toHaveLength(1)
      expect(results.filter((r) => r === 'duplicate')).toHaveLength(9)
    })

    it('append assigns consecutive seqs, also when concurrent, and read returns the log in order after a seq', async () => {
      const { store, sid } = await fresh()
      const appended = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.append(sid, `{"type":"n","data":${i}}`, LIMITS)),
      )
      const seqs = appended.map((r) => (r as { seq: number }).seq).sort((a, b) => a - b)
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      const after = await store.read(sid, 15, 100)
      expect(after).not.toBe('gone')
      expect((after as readonly LoggedFrame[]).map((f) => f.seq)).toEqual([16, 17, 18, 19, 20])
      expect(await store.read(sid, 0, 3)).toHaveLength(3)
      expect(await store.read(sid, 20, 10)).toEqual([])
      expect(await store.read(randomUUID(), 0, 10)).toBe('gone')
    })

    it('append with a generation is fenced once a newer attachment exists, and stores nothing; without one it still appends', async () => {
      const { store, sid } = await fresh()
      expect(await store.append(sid, '{"type":"a"}', LIMITS, 1)).toEqual({
        status: 'appended',
        seq: 1,
      })
      const { generation } = (await store.attach(sid, 'ann')) as { generation: number }
      expect(await store.append(sid, '{"type":"late"}', LIMITS, 1)).toEqual({ status: 'fenced' })
      expect(await seqs(store, sid)).toEqual([1])
      expect(await store.append(sid, '{"type":"b"}', LIMITS, generation)).toEqual({
        status: 'appended',
        seq: 2,
      })
      // A push addresses the session, whichever attachment holds it.
      expect(await store.append(sid, '{"type":"c"}', LIMITS)).toEqual({
        status: 'appended',
        seq: 3,
      })
      expect(await store.attach(sid, 'ann')).toMatchObject({ out: 3 })
      expect(await store.append(randomUUID(), '{"type":"d"}', LIMITS, 1)).toEqual({
        status: 'gone',
      })
    })

    it('append refuses past maxFrames or maxBytes of unacked frames, and an ack makes room again', async () => {
      const { store, sid } = await fresh()
      const limits = { maxFrames: 2, maxBytes: 40 }
      expect(await store.append(sid, '{"type":"a"}', limits)).toEqual({
        status: 'appended',
        seq: 1,
      })
      expect(await store.append(sid, '{"type":"b"}', limits)).toEqual({
        status: 'appended',
        seq: 2,
      })
      expect(await store.append(sid, '{"type":"c"}', limits)).toEqual({ status: 'full' })
      expect(await store.ack(sid, 1, 1)).toBe('ok')
      expect(await store.append(sid, `{"type":"${'x'.repeat(40)}"}`, limits)).toEqual({
        status: 'full',
      })
      expect(await store.append(sid, '{"type":"c"}', limits)).toEqual({
        status: 'appended',
        seq: 3,
      })
      expect(await store.append(randomUUID(), '{"type":"c"}', limits)).toEqual({ status: 'gone' })
    })

    it('ack trims the log up to its seq, never by length; refuses beyond out; fences old generations', async () => {
      const { store, sid } = await fresh()
      for (let i = 0; i < 5; i++) await store.append(sid, `{"type":"n","data":${i}}`, LIMITS)
      expect(await store.ack(sid, 1, 6)).toBe('beyond')
      expect(await store.ack(sid, 1, 3)).toBe('ok')
      expect(await seqs(store, sid)).toEqual([4, 5])
      expect(await store.ack(sid, 1, 2)).toBe('ok')
      expect(await seqs(store, sid)).toEqual([4, 5])
      await store.attach(sid, 'ann')
      expect(await store.ack(sid, 1, 5)).toBe('fenced')
      expect(await store.attach(sid, 'ann')).toMatchObject({ out: 5, acked: 3 })
    })

    it('detach keeps the session for its TTL, then it expires (and says so)', async () => {
      const { store, sid } = await fresh()
      await store.append(sid, '{"type":"n"}', LIMITS)
      await store.detach(sid, 1, 60_000)
      expect(await store.attach(sid, 'ann')).toMatchObject({ status: 'attached', out: 1 })
      await store.detach(sid, 2, 30)
      const result = await eventually(
        () => store.read(sid, 0, 10),
        (value) => value === 'gone',
      )
      expect(result).toBe('gone')
      expect(await store.attach(sid, 'ann')).toEqual({ status: 'expired' })
    })

    it('detach and end by an old generation change nothing; attach stops the detach clock', async () => {
      const { store, sid } = await fresh()
      await store.attach(sid, 'ann')
      await store.detach(sid, 1, 30)
      await store.end(sid, 1)
      await new Promise((resolve) => setTimeout(resolve, 60))
      expect(await store.attach(sid, 'ann')).toMatchObject({ status: 'attached', generation: 3 })
      await store.detach(sid, 3, 30)
      expect(await store.attach(sid, 'ann')).toMatchObject({ status: 'attached', generation: 4 })
      await new Promise((resolve) => setTimeout(resolve, 60))
      expect(await store.read(sid, 0, 10)).toEqual([])
    })

    it('end forgets the session at once', async () => {
      const { store, sid } = await fresh()
      await store.end(sid, 1)
      expect(await store.read(sid, 0, 10)).toBe('gone')
      expect((await store.attach(sid, 'ann')).status).not.toBe('attached')
    })

    it('remembers request results per principal and request id, until their TTL', async () => {
      const store = await makeStore()
      const id = randomUUID()
      expect(await store.lookup('ann', id)).toBeUndefined()
      await store.remember('ann', id, '{"type":"x","re":"1","data":1}', 60_000)
      expect(await store.lookup('ann', id)).toBe('{"type":"x","re":"1","data":1}')
      expect(await store.lookup('eve', id)).toBeUndefined()
      // Keys cannot run together: principal "a" + id "nn…" is not principal "an" + id "n…".
      expect(await store.lookup('an', `n${id}`.slice(1))).toBeUndefined()
      await store.remember('ann', `${id}-short`, 'r', 30)
      const gone = await eventually(
        () => store.lookup('ann', `${id}-short`),
        (value) => value === undefined,
      )
      expect(gone).toBeUndefined()
    })

    it('groups: join is a set (twice is once), leave removes one, and members lists the sids now', async () => {
      const store = await makeStore()
      const group = `g-${randomUUID()}`
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
      expect(await store.members(group)).toEqual([])
      await store.join(group, a)
      await store.join(group, b)
      await store.join(group, a)
      await store.join(group, c)
      expect([...(await store.members(group))].sort()).toEqual([a, b, c].sort())
      await store.leave(group, b)
      await store.leave(group, randomUUID())
      expect([...(await store.members(group))].sort()).toEqual([a, c].sort())
      // Groups do not run into each other, nor into a session's keys.
      expect(await store.members(`${group}x`)).toEqual([])
      await store.leave(group, a)
      await store.leave(group, c)
      expect(await store.members(group)).toEqual([])
    })

    it('tells watchers about appends and newer attachments, and stops after unsubscribe', async () => {
      const { store, sid } = await fresh()
      const events: StoreEvent[] = []
      const unwatch = store.watch(sid, (event) => events.push(event))
      await store.append(sid, '{"type":"n"}', LIMITS)
      await store.attach(sid, 'ann')
      await eventually(
        async () => events.length,
        (n) => n >= 2,
      )
      expect(events).toEqual([
        { type: 'appended', sid, seq: 1 },
        { type: 'attached', sid, generation: 2 },
      ])
      unwatch()
      await store.append(sid, '{"type":"n"}', LIMITS)
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(events).toHaveLength(2)
    })
  })
}
