import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../server/index.ts'
import { sessionStoreContract } from './store-contract.ts'

sessionStoreContract('memoryStore', () => memoryStore())

describe('memoryStore', () => {
  it('forgets the oldest results past maxResults', async () => {
    const store = memoryStore({ maxResults: 2 })
    await store.remember('p', 'a', '1', 60_000)
    await store.remember('p', 'b', '2', 60_000)
    await store.remember('p', 'c', '3', 60_000)
    expect(await store.lookup('p', 'a')).toBeUndefined()
    expect(await store.lookup('p', 'c')).toBe('3')
  })

  it('sweeps expired sessions as new ones are created, so memory stays bounded', async () => {
    let now = 0
    const store = memoryStore({ now: () => now, maxTombstones: 10 })
    const sids: string[] = []
    for (let i = 0; i < 1100; i++) {
      const sid = randomUUID()
      sids.push(sid)
      await store.create(sid, 'p')
      await store.detach(sid, 1, 1000)
    }
    now += 1001
    // Creating more passes a sweep threshold: the expired sessions are buried, and past
    // maxTombstones the oldest are forgotten. Without the sweep the first sid would still be
    // in memory, and be answered `expired` here.
    for (let i = 0; i < 1100; i++) await store.create(randomUUID(), 'p')
    expect(await store.attach(sids[0] as string, 'p', 0, 0)).toEqual({ status: 'unknown-session' })
    expect(await store.attach(sids.at(-1) as string, 'p', 0, 0)).toEqual({ status: 'expired' })
  })
})
