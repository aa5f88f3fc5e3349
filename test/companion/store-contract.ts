/**
 * The contract every SessionStore keeps (server/store.ts), as a suite that takes a store
 * factory: the memory store and the Redis store run the same suite.
 * No fake clock: a distributed store measures TTLs with its own, so expiry is checked with a
 * short TTL and a bounded wait, never an exact time.
 */
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type {
  AttachResult,
  LoggedFrame,
  SessionState,
  SessionStore,
  StoreEvent,
} from '../../server/index.ts'

const LIMITS = { maxFrames: 1000, maxBytes: 1024 * 1024 }

/** Bodies of one length (for a single digit), so that a byte limit counts frames exactly. */
const body = (n: number): string => `{"type":"n","data":${n}}`
const BODY_BYTES = body(0).length

/** The session state of an attach that must have succeeded. */
function attached(result: AttachResult): SessionState & { kept: number } {
  if (result.status !== 'attached') throw new Error(`attach answered ${result.status}`)
  return result
}

/** What `append` answers when it stored the frame: its seq, in the session's epoch. */
export function appended(seq: number, epoch: unknown = 0) {
  return { status: 'appended', seq, epoch }
}

async function seqs(store: SessionStore, sid: string): Promise<number[]> {
  const frames = await store.read(sid, 0, 100)
  if (!Array.isArray(frames)) throw new Error(`session ${sid}: ${frames}`)
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
      expect(state).toEqual({ sid, generation: 1, in: 0, out: 0, acked: 0, epoch: 0, lineage: '' })
      await expect(store.create(sid, 'ann')).rejects.toThrow()
    })

    it('attach increments the generation, and refuses unknown sids and other principals without changing anything', async () => {
      const { store, sid } = await fresh()
      expect(await store.attach(sid, 'ann', 0, 0)).toEqual({
        status: 'attached',
        sid,
        generation: 2,
        in: 0,
        out: 0,
        acked: 0,
        epoch: 0,
        lineage: '',
        kept: 0,
      })
      expect(await store.attach(sid, 'eve', 0, 0)).toEqual({ status: 'forbidden' })
      expect(await store.attach(randomUUID(), 'ann', 0, 0)).toEqual({ status: 'unknown-session' })
      expect(await store.attach(sid, 'ann', 0, 0)).toMatchObject({ generation: 3 })
    })

    it('accept commits only the next seq, tells duplicates and gaps apart, and fences old generations', async () => {
      const { store, sid } = await fresh()
      expect(await store.accept(sid, 1, 2)).toBe('gap')
      expect(await store.accept(sid, 1, 1)).toBe('committed')
      expect(await store.accept(sid, 1, 1)).toBe('duplicate')
      const { generation } = (await store.attach(sid, 'ann', 0, 0)) as { generation: number }
      expect(await store.accept(sid, 1, 2)).toBe('fenced')
      expect(await store.accept(sid, generation, 2)).toBe('committed')
      expect(await store.attach(sid, 'ann', 0, 0)).toMatchObject({ in: 2 })
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
      expect(await store.append(sid, '{"type":"a"}', LIMITS, 1)).toEqual(appended(1))
      const { generation } = (await store.attach(sid, 'ann', 0, 0)) as { generation: number }
      expect(await store.append(sid, '{"type":"late"}', LIMITS, 1)).toEqual({ status: 'fenced' })
      expect(await seqs(store, sid)).toEqual([1])
      expect(await store.append(sid, '{"type":"b"}', LIMITS, generation)).toEqual(appended(2))
      // A push addresses the session, whichever attachment holds it.
      expect(await store.append(sid, '{"type":"c"}', LIMITS)).toEqual(appended(3))
      expect(await store.attach(sid, 'ann', 0, 0)).toMatchObject({ out: 3 })
      expect(await store.append(randomUUID(), '{"type":"d"}', LIMITS, 1)).toEqual({
        status: 'gone',
      })
    })

    it('append refuses past maxFrames or maxBytes of unacked frames, and an ack makes room again', async () => {
      const { store, sid } = await fresh()
      const limits = { maxFrames: 2, maxBytes: 40 }
      expect(await store.append(sid, '{"type":"a"}', limits)).toEqual(appended(1))
      expect(await store.append(sid, '{"type":"b"}', limits)).toEqual(appended(2))
      expect(await store.append(sid, '{"type":"c"}', limits)).toEqual({ status: 'full' })
      expect(await store.ack(sid, 1, 1, 0)).toBe('ok')
      expect(await store.append(sid, `{"type":"${'x'.repeat(40)}"}`, limits)).toEqual({
        status: 'full',
      })
      expect(await store.append(sid, '{"type":"c"}', limits)).toEqual(appended(3))
      expect(await store.append(randomUUID(), '{"type":"c"}', limits)).toEqual({ status: 'gone' })
    })

    it('ack trims the log up to its seq, never by length; refuses beyond out; fences old generations', async () => {
      const { store, sid } = await fresh()
      for (let i = 0; i < 5; i++) await store.append(sid, `{"type":"n","data":${i}}`, LIMITS)
      expect(await store.ack(sid, 1, 6, 0)).toBe('beyond')
      expect(await store.ack(sid, 1, 3, 0)).toBe('ok')
      expect(await seqs(store, sid)).toEqual([4, 5])
      expect(await store.ack(sid, 1, 2, 0)).toBe('ok')
      expect(await seqs(store, sid)).toEqual([4, 5])
      await store.attach(sid, 'ann', 0, 0)
      expect(await store.ack(sid, 1, 5, 0)).toBe('fenced')
      expect(await store.attach(sid, 'ann', 0, 0)).toMatchObject({ out: 5, acked: 3 })
    })

    it('detach keeps the session for its TTL, then it expires (and says so)', async () => {
      const { store, sid } = await fresh()
      await store.append(sid, '{"type":"n"}', LIMITS)
      await store.detach(sid, 1, 60_000)
      expect(await store.attach(sid, 'ann', 0, 0)).toMatchObject({ status: 'attached', out: 1 })
      await store.detach(sid, 2, 30)
      const result = await eventually(
        () => store.read(sid, 0, 10),
        (value) => value === 'gone',
      )
      expect(result).toBe('gone')
      expect(await store.attach(sid, 'ann', 0, 0)).toEqual({ status: 'expired' })
    })

    it('detach and end by an old generation change nothing; attach stops the detach clock', async () => {
      const { store, sid } = await fresh()
      await store.attach(sid, 'ann', 0, 0)
      await store.detach(sid, 1, 30)
      await store.end(sid, 1)
      await new Promise((resolve) => setTimeout(resolve, 60))
      expect(await store.attach(sid, 'ann', 0, 0)).toMatchObject({
        status: 'attached',
        generation: 3,
      })
      await store.detach(sid, 3, 30)
      expect(await store.attach(sid, 'ann', 0, 0)).toMatchObject({
        status: 'attached',
        generation: 4,
      })
      await new Promise((resolve) => setTimeout(resolve, 60))
      expect(await store.read(sid, 0, 10)).toEqual([])
    })

    it('end forgets the session at once', async () => {
      const { store, sid } = await fresh()
      await store.end(sid, 1)
      expect(await store.read(sid, 0, 10)).toBe('gone')
      expect((await store.attach(sid, 'ann', 0, 0)).status).not.toBe('attached')
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

    it("attach trims the log to the client's seen: acked = seen, only later frames are read, and their frames and bytes make room", async () => {
      const { store, sid } = await fresh()
      const byBytes = { maxFrames: 1000, maxBytes: 4 * BODY_BYTES }
      const byFrames = { maxFrames: 4, maxBytes: 1024 * 1024 }
      for (let n = 1; n <= 4; n++) await store.append(sid, body(n), byBytes)
      expect(await store.append(sid, body(5), byBytes)).toEqual({ status: 'full' })
      expect(await store.append(sid, body(5), byFrames)).toEqual({ status: 'full' })

      expect(await store.attach(sid, 'ann', 2, 0)).toEqual({
        status: 'attached',
        sid,
        generation: 2,
        in: 0,
        out: 4,
        acked: 2,
        epoch: 0,
        lineage: '',
        kept: 4,
      })
      expect(await store.read(sid, 0, 100)).toEqual([
        { seq: 3, body: body(3) },
        { seq: 4, body: body(4) },
      ])
      // Exactly two frames and their bytes were freed: two more fit, a third does not.
      expect(await store.append(sid, body(5), byFrames)).toEqual(appended(5))
      expect(await store.append(sid, body(6), byBytes)).toEqual(appended(6))
      expect(await store.append(sid, body(7), byBytes)).toEqual({ status: 'full' })
      expect(await store.append(sid, body(7), byFrames)).toEqual({ status: 'full' })
      // The client delivered up to 2: an ack there is old news.
      expect(await store.ack(sid, 2, 2, 0)).toBe('ok')
      expect(await seqs(store, sid)).toEqual([3, 4, 5, 6])
    })

    it('attach with seen above out: kept is the old out, out becomes seen and numbering goes on above it; the same seen again hears the same kept; a higher seen ends the rollback', async () => {
      const { store, sid } = await fresh()
      const limits = { maxFrames: 1000, maxBytes: 2 * BODY_BYTES }
      await store.append(sid, body(1), limits)
      await store.append(sid, body(2), limits)

      expect(await store.attach(sid, 'ann', 5, 0)).toEqual({
        status: 'attached',
        sid,
        generation: 2,
        in: 0,
        out: 5,
        acked: 5,
        epoch: 0,
        lineage: '',
        kept: 2,
      })
      expect(await store.read(sid, 0, 100)).toEqual([])
      // Both frames (and their bytes) left the log with the trim.
      expect(await store.append(sid, body(6), limits)).toEqual(appended(6))
      expect(await store.append(sid, body(7), limits)).toEqual(appended(7))
      expect(await store.append(sid, body(8), limits)).toEqual({ status: 'full' })

      // The first answer may not have reached the client: it resumes with the same seen.
      expect(await store.attach(sid, 'ann', 5, 0)).toEqual({
        status: 'attached',
        sid,
        generation: 3,
        in: 0,
        out: 7,
        acked: 5,
        epoch: 0,
        lineage: '',
        kept: 2,
      })
      // Nothing was numbered again.
      expect(await store.read(sid, 0, 100)).toEqual([
        { seq: 6, body: body(6) },
        { seq: 7, body: body(7) },
      ])

      // The client has seen frames after the rollback: it is behind it now.
      expect(attached(await store.attach(sid, 'ann', 6, 0))).toMatchObject({
        generation: 4,
        out: 7,
        acked: 6,
        kept: 7,
      })
      expect(attached(await store.attach(sid, 'ann', 6, 0)).kept).toBe(7)
      expect(await seqs(store, sid)).toEqual([7])
    })

    it('attach with acked above in gives the session a new lineage each time; acked at or below in keeps it', async () => {
      const { store, sid } = await fresh()
      expect(await store.accept(sid, 1, 1)).toBe('committed')
      expect(attached(await store.attach(sid, 'ann', 0, 1)).lineage).toBe('')
      expect(attached(await store.attach(sid, 'ann', 0, 0)).lineage).toBe('')

      const first = attached(await store.attach(sid, 'ann', 0, 3))
      expect(first).toMatchObject({ in: 1, generation: 4 })
      expect(first.lineage).not.toBe('')
      const second = attached(await store.attach(sid, 'ann', 0, 3))
      expect(second.lineage).not.toBe('')
      expect(second.lineage).not.toBe(first.lineage)

      expect(attached(await store.attach(sid, 'ann', 0, 1)).lineage).toBe(second.lineage)
      expect(attached(await store.attach(sid, 'ann', 0, 0)).lineage).toBe(second.lineage)
    })

    it('attach with seen below the stored acked changes nothing but the generation', async () => {
      const { store, sid } = await fresh()
      for (let n = 1; n <= 5; n++) await store.append(sid, body(n), LIMITS)
      expect(await store.accept(sid, 1, 1)).toBe('committed')
      expect(await store.ack(sid, 1, 3, 0)).toBe('ok')
      // A rollback reported to the client, so that its bookkeeping is part of the state too.
      expect(attached(await store.attach(sid, 'ann', 7, 1))).toMatchObject({ out: 7, kept: 5 })
      const before = attached(await store.attach(sid, 'ann', 7, 1))
      expect(before).toMatchObject({ generation: 3, in: 1, out: 7, acked: 7, kept: 5 })

      // Forgot frames (seen 6 < acked 7), with acked 9 above in, which would give a lineage.
      expect(await store.attach(sid, 'ann', 6, 9)).toEqual({
        ...before,
        generation: 4,
        kept: 7,
      })
      expect(await store.attach(sid, 'ann', 0, 0)).toEqual({
        ...before,
        generation: 5,
        kept: 7,
      })
      expect(await store.append(sid, body(8), LIMITS)).toEqual(appended(8))
      // The rollback is still reported to the client that resumes with the seen it was told about.
      expect(attached(await store.attach(sid, 'ann', 7, 1))).toMatchObject({
        generation: 6,
        out: 8,
        acked: 7,
        kept: 5,
        lineage: '',
      })
      expect(await seqs(store, sid)).toEqual([8])
    })

    it("ack and read with another epoch than the session's answer restarted and change nothing", async () => {
      const { store, sid, state } = await fresh()
      const other = state.epoch + 1
      for (let n = 1; n <= 3; n++) await store.append(sid, body(n), LIMITS)
      expect(await store.ack(sid, 1, 2, other)).toBe('restarted')
      expect(await store.read(sid, 0, 100, other)).toBe('restarted')
      expect(await store.read(sid, 1, 100, state.epoch)).toEqual([
        { seq: 2, body: body(2) },
        { seq: 3, body: body(3) },
      ])
      expect(await seqs(store, sid)).toEqual([1, 2, 3])
      expect(await store.ack(sid, 1, 2, state.epoch)).toBe('ok')
      expect(await store.ack(sid, 1, 3, other)).toBe('restarted')
      expect(attached(await store.attach(sid, 'ann', 2, 0))).toMatchObject({
        out: 3,
        acked: 2,
        epoch: state.epoch,
      })
      expect(await seqs(store, sid)).toEqual([3])
    })

    it('tells watchers about appends and newer attachments, and stops after unsubscribe', async () => {
      const { store, sid } = await fresh()
      const events: StoreEvent[] = []
      const unwatch = store.watch(sid, (event) => events.push(event))
      await store.append(sid, '{"type":"n"}', LIMITS)
      await store.attach(sid, 'ann', 0, 0)
      await eventually(
        async () => events.length,
        (n) => n >= 2,
      )
      expect(events).toEqual([
        { type: 'appended', sid, seq: 1, epoch: 0 },
        { type: 'attached', sid, generation: 2 },
      ])
      unwatch()
      await store.append(sid, '{"type":"n"}', LIMITS)
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(events).toHaveLength(2)
    })
  })
}
