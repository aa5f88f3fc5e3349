import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import type { SessionLost } from '../../src/index.ts'
import { cutAndReopen, session, startReliable } from '../helpers/reliable-fake.ts'
import { unitHarness } from '../helpers/unit-harness.ts'

// Memory stays bounded in a long reliable session: 1,000,000 frames each way with acks
// flowing leave the unacked log empty and the heap where it was. A test rather than a bench
// script, so that a leak fails `npm test`: the bound is generous (a leak of even 16 bytes a
// frame is 16 MB here, and a retained frame is ~100 B), and the fake socket and clock keep it
// exact (about 12 s on a loaded 2-core machine) and independent of a network.

const harness = unitHarness()

// `global.gc` without restarting the worker with --expose-gc.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

const FRAMES = 1_000_000

describe('reliable(): memory over a long session', () => {
  it('1,000,000 frames each way with acks flowing: the unacked log ends empty and the heap flat', () => {
    const { fake, socket, ws } = startReliable(harness, { heartbeat: false })
    let received = 0
    socket.onMessage('down', () => {
      received++
    })
    let sent = 0
    const run = (upTo: number) => {
      while (sent < upTo) {
        sent++
        socket.send('up', sent)
        ws.receive({ type: 'down', seq: sent, data: sent })
        // The server acknowledges every 32, as the companion does.
        if (sent % 32 === 0) ws.receive({ type: '$ack', ack: sent })
        // The fake records every frame written; only the library's memory is measured.
        if (sent % 10_000 === 0) ws.sent.length = 0
      }
      ws.receive({ type: '$ack', ack: sent })
    }
    // Warm-up: the code paths compiled, the ring of acknowledged frames full.
    run(20_000)
    const before = heapAfterGc()
    run(FRAMES)
    ws.sent.length = 0
    const after = heapAfterGc()
    expect(received).toBe(FRAMES)
    expect(socket.stats.queuedMessages).toBe(0)
    const growthMb = (after - before) / 1024 / 1024
    console.info(
      `reliable memory: heap ${(before / 1024 / 1024).toFixed(1)} MB before, ${(after / 1024 / 1024).toFixed(1)} MB after ${FRAMES} frames each way (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(2)} MB)`,
    )
    expect(growthMb).toBeLessThan(8)
    // What the log holds is what a lost session reports as in doubt: a rollback to 0 shows
    // it (nothing), and the ring of acknowledged frames (100, not a million).
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 0, out: 0 })
    expect(lost).toHaveLength(1)
    expect(lost[0]?.inDoubt).toEqual([])
    expect(lost[0]?.rolledBack).toHaveLength(100)
    expect(lost[0]?.rolledBack[0]?.seq).toBe(FRAMES - 99)
    expect(lost[0]?.lostBeyond).toBe(true)
  }, 60_000)
})
