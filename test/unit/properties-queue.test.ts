import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import {
  type DropReason,
  type Frame,
  fromDelays,
  jsonCodec,
  type QueuedMessage,
  type QueueOptions,
  ReconnectingSocket,
  requests,
  SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { type FakeWebSocket, fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { expectSocketError, unitHarness } from '../helpers/unit-harness.ts'

// Property-based tests of the send queue, driven only through the public API of
// ReconnectingSocket: fast-check generates queue options and a sequence of operations
// (sends of every frame kind, requests, flush, takeQueued/adoptQueued, close/connect,
// the server opening, failing and dropping, time passing) and a model of the queue checks,
// after every operation, that no message is lost or duplicated, that what is written keeps
// FIFO order across reconnects, and that the byte/count bounds and statistics hold.
// The seeds are fixed so that CI runs the same cases every time; a failure prints the
// shrunk sequence of operations.

const URL = 'ws://properties.test/queue'
const harness = unitHarness()

const utf8 = new TextEncoder()

/** What the queue should count for a frame: UTF-8 bytes of text, byte length of binary. */
function realBytes(frame: Frame): number {
  if (typeof frame === 'string') return utf8.encode(frame).length
  if (frame instanceof Blob) return frame.size
  return (frame as ArrayBufferView | ArrayBuffer).byteLength
}

/** Lets promise callbacks and the socket's microtasks (snapshot queue count) run. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

// ── Operations ──────────────────────────────────────────────────────────────────────

type RawKind = 'text' | 'uint8' | 'arraybuffer' | 'dataview' | 'blob'

type Op =
  | { op: 'send'; text: string }
  | { op: 'raw'; kind: RawKind; text: string }
  | { op: 'odd'; value: unknown }
  | { op: 'request'; timeoutMs: number; idempotent: boolean }
  | { op: 'flush' }
  | { op: 'take' }
  | { op: 'adopt'; pick: readonly boolean[]; reverse: boolean }
  | { op: 'close'; code: number }
  | { op: 'connect' }
  | { op: 'open' }
  | { op: 'serverClose'; code: number }
  | { op: 'fail' }
  | { op: 'advance'; ms: number }
  | { op: 'drainBuffer' }

const text = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  // Lone surrogates go out as U+FFFD (3 bytes): the byte count must agree.
  fc.constantFrom('\uD800', '\uDC00x', '😀', 'é'.repeat(40), 'x'.repeat(250)),
)

/** Values that are not frames: `sendRaw` must refuse them, not queue a NaN byte count. */
const notAFrame = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constantFrom(null, undefined, Symbol('s'), 10n, () => 'x'),
  fc.object({ maxDepth: 1 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({ byteLength: 3 }),
  fc.constant({ size: 'big' }),
)

const validOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('send' as const), text }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('raw' as const),
      kind: fc.constantFrom<RawKind>('text', 'text', 'uint8', 'arraybuffer', 'dataview', 'blob'),
      text,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('request' as const),
      timeoutMs: fc.integer({ min: 1, max: 5000 }),
      idempotent: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'take' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('adopt' as const),
      // Which of the held messages to adopt (cycled), most often all of them.
      pick: fc.oneof(fc.constant([true]), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 })),
      reverse: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('close' as const),
      code: fc.constantFrom(1000, 3000, 4999),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: 'connect' as const }) },
  { weight: 5, arbitrary: fc.constant({ op: 'open' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('serverClose' as const),
      code: fc.constantFrom(1006, 1006, 1001, 1011, 1013, 4000, 1000),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'fail' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 40, max: 4000 })),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: 'drainBuffer' as const }) },
)

/** The operations above, with a value that is not a frame handed to `sendRaw` now and then. */
const withOddOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: validOpArb },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('odd' as const), value: notAFrame }) },
)

interface Config {
  queue: QueueOptions | false
  highWaterMarkBytes: number | undefined
  /** How much each written frame adds to the fake socket's `bufferedAmount` (backpressure). */
  bytesPerWrite: number
  requestTimeoutMs: number | undefined
}

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined })

const configArb: fc.Arbitrary<Config> = fc.record({
  queue: fc.oneof(
    { weight: 1, arbitrary: fc.constant(false as const) },
    {
      weight: 6,
      arbitrary: fc.record({
        maxMessages: optional(fc.integer({ min: 1, max: 8 })),
        maxBytes: optional(fc.integer({ min: 1, max: 700 })),
        ttlMs: optional(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 }))),
        overflow: optional(fc.constantFrom('drop-oldest', 'drop-newest', 'reject' as const)),
      }),
    },
  ),
  highWaterMarkBytes: optional(fc.integer({ min: 0, max: 400 })),
  bytesPerWrite: fc.constantFrom(0, 0, 40, 300),
  requestTimeoutMs: optional(fc.integer({ min: 1, max: 20_000 })),
})

// ── The model ───────────────────────────────────────────────────────────────────────

interface Tracked {
  id: number
  kind: 'send' | 'raw' | 'request'
  type: string | undefined
  bytes: number
  writes: number
  drops: DropReason[]
  /** Handed back by takeQueued() and not adopted again: the test holds it. */
  held: QueuedMessage | null
  /** Requests: how the promise settled. */
  settled: { error?: unknown } | null
  /** A queued request that a later message overtook: it must have timed out. */
  overtaken: boolean
  /** Requests: sent again after a reconnect (`idempotent: true`). */
  idempotent: boolean
  /** An idempotent request written on the current connection, awaiting its response. */
  inFlight: boolean
  /** How often a lost connection put it back in the queue. */
  requeues: number
}

const REQUEST_ID_LENGTH = 21 // nanoid's default size

/** A printable form of any value, even one whose own toString throws. */
function show(value: unknown): string {
  try {
    return typeof value === 'symbol' ? value.toString() : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/**
 * Runs one generated case and returns the violations it found (empty when every
 * invariant held). Nothing throws from inside the socket's callbacks: a throw there would
 * be caught by the socket and reported as an `error` event instead of failing the case.
 */
async function runCase(config: Config, ops: Op[]): Promise<string[]> {
  const violations: string[] = []
  const fail = (what: string) => violations.push(what)
  const tracked: Tracked[] = []
  const byBinary = new Map<object, Tracked>()
  /** The model of the queue, oldest first. */
  let queue: Tracked[] = []
  const flushes: { settled: boolean; error?: unknown }[] = []
  const fake = fakeWebSocketFactory()
  const Base = fake.WebSocket as unknown as typeof FakeWebSocket

  const identify = (data: unknown): Tracked | undefined => {
    if (typeof data === 'object' && data !== null) return byBinary.get(data)
    if (typeof data !== 'string') return undefined
    if (data.startsWith('r')) return tracked[Number(data.slice(1, data.indexOf('|')))]
    try {
      const envelope = JSON.parse(data) as { type: string; data?: { n?: number } }
      const entry = tracked[envelope.data?.n ?? -1]
      return entry && entry.type === envelope.type ? entry : undefined
    } catch {
      return undefined
    }
  }

  class Logged extends Base {
    override send(data: Frame): void {
      super.send(data)
      this.bufferedAmount += config.bytesPerWrite
      const entry = identify(data)
      if (!entry) return void fail(`wrote a frame that was never sent: ${show(data)}`)
      if (entry.writes > entry.requeues || entry.drops.length || entry.held)
        fail(`#${entry.id} written after being written/dropped/taken`)
      entry.writes++
      entry.inFlight = entry.idempotent
      const at = queue.indexOf(entry)
      if (at < 0) return void fail(`#${entry.id} written but not queued`)
      // FIFO: only a request that timed out may be left behind.
      for (const ahead of queue.slice(0, at)) {
        if (ahead.kind === 'request') ahead.overtaken = true
        else fail(`#${entry.id} written before #${ahead.id}, which was queued ahead of it`)
      }
      queue = queue.slice(at + 1)
    }
  }

  const queueOption = config.queue
  const socket = new ReconnectingSocket(URL, {
    WebSocket: Logged as unknown as SocketOptions['WebSocket'],
    network: false,
    autoConnect: false,
    retry: fromDelays([50, 300], { repeatLast: true }),
    queue: queueOption,
    highWaterMarkBytes: config.highWaterMarkBytes,
    requests: requests({ timeoutMs: config.requestTimeoutMs }),
  })
  // The documented defaults for what the case leaves out.
  const {
    maxMessages = Infinity,
    maxBytes = 16 * 1024 * 1024,
    overflow = 'drop-oldest',
  }: QueueOptions = queueOption || {}

  // A lost connection puts the idempotent requests in flight back at the front, in the order
  // they were made (with `queue: false` they fail instead).
  const requeue = (entries: Tracked[]) => {
    for (const entry of entries) {
      entry.inFlight = false
      entry.requeues++
    }
    if (queueOption) queue = [...entries, ...queue]
  }
  socket.on('state', ({ from, to }) => {
    if (from === 'open' && to === 'reconnecting')
      requeue(tracked.filter((entry) => entry.inFlight && !entry.settled))
  })
  socket.on('error', (error) => {
    if (!(error instanceof SocketError) || error.code === 'HANDLER_FAILED')
      fail(`unexpected error event: ${show(error)}`)
  })
  socket.on('drop', ({ message, reason }) => {
    const entry = identify(message.data)
    if (!entry) return void fail(`dropped a frame that was never sent: ${show(message.data)}`)
    // Requeued by the lost connection, then found not to fit (before `state` says so).
    if (entry.inFlight) requeue([entry])
    if (entry.writes > entry.requeues || entry.drops.length || entry.held)
      fail(`#${entry.id} dropped (${reason}) after being written/dropped/taken`)
    entry.drops.push(reason)
    if (message.bytes !== entry.bytes)
      fail(`#${entry.id} dropped with bytes ${message.bytes}, expected ${entry.bytes}`)
    if (message.type !== entry.type) fail(`#${entry.id} dropped with type ${message.type}`)
    const at = queue.indexOf(entry)
    if (at < 0) fail(`#${entry.id} dropped (${reason}) but not queued`)
    else queue.splice(at, 1)
  })

  const track = (kind: Tracked['kind'], type: string | undefined, bytes: number): Tracked => {
    const entry: Tracked = {
      id: tracked.length,
      kind,
      type,
      bytes,
      writes: 0,
      drops: [],
      held: null,
      settled: null,
      overtaken: false,
      idempotent: false,
      inFlight: false,
      requeues: 0,
    }
    tracked.push(entry)
    // Tentatively at the back of the queue: the call's result says where it went.
    queue.push(entry)
    return entry
  }

  /** Submits through `send()`/`sendRaw()` and checks the result against what happened. */
  const submit = (entry: Tracked, call: () => string) => {
    let result: string
    try {
      result = call()
    } catch (error) {
      const full = error instanceof SocketError && error.code === 'QUEUE_FULL'
      if (!full) return void fail(`#${entry.id}: send threw ${show(error)}`)
      if (overflow !== 'reject') fail(`#${entry.id}: QUEUE_FULL under ${overflow}`)
      if (entry.drops.join() !== 'overflow') fail(`#${entry.id}: QUEUE_FULL without its drop`)
      return
    }
    if (result === 'sent' && entry.writes !== 1) fail(`#${entry.id}: 'sent' but not written`)
    if (result === 'queued' && (entry.writes || entry.drops.length || !queue.includes(entry)))
      fail(`#${entry.id}: 'queued' but not in the queue`)
    if (result === 'dropped' && entry.drops.length !== 1)
      fail(`#${entry.id}: 'dropped' without a drop event`)
  }

  const current = (): FakeWebSocket | undefined => {
    const ws = fake.sockets.at(-1)
    return ws && ws.handlerCount > 0 ? ws : undefined
  }

  const check = async (step: string, afterAdvanceMs: number) => {
    await microtasks()
    // A queued request leaves the queue when it times out, or when close() rejects it
    // (its promise says so, not a `drop`); the model learns it here.
    queue = queue.filter((entry) => {
      if (entry.kind !== 'request' || !entry.settled) return true
      const code = (entry.settled.error as SocketError)?.code
      const closed = code === 'CLOSED' || code === 'CLOSED_BY_SERVER'
      if (code !== 'REQUEST_TIMEOUT' && !(closed && socket.state === 'closed'))
        fail(`#${entry.id}: queued request rejected with ${show(entry.settled.error)}`)
      return false
    })
    const { queuedMessages, queuedBytes } = socket.stats
    const bytes = queue.reduce((sum, entry) => sum + entry.bytes, 0)
    if (!(Number.isFinite(queuedBytes) && queuedBytes >= 0))
      fail(`${step}: stats.queuedBytes is ${queuedBytes}`)
    if (queuedMessages !== queue.length)
      fail(`${step}: stats.queuedMessages ${queuedMessages}, model ${queue.length}`)
    if (queuedBytes !== bytes) fail(`${step}: stats.queuedBytes ${queuedBytes}, model ${bytes}`)
    if (queuedMessages > maxMessages) fail(`${step}: ${queuedMessages} > maxMessages`)
    if (queuedBytes > maxBytes) fail(`${step}: ${queuedBytes} bytes > maxBytes`)
    if (socket.getSnapshot().queuedMessages !== queuedMessages)
      fail(`${step}: snapshot.queuedMessages ${socket.getSnapshot().queuedMessages}`)
    if (socket.state === 'closed') {
      if (vi.getTimerCount() !== 0) fail(`${step}: ${vi.getTimerCount()} timers while closed`)
      if (queue.length) fail(`${step}: closed with ${queue.length} messages queued`)
    }
    const ws = current()
    if (
      afterAdvanceMs >= 100 &&
      socket.state === 'open' &&
      queuedMessages === 0 &&
      ws?.bufferedAmount === 0 &&
      flushes.some((f) => !f.settled)
    )
      fail(`${step}: flush() still pending with nothing queued or buffered`)
  }

  try {
    for (const [index, op] of ops.entries()) {
      const step = `op ${index} (${op.op})`
      let advancedMs = 0
      switch (op.op) {
        case 'send': {
          const entry = track('send', 't', 0)
          const data = { n: entry.id, text: op.text }
          entry.bytes = realBytes(jsonCodec.encode({ type: 't', data }))
          submit(entry, () => socket.send('t', data))
          break
        }
        case 'raw': {
          const entry = track('raw', undefined, 0)
          const body = `r${entry.id}|${op.text}`
          const encoded = utf8.encode(body)
          const frame: Frame =
            op.kind === 'text'
              ? body
              : op.kind === 'uint8'
                ? encoded
                : op.kind === 'arraybuffer'
                  ? encoded.buffer
                  : op.kind === 'dataview'
                    ? new DataView(encoded.buffer, 1)
                    : new Blob([encoded])
          if (typeof frame === 'object') byBinary.set(frame, entry)
          entry.bytes = realBytes(frame)
          submit(entry, () => socket.sendRaw(frame))
          break
        }
        case 'odd': {
          const before = socket.stats
          let thrown: unknown
          try {
            socket.sendRaw(op.value as Frame)
          } catch (error) {
            thrown = error
          }
          if (!(thrown instanceof SocketError && thrown.code === 'INVALID_OPTIONS'))
            fail(`${step}: sendRaw(${show(op.value)}) did not throw INVALID_OPTIONS`)
          const after = socket.stats
          if (
            after.queuedBytes !== before.queuedBytes ||
            after.queuedMessages !== before.queuedMessages ||
            after.messagesSent !== before.messagesSent ||
            after.messagesDropped !== before.messagesDropped
          )
            fail(`${step}: sendRaw(${show(op.value)}) changed the queue or the counters`)
          break
        }
        case 'request': {
          const entry = track('request', 'rq', 0)
          const data = { n: entry.id }
          entry.bytes = realBytes(
            jsonCodec.encode({ type: 'rq', id: 'x'.repeat(REQUEST_ID_LENGTH), data }),
          )
          entry.idempotent = op.idempotent
          const options = { timeoutMs: op.timeoutMs, idempotent: op.idempotent }
          socket.request('rq', data, options).then(
            () => {
              entry.settled = {}
              fail(`#${entry.id}: request resolved without a response`)
            },
            (error: unknown) => {
              entry.settled = { error }
            },
          )
          break
        }
        case 'flush': {
          const record: (typeof flushes)[number] = { settled: false }
          flushes.push(record)
          socket.flush().then(
            () => {
              record.settled = true
            },
            (error: unknown) => {
              record.settled = true
              record.error = error
            },
          )
          break
        }
        case 'take': {
          const expected = queue.filter((entry) => entry.kind !== 'request')
          const requests = queue.filter((entry) => entry.kind === 'request')
          queue = []
          const taken = socket.takeQueued()
          const got = taken.map((message) => identify(message.data))
          if (got.map((e) => e?.id).join() !== expected.map((e) => e.id).join())
            fail(`${step}: took [${got.map((e) => e?.id)}], queued [${expected.map((e) => e.id)}]`)
          for (const [i, message] of taken.entries()) {
            const entry = got[i]
            if (!entry) continue
            entry.held = message
            if (message.bytes !== entry.bytes || message.type !== entry.type)
              fail(`${step}: #${entry.id} taken as ${message.bytes} B "${message.type}"`)
          }
          await microtasks()
          for (const request of requests) {
            const code = (request.settled?.error as SocketError | undefined)?.code
            if (code !== 'DROPPED' && code !== 'REQUEST_TIMEOUT')
              fail(`${step}: taken request #${request.id} settled with ${code}`)
          }
          break
        }
        case 'adopt': {
          const held = tracked.filter((entry) => entry.held)
          let chosen = held.filter((_, i) => op.pick[i % op.pick.length])
          if (op.reverse) chosen = chosen.reverse()
          const messages = chosen.map((entry) => entry.held as QueuedMessage)
          for (const entry of chosen) entry.held = null
          queue = [...chosen, ...queue]
          socket.adoptQueued(messages)
          break
        }
        case 'close':
          socket.close(op.code)
          if (socket.state !== 'closed') fail(`${step}: state ${socket.state} after close()`)
          break
        case 'connect':
          socket.connect()
          break
        case 'open': {
          const ws = current()
          if (ws?.readyState === 0) ws.open()
          break
        }
        case 'serverClose': {
          const ws = current()
          if (ws && ws.readyState <= 1) ws.serverClose(op.code)
          break
        }
        case 'fail':
          current()?.fail()
          break
        case 'advance':
          await vi.advanceTimersByTimeAsync(op.ms)
          advancedMs = op.ms
          break
        case 'drainBuffer': {
          const ws = current()
          if (ws) ws.bufferedAmount = 0
          break
        }
      }
      await check(step, advancedMs)
      if (violations.length) return violations
    }

    socket.close()
    if (socket.state !== 'closed') fail(`final close(): state ${socket.state}`)
    const after = track('raw', undefined, 0)
    after.bytes = realBytes(`r${after.id}|`)
    const result = socket.sendRaw(`r${after.id}|`)
    if (result !== 'dropped') fail(`send() after close() returned ${result}`)
    await check('after close()', 0)
    for (const entry of tracked) {
      const fates = entry.writes + entry.drops.length + (entry.held ? 1 : 0)
      if (entry.kind !== 'request' && fates !== 1)
        fail(
          `#${entry.id}: written ${entry.writes}×, dropped [${entry.drops}], held ${!!entry.held}`,
        )
      if (entry.kind === 'request') {
        if (fates > 1 + entry.requeues)
          fail(`request #${entry.id}: written ${entry.writes}×, dropped [${entry.drops}]`)
        if (!entry.settled) fail(`request #${entry.id} never settled`)
        if (entry.overtaken && entry.writes) fail(`request #${entry.id} overtaken, then written`)
        const code = (entry.settled?.error as SocketError | undefined)?.code
        if (entry.overtaken && code !== 'REQUEST_TIMEOUT')
          fail(`request #${entry.id} overtaken in the queue, then settled with ${code}`)
      }
    }
    if (flushes.some((f) => !f.settled)) fail('a flush() never settled')
    return violations
  } finally {
    socket.close()
    vi.clearAllTimers()
  }
}

function queueProperty(ops: fc.Arbitrary<Op>) {
  // Most cases start connecting (and often open) so that the ops run against live sockets.
  const start = fc.constantFrom<Op[]>([], [{ op: 'connect' }], [{ op: 'connect' }, { op: 'open' }])
  const list = fc
    .tuple(start, fc.array(ops, { minLength: 1, maxLength: 60, size: 'medium' }))
    .map(([head, tail]) => [...head, ...tail])
  return fc.asyncProperty(configArb, list, async (config, list) => {
    vi.clearAllTimers()
    const violations = await runCase(config, list)
    if (violations.length) throw new Error(violations.slice(0, 5).join('\n'))
  })
}

describe('the send queue, property-based', () => {
  it('loses nothing, duplicates nothing, keeps FIFO order, bounds and counters', async () => {
    await fc.assert(queueProperty(validOpArb), { seed: 0x5e4d, numRuns: 250 })
  }, 30_000)

  it('refuses a value that is not a frame with INVALID_OPTIONS, and the queue stays sound', async () => {
    await fc.assert(queueProperty(withOddOpArb), { seed: 0x0dd, numRuns: 100 })
  }, 30_000)
})

// ── Pinned examples ─────────────────────────────────────────────────────────────────

function setup(options: SocketOptions = {}) {
  const fake = fakeWebSocketFactory()
  const socket = harness.track(
    new ReconnectingSocket(URL, {
      requests: requests(),
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      retry: fromDelays([100], { repeatLast: true }),
      ...options,
    }),
  )
  const drops: { data: Frame; reason: DropReason }[] = []
  socket.on('drop', ({ message, reason }) => drops.push({ data: message.data, reason }))
  return { fake, socket, drops }
}

const NOT_FRAMES: unknown[] = [
  123,
  Number.NaN,
  {},
  null,
  undefined,
  true,
  [1, 2],
  { byteLength: 3 },
]

describe('the send queue, cases the properties found', () => {
  it('sendRaw() refuses a value that is not a frame, offline and open, and maxBytes still holds', () => {
    const { fake, socket, drops } = setup({ queue: { maxBytes: 10 } })
    socket.connect()
    for (const value of NOT_FRAMES)
      expectSocketError(() => socket.sendRaw(value as Frame), 'INVALID_OPTIONS')
    expect(socket.stats).toMatchObject({ queuedMessages: 0, queuedBytes: 0, messagesDropped: 0 })
    expect(socket.sendRaw('12345678')).toBe('queued')
    // The byte bound still works: the second message evicts the first.
    expect(socket.sendRaw('abcdefgh')).toBe('queued')
    expect(drops).toEqual([{ data: '12345678', reason: 'overflow' }])
    expect(socket.stats.queuedBytes).toBe(8)
    const ws = fake.last()
    ws.open()
    for (const value of NOT_FRAMES)
      expectSocketError(() => socket.sendRaw(value as Frame), 'INVALID_OPTIONS')
    expect(ws.sent).toEqual(['abcdefgh'])
    expect(socket.stats.messagesSent).toBe(1)
  })

  it('a message that expires updates snapshot.queuedMessages, as stats do', async () => {
    const { socket, drops } = setup({ queue: { ttlMs: 100 } })
    socket.connect()
    socket.sendRaw('a')
    await microtasks()
    expect(socket.getSnapshot().queuedMessages).toBe(1)
    await vi.advanceTimersByTimeAsync(150)
    expect(drops).toEqual([{ data: 'a', reason: 'expired' }])
    expect(socket.stats.queuedMessages).toBe(0)
    expect(socket.getSnapshot().queuedMessages).toBe(0)
  })

  it('a message found expired by a later send updates snapshot.queuedMessages too', async () => {
    const { socket, drops } = setup({ queue: { ttlMs: 100, maxBytes: 5 } })
    socket.connect()
    socket.sendRaw('a')
    await microtasks()
    expect(socket.getSnapshot().queuedMessages).toBe(1)
    // Time moves on without the TTL timer firing yet: the next send finds `a` expired, and is
    // itself too large to be queued.
    vi.setSystemTime(Date.now() + 500)
    expect(socket.sendRaw('123456')).toBe('dropped')
    await microtasks()
    expect(drops.map((d) => d.reason)).toEqual(['expired', 'overflow'])
    expect(socket.stats.queuedMessages).toBe(0)
    expect(socket.getSnapshot().queuedMessages).toBe(0)
  })

  for (const queue of [{ maxMessages: 1 }, { maxBytes: 40 }]) {
    it(`idempotent requests put back after a lost connection respect ${JSON.stringify(queue)}`, async () => {
      const { fake, socket, drops } = setup({ queue })
      socket.connect()
      fake.last().open()
      const outcomes = ['a', 'b'].map((type) =>
        socket.request(type, 'x'.repeat(20), { idempotent: true }).then(
          () => 'answered',
          (error: SocketError) => error.code,
        ),
      )
      fake.last().serverClose(1006)
      const { queuedMessages, queuedBytes } = socket.stats
      expect(queuedMessages).toBeLessThanOrEqual(queue.maxMessages ?? Infinity)
      expect(queuedBytes).toBeLessThanOrEqual(queue.maxBytes ?? Infinity)
      // What was not kept is reported, and its request fails now rather than at its timeout.
      expect(drops.length + queuedMessages).toBe(2)
      expect(drops.every((drop) => drop.reason === 'overflow')).toBe(true)
      socket.close()
      expect(await Promise.all(outcomes)).not.toContain('answered')
    })
  }

  it('adoptQueued() measures what it adopts instead of trusting `bytes`', () => {
    const { socket } = setup({ queue: { maxBytes: 10 } })
    socket.connect()
    const now = Date.now()
    socket.adoptQueued([
      { data: 'abc', type: undefined, bytes: Number.NaN, queuedAt: now },
      { data: 'defg', type: 'x', bytes: -50, queuedAt: now },
    ])
    expect(socket.stats).toMatchObject({ queuedMessages: 2, queuedBytes: 7 })
    // A lie about the size cannot get past maxBytes either.
    socket.adoptQueued([{ data: 'hijklmno', type: undefined, bytes: 0, queuedAt: now }])
    expect(socket.stats.queuedBytes).toBeLessThanOrEqual(10)
  })

  it('adoptQueued() of a message whose data is not a frame refuses or drops it, never queues it', () => {
    const { socket, drops } = setup()
    socket.connect()
    let thrown: unknown
    try {
      socket.adoptQueued([
        { data: 123 as unknown as Frame, type: undefined, bytes: 3, queuedAt: 0 },
      ])
    } catch (error) {
      thrown = error
    }
    const refused = thrown instanceof SocketError && thrown.code === 'INVALID_OPTIONS'
    expect(refused || drops.length === 1).toBe(true)
    expect(socket.stats).toMatchObject({ queuedMessages: 0, queuedBytes: 0 })
  })
})
