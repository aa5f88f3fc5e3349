import { describe, expect, it, vi } from 'vitest'
import {
  auth,
  type DropReason,
  type Frame,
  fromDelays,
  ReconnectingSocket,
  type SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { type FakeWebSocket, fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { unitHarness } from '../helpers/unit-harness.ts'

const URL = 'ws://queue.test/'

/** Every `error` event of the socket under test; a listener that threw (an `expect` inside one) lands here. */
const harness = unitHarness()

function setup(options: SocketOptions = {}) {
  const fake = fakeWebSocketFactory()
  const socket = new ReconnectingSocket(URL, {
    WebSocket: fake.WebSocket,
    network: false,
    autoConnect: false,
    retry: fromDelays([100], { repeatLast: true }),
    ...options,
  })
  harness.track(socket)
  const drops: { data: Frame; reason: DropReason }[] = []
  socket.on('drop', ({ message, reason }) => drops.push({ data: message.data, reason }))
  return { fake, socket, drops }
}

/** Lets the async part of an attempt (URL and token providers) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

const utf8 = (text: string): number => new TextEncoder().encode(text).length

/** Makes every frame written to `ws` fill its buffer, as a slow peer would. */
function fillOnWrite(ws: FakeWebSocket, bytesPerFrame: number): void {
  const write = ws.send.bind(ws)
  ws.send = (data: Frame) => {
    write(data)
    ws.bufferedAmount += bytesPerFrame
  }
}

describe('send() and sendRaw() results', () => {
  it("return 'queued' before the connection is open, 'sent' once it is, 'dropped' after close()", () => {
    const { fake, socket, drops } = setup()
    socket.connect()
    expect(socket.send('chat', { text: 'early' })).toBe('queued')
    expect(socket.sendRaw('raw-early')).toBe('queued')
    const ws = fake.last()
    expect(ws.sent).toEqual([])

    ws.open()
    expect(socket.send('chat', { text: 'late' })).toBe('sent')
    expect(socket.sendRaw('raw-late')).toBe('sent')
    expect(ws.sent).toEqual([
      '{"type":"chat","data":{"text":"early"}}',
      'raw-early',
      '{"type":"chat","data":{"text":"late"}}',
      'raw-late',
    ])
    expect(socket.stats.messagesSent).toBe(4)

    socket.close()
    expect(socket.send('chat', { text: 'after' })).toBe('dropped')
    expect(socket.sendRaw('raw-after')).toBe('dropped')
    expect(drops).toEqual([
      { data: '{"type":"chat","data":{"text":"after"}}', reason: 'closed' },
      { data: 'raw-after', reason: 'closed' },
    ])
    expect(ws.sent).toHaveLength(4)
    expect(socket.stats.messagesDropped).toBe(2)
  })

  it('never throw for a connection reason: sending in every state returns a result', () => {
    const { fake, socket } = setup()
    const results = [socket.sendRaw('idle')]
    socket.connect()
    results.push(socket.sendRaw('connecting'))
    fake.last().open()
    results.push(socket.sendRaw('open'))
    fake.last().serverClose(1006)
    expect(socket.state).toBe('reconnecting')
    results.push(socket.sendRaw('reconnecting'))
    socket.close()
    results.push(socket.sendRaw('closed'))
    expect(results).toEqual(['queued', 'queued', 'sent', 'queued', 'dropped'])
  })

  it('accepts sends again after close() then connect()', () => {
    const { fake, socket, drops } = setup()
    socket.connect()
    socket.close()
    expect(socket.sendRaw('while-closed')).toBe('dropped')
    socket.connect()
    expect(socket.sendRaw('reconnected')).toBe('queued')
    fake.last().open()
    expect(fake.last().sent).toEqual(['reconnected'])
    expect(drops).toEqual([{ data: 'while-closed', reason: 'closed' }])
  })
})

describe('overflow policies', () => {
  it("drop-oldest evicts the oldest queued message with reason 'overflow'", () => {
    const { fake, socket, drops } = setup({ queue: { maxMessages: 2, overflow: 'drop-oldest' } })
    socket.connect()
    expect(socket.sendRaw('a')).toBe('queued')
    expect(socket.sendRaw('b')).toBe('queued')
    expect(socket.sendRaw('c')).toBe('queued')
    expect(socket.sendRaw('d')).toBe('queued')
    expect(drops).toEqual([
      { data: 'a', reason: 'overflow' },
      { data: 'b', reason: 'overflow' },
    ])
    expect(socket.stats.queuedMessages).toBe(2)
    fake.last().open()
    expect(fake.last().sent).toEqual(['c', 'd'])
  })

  it('drop-oldest is the default', () => {
    const { fake, socket, drops } = setup({ queue: { maxMessages: 1 } })
    socket.connect()
    socket.sendRaw('old')
    expect(socket.sendRaw('new')).toBe('queued')
    expect(drops).toEqual([{ data: 'old', reason: 'overflow' }])
    fake.last().open()
    expect(fake.last().sent).toEqual(['new'])
  })

  it("drop-newest refuses the new message: 'dropped', reported with reason 'overflow'", () => {
    const { fake, socket, drops } = setup({ queue: { maxMessages: 2, overflow: 'drop-newest' } })
    socket.connect()
    expect(socket.sendRaw('a')).toBe('queued')
    expect(socket.sendRaw('b')).toBe('queued')
    expect(socket.sendRaw('c')).toBe('dropped')
    expect(socket.send('typed', 1)).toBe('dropped')
    expect(drops).toEqual([
      { data: 'c', reason: 'overflow' },
      { data: '{"type":"typed","data":1}', reason: 'overflow' },
    ])
    fake.last().open()
    expect(fake.last().sent).toEqual(['a', 'b'])
  })

  it('reject throws QUEUE_FULL for the new message and still reports it as dropped', () => {
    const { fake, socket, drops } = setup({ queue: { maxMessages: 2, overflow: 'reject' } })
    socket.connect()
    socket.sendRaw('a')
    socket.sendRaw('b')
    const error = thrown(() => socket.sendRaw('c')) as SocketError
    expect(error.name).toBe('SocketError')
    expect(error.code).toBe('QUEUE_FULL')
    expect(error.details).toEqual({ queuedMessages: 2, queuedBytes: 2 })
    expect((thrown(() => socket.send('typed', 1)) as SocketError).code).toBe('QUEUE_FULL')
    expect(drops).toEqual([
      { data: 'c', reason: 'overflow' },
      { data: '{"type":"typed","data":1}', reason: 'overflow' },
    ])
    expect(socket.stats.messagesDropped).toBe(2)
    fake.last().open()
    expect(fake.last().sent).toEqual(['a', 'b'])
  })

  it('reject does not throw while the connection is open and nothing is waiting', () => {
    const { fake, socket } = setup({ queue: { maxMessages: 1, overflow: 'reject' } })
    socket.connect()
    fake.last().open()
    expect(socket.sendRaw('a')).toBe('sent')
    expect(socket.sendRaw('b')).toBe('sent')
  })
})

describe('maxBytes', () => {
  it('counts text in UTF-8 bytes, not UTF-16 code units', () => {
    const { fake, socket, drops } = setup({ queue: { maxBytes: 10, overflow: 'drop-newest' } })
    socket.connect()
    // 2 + 4 + 3 = 9 bytes, though only 1 + 2 + 1 = 4 UTF-16 units.
    expect(socket.sendRaw('é')).toBe('queued')
    expect(socket.sendRaw('😀')).toBe('queued')
    expect(socket.sendRaw('€')).toBe('queued')
    expect(socket.stats.queuedBytes).toBe(9)
    // One more 2-byte character would be 11 bytes.
    expect(socket.sendRaw('ß')).toBe('dropped')
    expect(drops).toEqual([{ data: 'ß', reason: 'overflow' }])
    expect(socket.sendRaw('a')).toBe('queued')
    expect(socket.stats.queuedBytes).toBe(10)
    fake.last().open()
    expect(fake.last().sent).toEqual(['é', '😀', '€', 'a'])
  })

  it('counts a lone surrogate as the 3-byte U+FFFD the socket sends in its place', () => {
    const { socket } = setup({ queue: { maxBytes: 100 } })
    socket.connect()
    // new TextEncoder().encode(text).length is what goes on the wire.
    for (const text of [
      '\uD800\uD800',
      '\uDC00a',
      'a\uD800',
      '\uD83D\uDE00\uD800',
      '\uDE00\uD83D',
    ]) {
      socket.sendRaw(text)
      expect(socket.stats.queuedBytes).toBe(new TextEncoder().encode(text).length)
      socket.takeQueued()
    }
  })

  it('counts binary frames by byte length: ArrayBuffer, Uint8Array, and a view into a larger buffer', () => {
    const { fake, socket, drops } = setup({ queue: { maxBytes: 16, overflow: 'drop-newest' } })
    socket.connect()
    const buffer = new ArrayBuffer(6)
    const bytes = new Uint8Array([1, 2, 3, 4])
    // Only the 5 viewed bytes count, not the 1,000-byte buffer behind them.
    const view = new Uint8Array(1000).subarray(10, 15)
    expect(socket.sendRaw(buffer)).toBe('queued')
    expect(socket.sendRaw(bytes)).toBe('queued')
    expect(socket.sendRaw(view)).toBe('queued')
    expect(socket.stats.queuedBytes).toBe(15)
    expect(socket.sendRaw(new Uint8Array(2))).toBe('dropped')
    expect(socket.sendRaw(new ArrayBuffer(1))).toBe('queued')
    expect(socket.stats.queuedBytes).toBe(16)
    expect(drops).toHaveLength(1)
    expect(drops[0]?.reason).toBe('overflow')
    fake.last().open()
    const sent = fake.last().sent
    expect(sent).toHaveLength(4)
    expect(sent[0]).toBe(buffer)
    expect(sent[1]).toBe(bytes)
    expect(sent[2]).toBe(view)
  })

  it('reports the byte size of a dropped message in the drop event', () => {
    const { socket } = setup({ queue: { maxBytes: 4, overflow: 'drop-newest' } })
    const sizes: number[] = []
    socket.on('drop', ({ message }) => sizes.push(message.bytes))
    socket.connect()
    socket.sendRaw('ü'.repeat(3))
    socket.sendRaw(new Uint8Array(7))
    expect(sizes).toEqual([6, 7])
  })

  it('a single message larger than maxBytes is dropped under every policy and evicts nothing', () => {
    for (const overflow of ['drop-oldest', 'drop-newest', 'reject'] as const) {
      const { fake, socket, drops } = setup({ queue: { maxBytes: 10, overflow } })
      socket.connect()
      socket.sendRaw('small')
      const big = 'x'.repeat(11)
      if (overflow === 'reject') {
        expect((thrown(() => socket.sendRaw(big)) as SocketError).code).toBe('QUEUE_FULL')
      } else {
        expect(socket.sendRaw(big)).toBe('dropped')
      }
      expect(drops).toEqual([{ data: big, reason: 'overflow' }])
      expect(socket.stats.queuedMessages).toBe(1)
      fake.last().open()
      expect(fake.last().sent).toEqual(['small'])
    }
  })
})

describe('ttlMs', () => {
  it("drops a message that waited ttlMs as 'expired', oldest first, and never sends it", () => {
    const { fake, socket, drops } = setup({ queue: { ttlMs: 5000 }, connectTimeoutMs: 60_000 })
    socket.connect()
    socket.sendRaw('t0')
    vi.advanceTimersByTime(3000)
    socket.sendRaw('t3000')
    vi.advanceTimersByTime(1999)
    expect(drops).toEqual([])
    vi.advanceTimersByTime(1)
    expect(drops).toEqual([{ data: 't0', reason: 'expired' }])
    expect(socket.stats.queuedMessages).toBe(1)
    vi.advanceTimersByTime(3000)
    expect(drops).toEqual([
      { data: 't0', reason: 'expired' },
      { data: 't3000', reason: 'expired' },
    ])
    expect(socket.stats.queuedMessages).toBe(0)
    expect(socket.stats.messagesDropped).toBe(2)
    // The queue's own expiry timer is gone; only the connect timeout is left.
    expect(vi.getTimerCount()).toBe(1)
    fake.last().open()
    expect(fake.last().sent).toEqual([])
  })

  it('checks the age against the wall clock when draining, even if the expiry timer has not fired', () => {
    const { fake, socket, drops } = setup({ queue: { ttlMs: 5000 }, connectTimeoutMs: 600_000 })
    socket.connect()
    socket.sendRaw('stale')
    vi.advanceTimersByTime(4000)
    socket.sendRaw('fresh')
    // The machine slept: the wall clock jumps, no timer has run yet.
    vi.setSystemTime(Date.now() + 2000)
    fake.last().open()
    expect(fake.last().sent).toEqual(['fresh'])
    expect(drops).toEqual([{ data: 'stale', reason: 'expired' }])
  })

  it('keeps messages indefinitely with the default ttlMs of 0', () => {
    const { fake, socket, drops } = setup({ connectTimeoutMs: 600_000 })
    socket.connect()
    socket.sendRaw('patient')
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(599_000)
    fake.last().open()
    expect(fake.last().sent).toEqual(['patient'])
    expect(drops).toEqual([])
  })
})

describe('queue: false', () => {
  it("drops sends while not open with reason 'not-open', sends while open", () => {
    const { fake, socket, drops } = setup({ queue: false })
    expect(socket.sendRaw('idle')).toBe('dropped')
    socket.connect()
    expect(socket.send('chat', 'connecting')).toBe('dropped')
    fake.last().open()
    expect(socket.sendRaw('open')).toBe('sent')
    fake.last().serverClose(1006)
    expect(socket.sendRaw('reconnecting')).toBe('dropped')
    expect(drops).toEqual([
      { data: 'idle', reason: 'not-open' },
      { data: '{"type":"chat","data":"connecting"}', reason: 'not-open' },
      { data: 'reconnecting', reason: 'not-open' },
    ])
    expect(socket.stats.queuedMessages).toBe(0)
    expect(fake.sockets[0]?.sent).toEqual(['open'])
    socket.close()
    expect(socket.sendRaw('closed')).toBe('dropped')
    expect(drops.at(-1)).toEqual({ data: 'closed', reason: 'closed' })
  })
})

describe('close()', () => {
  it("drops every queued message with reason 'closed', in order, and nothing is sent later", () => {
    const { fake, socket, drops } = setup()
    socket.connect()
    fake.last().open()
    fake.last().serverClose(1006)
    socket.sendRaw('a')
    socket.send('b', true)
    expect(socket.stats.queuedMessages).toBe(2)
    socket.close()
    expect(drops).toEqual([
      { data: 'a', reason: 'closed' },
      { data: '{"type":"b","data":true}', reason: 'closed' },
    ])
    expect(socket.stats.queuedMessages).toBe(0)
    expect(socket.stats.queuedBytes).toBe(0)
    expect(socket.takeQueued()).toEqual([])
    vi.advanceTimersByTime(60_000)
    expect(fake.sockets).toHaveLength(1)
  })

  it('leaves no timer behind: connect timeout, TTL expiry, backpressure polling', () => {
    const a = setup({ queue: { ttlMs: 1000 } })
    a.socket.connect()
    a.socket.sendRaw('x')
    expect(vi.getTimerCount()).toBe(2)
    a.socket.close()
    expect(vi.getTimerCount()).toBe(0)

    const b = setup({ queue: { ttlMs: 1000 }, highWaterMarkBytes: 10 })
    b.socket.connect()
    const ws = b.fake.last()
    ws.open()
    ws.bufferedAmount = 11
    expect(b.socket.sendRaw('y')).toBe('queued')
    const flushed = b.socket.flush()
    expect(vi.getTimerCount()).toBe(2)
    b.socket.close()
    expect(vi.getTimerCount()).toBe(0)
    return expect(flushed).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

describe('flush order on every (re)open', () => {
  it('sends $auth, then what open listeners send, then the queue in FIFO order, then new sends', async () => {
    const { fake, socket } = setup({
      auth: auth({ getToken: () => 'tok-1', placement: 'message' }),
      connectTimeoutMs: 60_000,
    })
    const openResults: string[] = []
    socket.on('open', ({ reconnected }) => {
      openResults.push(socket.send('hello', { reconnected }))
      openResults.push(socket.send('subscribe', 'room-1'))
    })
    socket.connect()
    expect(socket.send('q', 1)).toBe('queued')
    expect(socket.send('q', 2)).toBe('queued')
    await settle()
    const first = fake.last()
    expect(first.sent).toEqual([])
    expect(socket.send('q', 3)).toBe('queued')
    first.open()
    expect(socket.send('new', 1)).toBe('sent')
    expect(first.sentEnvelopes).toEqual([
      { type: '$auth', data: { token: 'tok-1' } },
      { type: 'hello', data: { reconnected: false } },
      { type: 'subscribe', data: 'room-1' },
      { type: 'q', data: 1 },
      { type: 'q', data: 2 },
      { type: 'q', data: 3 },
      { type: 'new', data: 1 },
    ])

    first.serverClose(1006)
    expect(socket.state).toBe('reconnecting')
    expect(socket.send('q', 4)).toBe('queued')
    vi.advanceTimersByTime(100)
    expect(socket.send('q', 5)).toBe('queued')
    await settle()
    const second = fake.last()
    expect(second).not.toBe(first)
    second.open()
    expect(socket.send('new', 2)).toBe('sent')
    expect(second.sentEnvelopes).toEqual([
      { type: '$auth', data: { token: 'tok-1' } },
      { type: 'hello', data: { reconnected: true } },
      { type: 'subscribe', data: 'room-1' },
      { type: 'q', data: 4 },
      { type: 'q', data: 5 },
      { type: 'new', data: 2 },
    ])
    expect(openResults).toEqual(['sent', 'sent', 'sent', 'sent'])
  })

  it('without auth, open-listener sends still go ahead of the queue', () => {
    const { fake, socket } = setup()
    socket.on('open', () => socket.sendRaw('hello'))
    socket.connect()
    socket.sendRaw('q1')
    socket.sendRaw('q2')
    fake.last().open()
    socket.sendRaw('new')
    expect(fake.last().sent).toEqual(['hello', 'q1', 'q2', 'new'])
  })

  it('open-listener sends go out even while the socket buffer is above the high-water mark', () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 10 })
    socket.connect()
    const ws = fake.last()
    ws.bufferedAmount = 11
    socket.on('open', () => socket.sendRaw('hello'))
    socket.sendRaw('q1')
    ws.open()
    expect(ws.sent).toEqual(['hello'])
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(100)
    expect(ws.sent).toEqual(['hello', 'q1'])
  })

  it('a send from a drop listener while the queue drains goes behind the rest of the queue', () => {
    const { fake, socket } = setup({ queue: { ttlMs: 1000 }, connectTimeoutMs: 60_000 })
    socket.on('drop', ({ message, reason }) => {
      if (reason === 'expired') socket.sendRaw(`resend:${String(message.data)}`)
    })
    socket.connect()
    socket.sendRaw('old')
    vi.advanceTimersByTime(500)
    socket.sendRaw('q1')
    socket.sendRaw('q2')
    // 'old' is past its TTL when the connection opens, but its timer has not run yet.
    vi.setSystemTime(Date.now() + 600)
    fake.last().open()
    socket.sendRaw('new')
    expect(fake.last().sent).toEqual(['q1', 'q2', 'resend:old', 'new'])
  })

  it('a send from a drop listener while not open is queued behind what is already waiting', () => {
    const { fake, socket } = setup({ queue: { ttlMs: 1000 }, connectTimeoutMs: 60_000 })
    socket.on('drop', ({ message, reason }) => {
      if (reason === 'expired') socket.sendRaw(`resend:${String(message.data)}`)
    })
    socket.connect()
    socket.sendRaw('old')
    vi.advanceTimersByTime(500)
    socket.sendRaw('q1')
    vi.advanceTimersByTime(500)
    fake.last().open()
    expect(fake.last().sent).toEqual(['q1', 'resend:old'])
  })

  it('sends made while a backed-up queue is being released never overtake it', () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 100 })
    socket.connect()
    socket.sendRaw('q1')
    socket.sendRaw('q2')
    socket.sendRaw('q3')
    const ws = fake.last()
    fillOnWrite(ws, 150)
    ws.open()
    // q1 filled the buffer: the rest waits.
    expect(ws.sent).toEqual(['q1'])
    expect(socket.sendRaw('n1')).toBe('queued')
    // The buffer drained, but the poll has not run: a new send still queues behind.
    ws.bufferedAmount = 0
    expect(socket.sendRaw('n2')).toBe('queued')
    vi.advanceTimersByTime(50)
    expect(ws.sent).toEqual(['q1', 'q2'])
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(50)
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(50)
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(50)
    expect(ws.sent).toEqual(['q1', 'q2', 'q3', 'n1', 'n2'])
    ws.bufferedAmount = 0
    expect(socket.sendRaw('n3')).toBe('sent')
    expect(ws.sent.at(-1)).toBe('n3')
  })
})

describe('backpressure', () => {
  it('queues new sends while bufferedAmount is above highWaterMarkBytes and releases them in order as it drains', async () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 100 })
    socket.connect()
    const ws = fake.last()
    ws.open()
    expect(socket.sendRaw('a')).toBe('sent')
    ws.bufferedAmount = 101
    expect(socket.sendRaw('b')).toBe('queued')
    expect(socket.sendRaw('c')).toBe('queued')
    expect(socket.sendRaw('d')).toBe('queued')
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(3)
    expect(socket.stats.queuedMessages).toBe(3)
    vi.advanceTimersByTime(1000)
    expect(ws.sent).toEqual(['a'])

    // Each frame written fills the buffer again: one frame per drain.
    fillOnWrite(ws, 150)
    ws.bufferedAmount = 100
    vi.advanceTimersByTime(50)
    expect(ws.sent).toEqual(['a', 'b'])
    ws.bufferedAmount = 40
    vi.advanceTimersByTime(50)
    expect(ws.sent).toEqual(['a', 'b', 'c'])
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(50)
    expect(ws.sent).toEqual(['a', 'b', 'c', 'd'])
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(0)
    // Nothing left to release: the polling stops.
    expect(vi.getTimerCount()).toBe(0)
  })

  it('writes queued messages in one batch up to the mark, and polls promptly while the buffer drains', () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 100 })
    socket.connect()
    const ws = fake.last()
    ws.open()
    fillOnWrite(ws, 30)
    for (let i = 0; i < 10; i++) socket.sendRaw(`m${i}`)
    // 30, 60, 90, 120 bytes buffered: the fifth frame waits for room.
    expect(ws.sent).toEqual(['m0', 'm1', 'm2', 'm3'])
    // The network drained the buffer: the next poll, 1 ms later, writes the next batch.
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(1)
    expect(ws.sent).toHaveLength(8)
  })

  it('backs the poll off while the buffer makes no progress, and resets it once it does', () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 100 })
    socket.connect()
    const ws = fake.last()
    ws.open()
    let buffered = 500
    let reads = 0
    Object.defineProperty(ws, 'bufferedAmount', {
      get: () => {
        reads++
        return buffered
      },
      set: (value: number) => {
        buffered = value
      },
    })
    socket.sendRaw('held')
    reads = 0
    // A stalled network: 0 + 1 + 2 + 4 + 8 + 16 + 32 + 32 ms between polls, not one per ms.
    vi.advanceTimersByTime(95)
    expect(ws.sent).toEqual([])
    // Three reads per poll; a poll every millisecond would make 285.
    expect(reads).toBeLessThanOrEqual(3 * 8)
    ws.bufferedAmount = 0
    // The poll is at most 32 ms apart, so the message goes out within that.
    vi.advanceTimersByTime(32)
    expect(ws.sent).toEqual(['held'])
  })

  it('holds a connected burst of 50,000 small messages under the default bounds, dropping none', () => {
    const { fake, socket, drops } = setup()
    socket.connect()
    const ws = fake.last()
    ws.open()
    // A peer slower than the producer: every frame stays in the socket's buffer for now.
    fillOnWrite(ws, 64)
    const results = new Set<string>()
    for (let i = 0; i < 50_000; i++) results.add(socket.send('tick', { i, pad: 'x'.repeat(10) }))
    expect(drops).toEqual([])
    expect(results).toEqual(new Set(['sent', 'queued']))
    ws.bufferedAmount = 0
    ws.send = (data: Frame) => ws.sent.push(data)
    vi.advanceTimersByTime(1)
    expect(ws.sent).toHaveLength(50_000)
  })

  it('defaults highWaterMarkBytes to 1 MiB', () => {
    const { fake, socket } = setup()
    socket.connect()
    const ws = fake.last()
    ws.open()
    ws.bufferedAmount = 1024 * 1024
    expect(socket.sendRaw('at the mark')).toBe('sent')
    ws.bufferedAmount = 1024 * 1024 + 1
    expect(socket.sendRaw('above the mark')).toBe('queued')
  })

  it('keeps held messages queued across a drop and sends them on the next open', () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 10 })
    socket.connect()
    const first = fake.last()
    first.open()
    first.bufferedAmount = 11
    socket.sendRaw('held-1')
    socket.sendRaw('held-2')
    first.serverClose(1006)
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(100)
    fake.last().open()
    expect(first.sent).toEqual([])
    expect(fake.last().sent).toEqual(['held-1', 'held-2'])
  })
})

describe('flush()', () => {
  it('resolves only after the queue is empty and bufferedAmount is 0', async () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 100 })
    socket.connect()
    socket.sendRaw('a')
    socket.sendRaw('b')
    let flushed = false
    const done = socket.flush().then(() => {
      flushed = true
    })
    await settle()
    expect(flushed).toBe(false)

    const ws = fake.last()
    fillOnWrite(ws, 60)
    ws.open()
    // Both written (the second pushed the buffer past the mark), but the buffer is not empty.
    expect(ws.sent).toEqual(['a', 'b'])
    await settle()
    expect(flushed).toBe(false)
    ws.bufferedAmount = 1
    vi.advanceTimersByTime(100)
    await settle()
    expect(flushed).toBe(false)
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(100)
    await done
    expect(flushed).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('waits for a backed-up queue to be released', async () => {
    const { fake, socket } = setup({ highWaterMarkBytes: 10 })
    socket.connect()
    const ws = fake.last()
    ws.open()
    ws.bufferedAmount = 11
    socket.sendRaw('a')
    let flushed = false
    const done = socket.flush().then(() => {
      flushed = true
    })
    vi.advanceTimersByTime(100)
    await settle()
    expect(flushed).toBe(false)
    expect(ws.sent).toEqual([])
    ws.bufferedAmount = 0
    vi.advanceTimersByTime(100)
    await done
    expect(ws.sent).toEqual(['a'])
  })

  it('resolves at once when nothing is queued and the socket buffer is empty', async () => {
    const { fake, socket } = setup()
    await expect(socket.flush()).resolves.toBeUndefined()
    socket.connect()
    fake.last().open()
    socket.sendRaw('a')
    await expect(socket.flush()).resolves.toBeUndefined()
  })

  it('rejects with CLOSED when close() comes first', async () => {
    const { socket, drops } = setup()
    socket.connect()
    socket.sendRaw('a')
    const flushed = socket.flush()
    socket.close()
    await expect(flushed).rejects.toMatchObject({ name: 'SocketError', code: 'CLOSED' })
    expect(drops).toEqual([{ data: 'a', reason: 'closed' }])
  })
})

describe('takeQueued()', () => {
  it('returns the queued messages in order with their metadata and empties the queue', () => {
    const { fake, socket, drops } = setup({ queue: { ttlMs: 10_000 } })
    const t0 = Date.now()
    socket.connect()
    socket.send('chat', { text: 'héllo' })
    vi.advanceTimersByTime(10)
    const binary = new Uint8Array([1, 2, 3])
    socket.sendRaw(binary)
    socket.sendRaw('raw')
    const chat = '{"type":"chat","data":{"text":"héllo"}}'
    expect(socket.stats.queuedMessages).toBe(3)
    expect(socket.stats.queuedBytes).toBe(utf8(chat) + 3 + 3)
    expect(vi.getTimerCount()).toBe(2)

    const taken = socket.takeQueued()
    expect(taken).toEqual([
      { data: chat, type: 'chat', bytes: utf8(chat), queuedAt: t0 },
      { data: binary, type: undefined, bytes: 3, queuedAt: t0 + 10 },
      { data: 'raw', type: undefined, bytes: 3, queuedAt: t0 + 10 },
    ])
    expect(taken[1]?.data).toBe(binary)
    expect(socket.stats.queuedMessages).toBe(0)
    expect(socket.stats.queuedBytes).toBe(0)
    expect(socket.takeQueued()).toEqual([])
    // Handed over, not dropped: no drop event, no expiry timer left.
    expect(drops).toEqual([])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(9000)
    fake.last().open()
    expect(fake.last().sent).toEqual([])
    expect(drops).toEqual([])
  })

  it('hands over messages that another socket then sends in the same order', () => {
    const from = setup()
    const to = setup()
    from.socket.connect()
    from.socket.sendRaw('m1')
    from.socket.send('m2', 2)
    to.socket.connect()
    to.fake.last().open()
    for (const message of from.socket.takeQueued()) to.socket.sendRaw(message.data)
    expect(to.fake.last().sent).toEqual(['m1', '{"type":"m2","data":2}'])
    from.socket.close()
    expect(from.drops).toEqual([])
  })
})

describe('snapshot.queuedMessages', () => {
  it('updates after a microtask, once per burst of sends', async () => {
    const { fake, socket } = setup()
    socket.connect()
    const notified = vi.fn()
    socket.subscribe(notified)
    socket.sendRaw('a')
    socket.sendRaw('b')
    socket.sendRaw('c')
    expect(socket.getSnapshot().queuedMessages).toBe(0)
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(3)
    expect(notified).toHaveBeenCalledTimes(1)

    fake.last().open()
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(0)
    expect(socket.getSnapshot().state).toBe('open')
  })

  it('goes back to 0 after takeQueued() and after close()', async () => {
    const { socket } = setup()
    socket.connect()
    socket.sendRaw('a')
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(1)
    socket.takeQueued()
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(0)
    socket.sendRaw('b')
    socket.sendRaw('c')
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(2)
    socket.close()
    await Promise.resolve()
    expect(socket.getSnapshot().queuedMessages).toBe(0)
  })
})

describe('adoptQueued(): moving queued messages to another socket', () => {
  it('puts them ahead of what this socket queued, keeping type and age', () => {
    const from = setup()
    const to = setup()
    from.socket.send('chat', { n: 1 })
    vi.advanceTimersByTime(500)
    from.socket.send('chat', { n: 2 })
    to.socket.send('join', 'room')
    const taken = from.socket.takeQueued()
    to.socket.adoptQueued(taken)
    const moved = to.socket.takeQueued()
    expect(moved.map((m) => m.data)).toEqual([
      '{"type":"chat","data":{"n":1}}',
      '{"type":"chat","data":{"n":2}}',
      '{"type":"join","data":"room"}',
    ])
    expect(moved.slice(0, 2)).toEqual(taken)
    expect(moved[0]?.type).toBe('chat')
  })

  it('keeps counting their TTL from when they were first queued', () => {
    const from = setup()
    const to = setup({ queue: { ttlMs: 1000 } })
    from.socket.send('chat', 'old')
    vi.advanceTimersByTime(800)
    to.socket.adoptQueued(from.socket.takeQueued())
    vi.advanceTimersByTime(200)
    expect(to.drops).toEqual([{ data: '{"type":"chat","data":"old"}', reason: 'expired' }])
  })

  it('sends them at once, in order, on an open socket', () => {
    const from = setup()
    const to = setup()
    from.socket.send('chat', 1)
    from.socket.send('chat', 2)
    to.socket.connect()
    to.fake.last().open()
    to.socket.adoptQueued(from.socket.takeQueued())
    expect(to.fake.last().sentEnvelopes.map((e) => e.data)).toEqual([1, 2])
  })

  it.each([
    ['drop-oldest', [1], ['{"type":"chat","data":2}', '{"type":"join","data":"x"}']],
    ['drop-newest', [2], ['{"type":"chat","data":1}', '{"type":"join","data":"x"}']],
    ['reject', [2], ['{"type":"chat","data":1}', '{"type":"join","data":"x"}']],
  ] as const)(
    'stays within the bounds under %s, reporting the overflow',
    (overflow, droppedData, kept) => {
      const from = setup()
      from.socket.send('chat', 1)
      from.socket.send('chat', 2)
      const to = setup({ queue: { maxMessages: 2, overflow } })
      to.socket.send('join', 'x')
      expect(() => to.socket.adoptQueued(from.socket.takeQueued())).not.toThrow()
      expect(to.drops.map((d) => [JSON.parse(String(d.data)).data, d.reason])).toEqual(
        droppedData.map((n) => [n, 'overflow']),
      )
      expect(to.socket.takeQueued().map((m) => m.data)).toEqual(kept)
    },
  )

  it('reports them as drops, without throwing, where they cannot be kept', () => {
    const from = setup()
    from.socket.send('chat', 1)
    const closed = setup()
    closed.socket.close()
    closed.socket.adoptQueued(from.socket.takeQueued())
    expect(closed.drops.map((d) => d.reason)).toEqual(['closed'])

    from.socket.send('chat', 2)
    const unqueued = setup({ queue: false })
    unqueued.socket.adoptQueued(from.socket.takeQueued())
    expect(unqueued.drops.map((d) => d.reason)).toEqual(['not-open'])
  })
})
