import { describe, expect, it, vi } from 'vitest'
import type { ReconnectReason, SessionLost, SocketError } from '../../src/index.ts'
import type { FakeWebSocket } from '../helpers/fake-websocket.ts'
import {
  acks,
  appFrames,
  cutAndReopen,
  sent,
  session,
  startReliable,
} from '../helpers/reliable-fake.ts'
import { unitHarness } from '../helpers/unit-harness.ts'

// Servers that break the rules of PROTOCOL.md §10.2. Each is answered as it says: the client
// cuts with 4009, reports PROTOCOL_ERROR and resumes (nothing out of order reaches the
// application, nothing is lost), or, when the session cannot go on, ends it and says what
// was in doubt. Never a crash, never a silent loss.

const harness = unitHarness()

/** A session with two frames each way: the client sent 1..2, delivered the server's 1..2. */
function midSession() {
  const { fake, socket, ws } = startReliable(harness, { heartbeat: false })
  const got: unknown[] = []
  const reasons: ReconnectReason[] = []
  const lost: SessionLost[] = []
  socket.onMessage('down', (data) => got.push(data))
  socket.on('reconnecting', ({ reason }) => reasons.push(reason))
  socket.on('sessionlost', (event) => lost.push(event))
  socket.send('up', 1)
  socket.send('up', 2)
  ws.receive({ type: 'down', seq: 1, data: 1 })
  ws.receive({ type: 'down', seq: 2, data: 2 })
  return { fake, socket, ws, got, reasons, lost }
}

/** The connection was cut with 4009, PROTOCOL_ERROR was reported once, and it is resuming. */
function expectCut(ws: FakeWebSocket, reasons: ReconnectReason[]): SocketError {
  expect(ws.closeCalls).toEqual([{ code: 4009, reason: 'protocol violation' }])
  expect(reasons).toEqual(['protocol-error'])
  const errors = harness.expectErrors((error) => error.code === 'PROTOCOL_ERROR')
  expect(errors).toHaveLength(1)
  return errors[0] as SocketError
}

describe('a server that breaks the sequencing rules', () => {
  it('a gap: cut with 4009, nothing out of order delivered, resumed from the last seq seen', () => {
    const { fake, socket, ws, got, reasons } = midSession()
    ws.receive({ type: 'down', seq: 4, data: 4 })
    expect(got).toEqual([1, 2])
    expect(expectCut(ws, reasons).message).toMatch(/seq 4 after 2/)
    const next = cutAndReopen(fake)
    expect(sent(next)[0]).toEqual({
      type: '$resume',
      data: { v: 1, sid: 's1', seen: 2, acked: 0 },
    })
    session(next, { sid: 's1', resumed: true, in: 2, out: 4 })
    for (let seq = 3; seq <= 4; seq++) next.receive({ type: 'down', seq, data: seq })
    expect(got).toEqual([1, 2, 3, 4])
    expect(socket.state).toBe('open')
  })

  it('duplicate seqs, old and repeated: each dropped, acked again at once, never delivered twice', () => {
    const { ws, got } = midSession()
    ws.receive({ type: 'down', seq: 2, data: 'again' })
    ws.receive({ type: 'down', seq: 1, data: 'older' })
    ws.receive({ type: 'down', seq: 3, data: 3 })
    ws.receive({ type: 'down', seq: 3, data: 'again' })
    expect(got).toEqual([1, 2, 3])
    expect(acks(ws)).toEqual([
      { type: '$ack', ack: 2 },
      { type: '$ack', ack: 2 },
      { type: '$ack', ack: 3 },
    ])
  })

  it('an ack beyond what was sent: cut with 4009; the unacked frames are replayed after the resume', () => {
    const { fake, ws, reasons } = midSession()
    ws.receive({ type: '$ack', ack: 3 })
    expect(expectCut(ws, reasons).message).toMatch(/ack of 3 \(the last seq sent is 2\)/)
    const next = cutAndReopen(fake)
    session(next, { sid: 's1', resumed: true, in: 0, out: 2 })
    expect(appFrames(next).map((frame) => [frame.seq, frame.data])).toEqual([
      [1, 1],
      [2, 2],
    ])
  })

  it.each([
    ['not an integer', 1.5],
    ['negative', -1],
    ['zero', 0],
    ['huge (not a safe integer)', 2 ** 53],
    ['a string', '3'],
    ['null', null],
    ['an object', { n: 3 }],
  ])('a seq that is %s: cut with 4009, not delivered', (_, seq) => {
    const { ws, got, reasons } = midSession()
    ws.receive({ type: 'down', seq, data: 'bad' })
    expect(got).toEqual([1, 2])
    expectCut(ws, reasons)
  })

  it('an application frame without a seq: cut with 4009, not delivered', () => {
    const { ws, got, reasons } = midSession()
    ws.receive({ type: 'down', data: 'unsequenced' })
    expect(got).toEqual([1, 2])
    expectCut(ws, reasons)
  })

  it('a response without a seq: cut with 4009, not delivered', () => {
    const { ws, reasons } = midSession()
    ws.receive({ type: 'answer', re: 'r1' })
    expectCut(ws, reasons)
  })

  it.each([
    ['negative', -1],
    ['not an integer', 0.5],
    ['a string', '1'],
    ['huge', 2 ** 60],
  ])('an ack that is %s: cut with 4009', (_, ack) => {
    const { ws, got, reasons } = midSession()
    ws.receive({ type: 'down', seq: 3, ack, data: 3 })
    expect(got).toEqual([1, 2])
    expectCut(ws, reasons)
  })

  it.each(['$pong', '$ack', '$custom'])('a seq on a %s frame: cut with 4009', (type) => {
    const { ws, reasons } = midSession()
    ws.receive({ type, seq: 3 })
    expectCut(ws, reasons)
  })

  it('a second $session on one connection: cut with 4009, not a second replay', () => {
    const { ws, reasons, lost } = midSession()
    const before = appFrames(ws).length
    session(ws, { sid: 's1', resumed: true, in: 0, out: 2 })
    expect(appFrames(ws)).toHaveLength(before)
    expect(lost).toEqual([])
    expectCut(ws, reasons)
  })

  it('a frame it cannot decode is reported and its seq consumed, so the frames after it arrive (no loop of resumes)', () => {
    const { socket, ws, got, reasons } = midSession()
    ws.receive('{"seq":3,"type":"down","data":[broken')
    ws.receive({ type: 'down', seq: 4, data: 4 })
    expect(got).toEqual([1, 2, 4])
    expect(harness.expectErrors((error) => error.code === 'DECODE_FAILED')).toHaveLength(1)
    expect(reasons).toEqual([])
    expect(ws.closeCalls).toEqual([])
    // The same frame replayed (a resume that crossed an ack) is a duplicate, like any other.
    ws.receive('{"seq":3,"type":"down","data":[broken')
    expect(got).toEqual([1, 2, 4])
    harness.expectErrors((error) => error.code === 'DECODE_FAILED')
    expect(socket.stats.delivery?.duplicates).toBe(1)
  })

  it('the ack on a frame it cannot decode still counts (the server sends no other for it)', () => {
    const { socket, ws, got } = midSession()
    expect(socket.stats.delivery?.unacked).toBe(2)
    ws.receive('{"seq":3,"ack":2,"type":"down","data":[broken')
    harness.expectErrors((error) => error.code === 'DECODE_FAILED')
    expect(socket.stats.delivery?.unacked).toBe(0)
    ws.receive({ type: 'down', seq: 4, data: 4 })
    expect(got).toEqual([1, 2, 4])
  })

  it('a frame over maxMessageBytes is reported and its seq consumed', () => {
    const { ws, got, reasons } = (() => {
      const started = startReliable(harness, { heartbeat: false }, { maxMessageBytes: 150 })
      const got: unknown[] = []
      const reasons: ReconnectReason[] = []
      started.socket.onMessage('down', (data) => got.push(data))
      started.socket.on('reconnecting', ({ reason }) => reasons.push(reason))
      return { ...started, got, reasons }
    })()
    // As a server writes it (PROTOCOL.md §10): the seq first.
    ws.receive(`{"seq":1,"type":"down","data":"${'x'.repeat(200)}"}`)
    ws.receive({ type: 'down', seq: 2, data: 2 })
    expect(got).toEqual([2])
    expect(harness.expectErrors((error) => error.code === 'DECODE_FAILED')).toHaveLength(1)
    expect(reasons).toEqual([])
  })

  it('an undecodable frame without a leading seq cannot be numbered: the next frame is a gap, cut with 4009', () => {
    const { ws, got, reasons } = midSession()
    ws.receive('{"type":"down","seq":3,"data":[broken')
    ws.receive({ type: 'down', seq: 4, data: 4 })
    expect(got).toEqual([1, 2])
    harness.expectErrors((error) => error.code === 'DECODE_FAILED')
    expectCut(ws, reasons)
  })

  it('a flood of hostile frames in one connection: one cut, no crash, the socket resumes', () => {
    const { fake, socket, ws, got, reasons } = midSession()
    for (let i = 0; i < 100; i++) ws.receive({ type: 'down', seq: 10 + i, ack: 99 })
    expect(got).toEqual([1, 2])
    expectCut(ws, reasons)
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 2, out: 2 })
    expect(socket.state).toBe('open')
  })
})

describe('a server whose $session cannot be continued', () => {
  it('a rollback of both sides is a lost session, reported with what it lost', () => {
    const { fake, socket, ws, lost } = midSession()
    ws.receive({ type: '$ack', ack: 2 })
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 1, out: 1 })
    expect(lost).toHaveLength(1)
    expect(lost[0]).toMatchObject({ reason: 'rollback', lastSeen: 2, lostBeyond: false })
    expect(lost[0]?.rolledBack.map((frame) => frame.seq)).toEqual([2])
    expect(socket.state).toBe('open')
  })

  it('a resumed answer naming another sid is a lost session, not a silent switch', () => {
    const { fake, ws, lost } = midSession()
    session(cutAndReopen(fake), { sid: 'other', resumed: true, in: 0, out: 0 })
    expect(lost).toHaveLength(1)
    expect(lost[0]).toMatchObject({ previousSid: 's1', sid: 'other' })
    expect(lost[0]?.inDoubt.map((frame) => frame.seq)).toEqual([1, 2])
    expect(ws.closeCalls).toEqual([])
  })

  it.each([
    ['no data', undefined],
    ['no sid', { resumed: true, in: 0, out: 2 }],
    ['an empty sid', { sid: '', resumed: true, in: 0, out: 2 }],
    ['a sid that is a number', { sid: 7, resumed: true, in: 0, out: 2 }],
    ['resumed as a string', { sid: 's1', resumed: 'yes', in: 0, out: 2 }],
    ['a negative in', { sid: 's1', resumed: true, in: -1, out: 2 }],
    ['a fractional out', { sid: 's1', resumed: true, in: 0, out: 2.5 }],
    ['in as a string', { sid: 's1', resumed: true, in: '0', out: 2 }],
  ])(
    'a malformed $session (%s) on a resume: UNSUPPORTED, and the frames in doubt reported',
    (_, data) => {
      const { fake, socket, lost } = midSession()
      const next = cutAndReopen(fake)
      next.receive(data === undefined ? { type: '$session' } : { type: '$session', data })
      expect(socket.state).toBe('closed')
      expect(harness.expectErrors((error) => error.code === 'UNSUPPORTED')).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0]).toMatchObject({
        reason: 'unsupported',
        previousSid: 's1',
        sid: null,
        lastSeen: 2,
      })
      expect(lost[0]?.inDoubt.map((frame) => frame.seq)).toEqual([1, 2])
    },
  )

  it('"in" beyond what was sent on a resume: PROTOCOL_ERROR, the session ends, the frames in doubt reported', () => {
    const { fake, socket, lost } = midSession()
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 5, out: 2 })
    expect(harness.expectErrors((error) => error.code === 'PROTOCOL_ERROR')).toHaveLength(1)
    expect(harness.expectErrors((error) => error.code === 'UNSUPPORTED')).toHaveLength(1)
    expect(socket.state).toBe('closed')
    expect(lost[0]?.inDoubt.map((frame) => frame.seq)).toEqual([1, 2])
  })

  it('a malformed $session on the first $hello: UNSUPPORTED, nothing to report', () => {
    const { fake, socket } = (() => {
      const made = startReliable(harness, { heartbeat: false })
      made.socket.close()
      return made
    })()
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    socket.connect()
    fake.last().open()
    session(fake.last(), { sid: 's1', resumed: false })
    expect(socket.state).toBe('closed')
    expect(harness.expectErrors((error) => error.code === 'UNSUPPORTED')).toHaveLength(1)
    expect(lost).toEqual([])
    vi.advanceTimersByTime(60_000)
    expect(fake.sockets).toHaveLength(2)
  })
})
