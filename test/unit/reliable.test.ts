import { describe, expect, it, vi } from 'vitest'
import {
  auth,
  heartbeat,
  ReconnectingSocket,
  type ReliableOptions,
  rawCodec,
  reliable,
  requests,
  type SessionLost,
  type SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import {
  appFrames,
  cutAndReopen,
  sent,
  session,
  settle,
  setupReliable,
  startReliable,
  RELIABLE_URL as URL,
} from '../helpers/reliable-fake.ts'
import { expectSocketError, unitHarness } from '../helpers/unit-harness.ts'

// The reliable mode through the public API, against a scripted server (the fake socket) and
// the fake clock: every frame the client writes and every decision it makes is exact.

const harness = unitHarness()
const setup = (rel?: ReliableOptions, options?: SocketOptions) =>
  setupReliable(harness, rel, options)
const start = (rel?: ReliableOptions, options?: SocketOptions) =>
  startReliable(harness, rel, options)

function protocolErrors(): SocketError[] {
  return harness.expectErrors((error) => error.code === 'PROTOCOL_ERROR')
}

describe('reliable(): opening a session', () => {
  it('sends $hello first, and holds open and the queue until $session', () => {
    const { fake, socket } = setup()
    const opens: unknown[] = []
    socket.on('open', (event) => opens.push(event))
    socket.connect()
    const ws = fake.last()
    ws.open()
    expect(sent(ws)).toEqual([{ type: '$hello', data: { v: 1 } }])
    expect(socket.state).toBe('connecting')
    expect(socket.send('chat', 'early')).toBe('queued')
    expect(sent(ws)).toHaveLength(1)
    expect(opens).toEqual([])
    session(ws, { sid: 's1', resumed: false, in: 0, out: 0 })
    expect(opens).toEqual([{ reconnected: false, protocol: '', resumed: false }])
    expect(socket.state).toBe('open')
    expect(appFrames(ws)).toEqual([{ seq: 1, type: 'chat', data: 'early' }])
  })

  it('sends $auth before $hello when the token travels in a message', async () => {
    const { fake, socket } = setup(
      {},
      { auth: auth({ getToken: () => 'tok', placement: 'message' }) },
    )
    socket.connect()
    await settle()
    fake.last().open()
    expect(sent(fake.last()).map((frame) => frame.type)).toEqual(['$auth', '$hello'])
  })

  it('resumes after a cut with sid, seen and acked, and opens with resumed: true', () => {
    const { fake, socket, ws } = start()
    const opens: unknown[] = []
    socket.on('open', (event) => opens.push(event))
    socket.send('a', 1)
    socket.send('a', 2)
    socket.send('a', 3)
    ws.receive({ type: 'down', seq: 1, ack: 2 })
    ws.receive({ type: 'down', seq: 2 })
    const next = cutAndReopen(fake)
    expect(sent(next)).toEqual([{ type: '$resume', data: { v: 1, sid: 's1', seen: 2, acked: 2 } }])
    expect(socket.state).toBe('reconnecting')
    session(next, { sid: 's1', resumed: true, in: 3, out: 2 })
    expect(opens).toEqual([{ reconnected: true, protocol: '', resumed: true }])
    // The server committed 3: nothing to replay.
    expect(appFrames(next)).toEqual([])
  })

  it('answers a ping before $session and still waits for it', () => {
    const { fake, socket } = setup({ heartbeat: heartbeat({ intervalMs: 1000 }) })
    socket.connect()
    const ws = fake.last()
    ws.open()
    ws.receive({ type: '$pong' })
    expect(socket.state).toBe('connecting')
    session(ws, { sid: 's1', resumed: false, in: 0, out: 0 })
    expect(socket.state).toBe('open')
  })
})

describe('reliable(): seqs and acks', () => {
  it('numbers application frames 1, 2, 3 and piggybacks the ack of what arrived', () => {
    const { socket, ws } = start()
    const got: unknown[] = []
    socket.onMessage('down', (data) => got.push(data))
    socket.send('a', 'x')
    socket.sendRaw('{"type":"raw"}')
    ws.receive({ type: 'down', seq: 1, data: 'd1' })
    ws.receive({ type: 'down', seq: 2, data: 'd2' })
    socket.send('a', 'y')
    expect(appFrames(ws)).toEqual([
      { seq: 1, type: 'a', data: 'x' },
      { seq: 2, type: 'raw' },
      { seq: 3, ack: 2, type: 'a', data: 'y' },
    ])
    expect(got).toEqual(['d1', 'd2'])
    // The piggybacked ack was enough: no `$ack` follows.
    vi.advanceTimersByTime(1000)
    expect(sent(ws).filter((frame) => frame.type === '$ack')).toEqual([])
  })

  it('does not sequence binary frames or text that is not an envelope', () => {
    const { socket, ws } = start()
    socket.sendRaw(new Uint8Array([1, 2]))
    socket.sendRaw('plain text')
    socket.send('a', 1)
    expect(ws.sent.slice(1, 3)).toEqual([new Uint8Array([1, 2]), 'plain text'])
    expect(appFrames(ws)).toEqual([{ seq: 1, type: 'a', data: 1 }])
  })

  it('acks 200 ms after the first unacknowledged frame', () => {
    const { ws } = start()
    ws.receive({ type: 'down', seq: 1 })
    vi.advanceTimersByTime(150)
    ws.receive({ type: 'down', seq: 2 })
    vi.advanceTimersByTime(49)
    expect(sent(ws).filter((frame) => frame.type === '$ack')).toEqual([])
    vi.advanceTimersByTime(1)
    expect(sent(ws).filter((frame) => frame.type === '$ack')).toEqual([{ type: '$ack', ack: 2 }])
    // Nothing new: no more acks.
    vi.advanceTimersByTime(1000)
    expect(sent(ws).filter((frame) => frame.type === '$ack')).toHaveLength(1)
  })

  it('acks at once after 32 frames', () => {
    const { ws } = start()
    for (let seq = 1; seq <= 31; seq++) ws.receive({ type: 'down', seq })
    expect(sent(ws).filter((frame) => frame.type === '$ack')).toEqual([])
    ws.receive({ type: 'down', seq: 32 })
    expect(sent(ws).filter((frame) => frame.type === '$ack')).toEqual([{ type: '$ack', ack: 32 }])
  })

  it('drops a duplicate and acks again at once', () => {
    const { socket, ws } = start()
    const got: unknown[] = []
    socket.onMessage('down', (data) => got.push(data))
    ws.receive({ type: 'down', seq: 1, data: 'first' })
    ws.receive({ type: 'down', seq: 2, data: 'second' })
    ws.receive({ type: 'down', seq: 1, data: 'again' })
    expect(got).toEqual(['first', 'second'])
    expect(sent(ws).filter((frame) => frame.type === '$ack')).toEqual([{ type: '$ack', ack: 2 }])
  })

  it('takes acks from any frame and from a bare $ack, and says so in $resume', () => {
    const { fake, socket, ws } = start()
    for (let n = 1; n <= 4; n++) socket.send('a', n)
    ws.receive({ type: 'down', seq: 1, ack: 2 })
    ws.receive({ type: '$ack', ack: 3 })
    // An old ack after a newer one changes nothing.
    ws.receive({ type: '$ack', ack: 1 })
    const next = cutAndReopen(fake)
    expect(sent(next)[0]).toEqual({ type: '$resume', data: { v: 1, sid: 's1', seen: 1, acked: 3 } })
  })
})

describe('reliable(): replay after a resume', () => {
  it('replays unacked frames above `in` under their original seqs, then open sends, then the queue', () => {
    const { fake, socket, ws } = start()
    for (let n = 1; n <= 5; n++) socket.send('a', n)
    ws.receive({ type: '$ack', ack: 2 })
    ws.serverClose(1006)
    expect(socket.send('a', 6)).toBe('queued')
    socket.on('open', () => socket.send('a', 'from open'))
    vi.advanceTimersByTime(100)
    const next = fake.last()
    next.open()
    expect(appFrames(next)).toEqual([])
    // The server committed 3 before the cut, though its ack did not get through.
    session(next, { sid: 's1', resumed: true, in: 3, out: 0 })
    expect(appFrames(next)).toEqual([
      { seq: 4, type: 'a', data: 4 },
      { seq: 5, type: 'a', data: 5 },
      { seq: 6, type: 'a', data: 'from open' },
      { seq: 7, type: 'a', data: 6 },
    ])
    expect(sent(next)[0]?.type).toBe('$resume')
  })

  it('delivers the server replay once: what was seen is dropped, the rest delivered in order', () => {
    const { fake, socket, ws } = start()
    const got: number[] = []
    socket.onMessage('down', (data) => got.push(data as number))
    ws.receive({ type: 'down', seq: 1, data: 1 })
    ws.receive({ type: 'down', seq: 2, data: 2 })
    const next = cutAndReopen(fake)
    expect(sent(next)[0]).toMatchObject({ data: { seen: 2 } })
    session(next, { sid: 's1', resumed: true, in: 0, out: 4 })
    // A server that replays a little too much is tolerated; each frame is delivered once.
    for (let seq = 2; seq <= 4; seq++) next.receive({ type: 'down', seq, data: seq })
    expect(got).toEqual([1, 2, 3, 4])
  })

  it('keeps a request in flight across a cut: no CONNECTION_LOST, the replayed response resolves it', async () => {
    const { fake, socket, ws } = start({}, { requests: requests({ timeoutMs: 60_000 }) })
    let outcome: unknown
    socket.request('get', 1).then(
      (value) => (outcome = value),
      (error) => (outcome = error),
    )
    const [frame] = appFrames(ws)
    const next = cutAndReopen(fake)
    session(next, { sid: 's1', resumed: true, in: 1, out: 0 })
    await settle()
    expect(outcome).toBeUndefined()
    next.receive({ type: 'get', re: frame?.id, seq: 1, data: 'answer' })
    await settle()
    expect(outcome).toBe('answer')
  })
})

describe('reliable(): the window', () => {
  it('holds sends in the queue while the window is full, and lets them go as acks come', () => {
    const { socket, ws } = start({ maxUnackedMessages: 3 })
    for (let n = 1; n <= 5; n++) socket.send('a', n)
    expect(appFrames(ws).map((frame) => frame.seq)).toEqual([1, 2, 3])
    expect(socket.stats.queuedMessages).toBe(2)
    ws.receive({ type: '$ack', ack: 1 })
    expect(appFrames(ws).map((frame) => frame.seq)).toEqual([1, 2, 3, 4])
    ws.receive({ type: '$ack', ack: 4 })
    expect(appFrames(ws).map((frame) => frame.data)).toEqual([1, 2, 3, 4, 5])
    expect(socket.stats.queuedMessages).toBe(0)
  })

  it('counts the window in bytes too', () => {
    const { socket, ws } = start({ maxUnackedBytes: 100 })
    const big = 'x'.repeat(60)
    socket.send('a', big)
    socket.send('a', big)
    socket.send('a', big)
    expect(appFrames(ws)).toHaveLength(2)
    ws.receive({ type: '$ack', ack: 2 })
    expect(appFrames(ws)).toHaveLength(3)
  })
})

describe('reliable(): a lost session', () => {
  it('reports unknown-session before anything of the new session, and starts over at seq 1', () => {
    const { fake, socket, ws } = start()
    for (let n = 1; n <= 4; n++) socket.send('a', n)
    ws.receive({ type: 'down', seq: 1, ack: 2 })
    const events: string[] = []
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => {
      events.push('sessionlost')
      lost.push(event)
    })
    socket.on('open', ({ resumed }) => events.push(`open:${resumed}`))
    const next = cutAndReopen(fake)
    session(next, { sid: 's2', resumed: false, in: 0, out: 0, reason: 'unknown-session' })
    expect(events).toEqual(['sessionlost', 'open:false'])
    const [event] = lost
    expect(event).toMatchObject({
      reason: 'unknown-session',
      previousSid: 's1',
      sid: 's2',
      rolledBack: [],
      lostBeyond: false,
      lastSeen: 1,
      resentRequests: [],
      rejectedRequests: [],
    })
    expect(
      event?.inDoubt.map((frame) => [frame.seq, JSON.parse(frame.data as string).data]),
    ).toEqual([
      [3, 3],
      [4, 4],
    ])
    // Nothing is resent on its own; the new session numbers from 1.
    expect(appFrames(next)).toEqual([])
    socket.send('a', 'new')
    expect(appFrames(next)).toEqual([{ seq: 1, type: 'a', data: 'new' }])
    // And its inbound numbering starts over too.
    const got: unknown[] = []
    socket.onMessage('down', (data) => got.push(data))
    next.receive({ type: 'down', seq: 1, data: 'fresh' })
    expect(got).toEqual(['fresh'])
    next.serverClose(1006)
    vi.advanceTimersByTime(100)
    fake.last().open()
    expect(sent(fake.last())[0]).toEqual({
      type: '$resume',
      data: { v: 1, sid: 's2', seen: 1, acked: 0 },
    })
  })

  it('reports a rollback (in < acked): the acknowledged frames the server lost, from the ring', () => {
    const { fake, socket, ws } = start()
    for (let n = 1; n <= 6; n++) socket.send('a', n)
    ws.receive({ type: '$ack', ack: 5 })
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    const next = cutAndReopen(fake)
    session(next, { sid: 's1', resumed: true, in: 3, out: 0 })
    const [event] = lost
    expect(event).toMatchObject({ reason: 'rollback', previousSid: 's1', lostBeyond: false })
    expect(event?.rolledBack.map((frame) => frame.seq)).toEqual([4, 5])
    expect(event?.inDoubt.map((frame) => frame.seq)).toEqual([6])
  })

  it('says when a rollback reaches past the ring of acknowledged frames', () => {
    const { fake, socket, ws } = start({ keepAckedMessages: 1 })
    for (let n = 1; n <= 6; n++) socket.send('a', n)
    ws.receive({ type: '$ack', ack: 5 })
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 2, out: 0 })
    expect(lost[0]?.rolledBack.map((frame) => frame.seq)).toEqual([5])
    expect(lost[0]?.lostBeyond).toBe(true)
  })

  it('reports a rollback of the server side (out < seen)', () => {
    const { fake, socket, ws } = start()
    for (let seq = 1; seq <= 4; seq++) ws.receive({ type: 'down', seq })
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 0, out: 2 })
    expect(lost[0]).toMatchObject({ reason: 'rollback', lastSeen: 4, rolledBack: [] })
  })

  it('after a rollback, sends on the `in` the server kept and receives above what it saw, so no seq means two frames', () => {
    const { fake, socket, ws } = start()
    const got: unknown[] = []
    socket.onMessage('down', (data) => got.push(data))
    for (let n = 1; n <= 6; n++) socket.send('a', n)
    for (let seq = 1; seq <= 4; seq++) ws.receive({ type: 'down', seq, data: seq })
    ws.receive({ type: '$ack', ack: 5 })
    const next = cutAndReopen(fake)
    // The server kept the session but lost its last writes: it committed 3, kept 2 of its own.
    session(next, { sid: 's1', resumed: true, in: 3, out: 2 })
    socket.send('a', 'after')
    // Seq 1 would be at or below the server's `in` (3): dropped there as a duplicate.
    expect(appFrames(next)).toEqual([{ seq: 4, type: 'a', data: 'after' }])
    // The server numbers what it sends next after the 4 delivered here (PROTOCOL.md §10.1):
    // a 3 now could only be a frame it forgot, and is dropped; 5 is new.
    next.receive({ type: 'down', seq: 3, data: 'old 3' })
    next.receive({ type: 'down', seq: 5, data: 'new 5' })
    expect(got).toEqual([1, 2, 3, 4, 'new 5'])
    expect(protocolErrors()).toEqual([])
  })

  it('a rollback the server repeats (its first answer may have been lost) is reported once', () => {
    const { fake, socket, ws } = start()
    const got: unknown[] = []
    socket.onMessage('down', (data) => got.push(data))
    for (let seq = 1; seq <= 4; seq++) ws.receive({ type: 'down', seq, data: seq })
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    const opens: boolean[] = []
    socket.on('open', (event) => opens.push(event.resumed))
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 0, out: 2 })
    expect(lost).toHaveLength(1)
    // Cut before any frame after the rollback arrived: the server answers the same.
    const again = cutAndReopen(fake)
    expect(sent(again)[0]).toEqual({
      type: '$resume',
      data: { v: 1, sid: 's1', seen: 4, acked: 0 },
    })
    session(again, { sid: 's1', resumed: true, in: 0, out: 2 })
    expect(lost).toHaveLength(1)
    expect(opens).toEqual([false, true])
    again.receive({ type: 'down', seq: 5, data: 'new 5' })
    expect(got).toEqual([1, 2, 3, 4, 'new 5'])
    // A different loss later is a new report.
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 0, out: 3 })
    expect(lost).toHaveLength(2)
    expect(protocolErrors()).toEqual([])
  })

  it('a rollback of `in` alone, then a loss of server frames answered with the same `out`, is two reports', () => {
    const { fake, socket, ws } = start()
    for (let n = 1; n <= 3; n++) socket.send('a', n)
    ws.receive({ type: '$ack', ack: 3 })
    for (let seq = 1; seq <= 4; seq++) ws.receive({ type: 'down', seq })
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    // The server lost commits only: its `out` is the 4 delivered here.
    const next = cutAndReopen(fake)
    session(next, { sid: 's1', resumed: true, in: 1, out: 4 })
    expect(lost).toHaveLength(1)
    for (let seq = 5; seq <= 8; seq++) next.receive({ type: 'down', seq })
    // Then it loses 5..8, and says `out: 4` again: a loss of its own, not a repeat.
    session(cutAndReopen(fake), { sid: 's1', resumed: true, in: 1, out: 4 })
    expect(lost).toHaveLength(2)
    expect(lost[1]).toMatchObject({ reason: 'rollback', lastSeen: 8 })
    expect(protocolErrors()).toEqual([])
  })

  it('resends idempotent requests with the same id and rejects the others with SESSION_LOST', async () => {
    const { fake, socket, ws } = start({}, { requests: requests({ timeoutMs: 60_000 }) })
    const outcomes: Record<string, unknown> = {}
    const track = (name: string, promise: Promise<unknown>) =>
      promise.then(
        (value) => (outcomes[name] = value),
        (error: SocketError) => (outcomes[name] = error.code),
      )
    track('safe', socket.request('read', 1, { idempotent: true }))
    track('unsafe', socket.request('write', 2))
    const [safe, unsafe] = appFrames(ws)
    const lost: SessionLost[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    const next = cutAndReopen(fake)
    session(next, { sid: 's2', resumed: false, in: 0, out: 0, reason: 'expired' })
    await settle()
    expect(lost[0]).toMatchObject({
      reason: 'expired',
      resentRequests: [safe?.id],
      rejectedRequests: [unsafe?.id],
    })
    expect(outcomes).toEqual({ unsafe: 'SESSION_LOST' })
    expect(appFrames(next)).toEqual([{ seq: 1, type: 'read', id: safe?.id, data: 1 }])
    next.receive({ type: 'read', re: safe?.id, seq: 1, data: 'one' })
    await settle()
    expect(outcomes).toEqual({ unsafe: 'SESSION_LOST', safe: 'one' })
  })
})

describe('reliable(): a server that does not speak it', () => {
  it('ends with UNSUPPORTED when no $session comes within helloTimeoutMs', () => {
    const { fake, socket } = setup({ helloTimeoutMs: 500 }, { connectTimeoutMs: 60_000 })
    socket.connect()
    fake.last().open()
    vi.advanceTimersByTime(499)
    expect(socket.state).toBe('connecting')
    vi.advanceTimersByTime(1)
    expect(socket.state).toBe('closed')
    expect(socket.getSnapshot().lastError?.code).toBe('UNSUPPORTED')
    expect(harness.expectErrors((error) => error.code === 'UNSUPPORTED')).toHaveLength(1)
  })

  it('ends with UNSUPPORTED with the default timeouts too, instead of retrying for ever', () => {
    const { fake, socket } = setup()
    socket.connect()
    fake.last().open()
    // Whatever the connect timeout does meanwhile, a silent server is never retried in a loop.
    for (let i = 0; i < 20 && socket.state !== 'closed'; i++) {
      vi.advanceTimersByTime(5000)
      const ws = fake.last()
      if (ws.readyState === 0) ws.open()
    }
    expect(socket.state).toBe('closed')
    expect(socket.getSnapshot().lastError?.code).toBe('UNSUPPORTED')
    harness.expectErrors(
      (error) => error.code === 'UNSUPPORTED' || error.code === 'CONNECT_TIMEOUT',
    )
  })

  it('ends with UNSUPPORTED when an application frame comes before $session', () => {
    const { fake, socket } = setup()
    const got: unknown[] = []
    socket.on('message', (event) => got.push(event))
    socket.connect()
    fake.last().open()
    fake.last().receive({ type: 'welcome' })
    expect(got).toEqual([])
    expect(socket.state).toBe('closed')
    expect(harness.expectErrors((error) => error.code === 'UNSUPPORTED')).toHaveLength(1)
  })
})

describe('reliable(): options', () => {
  it('refuses unknown keys with the closest name', () => {
    expectSocketError(
      () => reliable({ maxUnacked: 5 } as ReliableOptions),
      'INVALID_OPTIONS',
      /reliable\.maxUnacked/,
    )
  })

  it.each([
    ['maxUnackedMessages', 0],
    ['maxUnackedMessages', -1],
    ['maxUnackedBytes', Number.NaN],
    ['helloTimeoutMs', '10'],
    ['keepAckedMessages', 0],
  ])('refuses %s: %s', (key, value) => {
    expectSocketError(
      () => reliable({ [key]: value } as ReliableOptions),
      'INVALID_OPTIONS',
      new RegExp(`reliable\\.${key}`),
    )
  })

  it('turns the heartbeat on, unless heartbeat: false', () => {
    const on = start()
    vi.advanceTimersByTime(25_000)
    expect(sent(on.ws).some((frame) => frame.type === '$ping')).toBe(true)
    on.socket.close()
    const off = start({ heartbeat: false })
    vi.advanceTimersByTime(60_000)
    expect(sent(off.ws).some((frame) => frame.type === '$ping')).toBe(false)
  })

  it('takes its own heartbeat, and refuses a feature that is not one', () => {
    const { ws } = start({ heartbeat: heartbeat({ intervalMs: 1000 }) })
    vi.advanceTimersByTime(1000)
    expect(sent(ws).some((frame) => frame.type === '$ping')).toBe(true)
    expectSocketError(
      () => reliable({ heartbeat: requests() } as unknown as ReliableOptions),
      'INVALID_OPTIONS',
      /reliable\.heartbeat/,
    )
  })

  it('refuses a codec that does not write JSON envelopes', () => {
    const fake = fakeWebSocketFactory()
    expectSocketError(
      () =>
        new ReconnectingSocket(URL, {
          WebSocket: fake.WebSocket,
          autoConnect: false,
          codec: rawCodec,
          reliable: reliable(),
        }),
      'INVALID_OPTIONS',
      /jsonCodec/,
    )
  })
})

describe('reliable(): displaced (close 4010)', () => {
  it('ends the socket with DISPLACED instead of resuming, and reports what was in doubt', () => {
    const { fake, socket, ws } = start()
    const lost: SessionLost[] = []
    const closes: unknown[] = []
    socket.on('sessionlost', (event) => lost.push(event))
    socket.on('close', (event) => closes.push(event))
    socket.send('a', 1)
    ws.serverClose(4010, 'displaced')
    expect(socket.state).toBe('closed')
    expect(socket.getSnapshot().lastError?.code).toBe('DISPLACED')
    expect(closes).toEqual([
      { code: 4010, reason: 'displaced', wasClean: true, willReconnect: false },
    ])
    expect(lost).toHaveLength(1)
    expect(lost[0]).toMatchObject({ reason: 'displaced', previousSid: 's1', sid: null })
    expect(lost[0]?.inDoubt.map((frame) => frame.seq)).toEqual([1])
    vi.advanceTimersByTime(60_000)
    expect(fake.sockets).toHaveLength(1)
    expect(harness.expectErrors((error) => error.code === 'DISPLACED')).toHaveLength(1)
  })

  it('ends with DISPLACED also when 4010 comes while the resume waits for $session', () => {
    const { fake, socket } = start()
    const next = cutAndReopen(fake)
    next.serverClose(4010, 'displaced')
    expect(socket.state).toBe('closed')
    expect(socket.getSnapshot().lastError?.code).toBe('DISPLACED')
    harness.expectErrors((error) => error.code === 'DISPLACED')
  })

  it('is an ordinary application close code without the reliable mode: the socket reconnects', () => {
    const fake = fakeWebSocketFactory()
    const socket = harness.track(
      new ReconnectingSocket(URL, { WebSocket: fake.WebSocket, network: false, retry: () => 100 }),
    )
    socket.connect()
    fake.last().open()
    fake.last().serverClose(4010, 'displaced')
    expect(socket.state).toBe('reconnecting')
  })
})

describe('reliable(): timeouts and server bounds', () => {
  it('a request that timed out stays in the log: replayed if the server never committed it, its late answer ignored', async () => {
    const { fake, socket, ws } = start({}, { requests: requests({ timeoutMs: 1000 }) })
    let outcome: unknown
    socket.request('slow', 1).catch((error: SocketError) => {
      outcome = error.code
    })
    const [frame] = appFrames(ws)
    vi.advanceTimersByTime(1000)
    await settle()
    expect(outcome).toBe('REQUEST_TIMEOUT')
    const next = cutAndReopen(fake)
    session(next, { sid: 's1', resumed: true, in: 0, out: 0 })
    // It may still run: the server never had it, so it gets it, under its seq.
    expect(appFrames(next)).toEqual([frame])
    next.receive({ type: 'slow', re: frame?.id, seq: 1, data: 'late' })
    await settle()
    expect(outcome).toBe('REQUEST_TIMEOUT')
  })

  it('a close with 4008 (a server bound) reconnects and resumes: $session says whether the session went on', () => {
    const { fake, socket, ws } = start()
    socket.send('a', 1)
    ws.serverClose(4008, 'unacked limit')
    expect(socket.state).toBe('reconnecting')
    const next = cutAndReopen(fake)
    expect(sent(next)[0]).toMatchObject({ type: '$resume', data: { sid: 's1', acked: 0 } })
    session(next, { sid: 's1', resumed: true, in: 0, out: 0 })
    expect(appFrames(next).map((frame) => frame.seq)).toEqual([1])
  })
})
