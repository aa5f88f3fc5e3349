import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import {
  type ConnectionState,
  type Frame,
  fromDelays,
  heartbeat,
  type QueuedMessage,
  type QueueOptions,
  ReconnectingSocket,
  requests,
  SocketError,
  type SocketEventName,
  type SocketEvents,
  type SocketOptions,
} from '../../src/index.ts'
import { type FakeWebSocket, fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { EVENT_NAMES, unitHarness } from '../helpers/unit-harness.ts'

// Re-entrant calls from every listener. A user's listener may call anything at any moment:
// close(), connect(), both, send(), request(), flush(), takeQueued()… from inside a
// `state`, `drop` or snapshot callback, while the socket is halfway through its own work.
// Whatever they call, the socket must stay sound: no throw out of an API call except the
// documented ones, no endless loop, every listener sees the same valid transitions in
// order, nothing sent is lost or duplicated, and a closed socket holds no timer.
// The seeds are fixed so that CI runs the same cases every time; a failure prints the
// shrunk case (listener scripts and operations).

const URL = 'ws://properties.test/reentrancy'
const harness = unitHarness()

/** The lifecycle as the docs give it (connection-state.ts): the moves each state may make. */
const NEXT: Record<ConnectionState, readonly ConnectionState[]> = {
  idle: ['connecting', 'closed'],
  connecting: ['open', 'reconnecting', 'closing', 'closed'],
  open: ['reconnecting', 'closing', 'closed'],
  reconnecting: ['open', 'closing', 'closed'],
  closing: ['closed'],
  closed: ['connecting'],
}

/** More drops than this from a few dozen sends is a runaway loop, not a full queue. */
const RUNAWAY_DROPS = 10_000

async function microtasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

/** A printable form of any value, even one whose own toString throws. */
function show(value: unknown): string {
  try {
    return value instanceof Error ? `${value.name}: ${value.message}` : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** `from→to` pairs must chain from `idle`, each a documented move. Returns what is wrong. */
function chainErrors(who: string, events: readonly { from: string; to: string }[]): string[] {
  const errors: string[] = []
  let at = 'idle'
  for (const { from, to } of events) {
    if (from !== at) errors.push(`${who}: saw ${from}→${to} while the last state was ${at}`)
    if (!NEXT[from as ConnectionState]?.includes(to as ConnectionState))
      errors.push(`${who}: saw the invalid transition ${from}→${to}`)
    at = to
  }
  return errors
}

/** Whether `seen` appears in `path` in the same order (repeats in `seen` collapsed). */
function isSubsequence(seen: readonly string[], path: readonly string[]): boolean {
  let i = 0
  for (const state of seen.filter((s, k) => s !== seen[k - 1])) {
    while (i < path.length && path[i] !== state) i++
    if (i === path.length) return false
  }
  return true
}

// ── Scripts ─────────────────────────────────────────────────────────────────────────

const ACTIONS = [
  'close',
  'connect',
  'closeConnect',
  'send',
  'sendRaw',
  'resend',
  'request',
  'flush',
  'take',
  'takeAdopt',
] as const
type Action = (typeof ACTIONS)[number] | 'none'

/** Every place user code runs: each lifecycle event, snapshot subscribers, message handlers. */
const LISTENERS = [...EVENT_NAMES, 'subscribe', 'handler'] as const
type ListenerKey = (typeof LISTENERS)[number]

/** What each listener does on its 1st, 2nd, … call (nothing once its script runs out). */
type Scripts = Record<ListenerKey, Action[]>

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('none' as const) },
  { weight: 4, arbitrary: fc.constantFrom(...ACTIONS) },
)

const scriptsArb: fc.Arbitrary<Scripts> = fc.record(
  Object.fromEntries(
    LISTENERS.map((key) => [key, fc.array(actionArb, { maxLength: 6 })]),
  ) as Record<ListenerKey, fc.Arbitrary<Action[]>>,
)

type Op =
  | { op: 'connect' }
  | { op: 'close' }
  | { op: 'open' }
  | { op: 'serverClose'; code: number }
  | { op: 'fail' }
  | { op: 'receive'; type: 'ev' | 'zz' }
  | { op: 'pong' }
  | { op: 'respond' }
  | { op: 'send' }
  | { op: 'sendRaw' }
  | { op: 'request' }
  | { op: 'flush' }
  | { op: 'take' }
  | { op: 'adopt' }
  | { op: 'advance'; ms: number }

const simple = <T extends Op['op']>(op: T) => fc.constant({ op }) as fc.Arbitrary<Op>

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: simple('connect') },
  { weight: 1, arbitrary: simple('close') },
  { weight: 5, arbitrary: simple('open') },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('serverClose' as const),
      code: fc.constantFrom(1006, 1001, 1013, 4000, 1000),
    }),
  },
  { weight: 1, arbitrary: simple('fail') },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('receive' as const),
      type: fc.constantFrom('ev', 'zz'),
    }),
  },
  { weight: 1, arbitrary: simple('pong') },
  { weight: 1, arbitrary: simple('respond') },
  { weight: 4, arbitrary: simple('send') },
  { weight: 3, arbitrary: simple('sendRaw') },
  { weight: 2, arbitrary: simple('request') },
  { weight: 1, arbitrary: simple('flush') },
  { weight: 1, arbitrary: simple('take') },
  { weight: 1, arbitrary: simple('adopt') },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 60, max: 3000 })),
    }),
  },
)

interface Config {
  queue: QueueOptions | false
  heartbeat: { intervalMs: number; timeoutMs: number } | false
  requestTimeoutMs: number
}

const configArb: fc.Arbitrary<Config> = fc.record({
  queue: fc.oneof(
    { weight: 1, arbitrary: fc.constant(false as const) },
    {
      weight: 5,
      arbitrary: fc.record({
        maxMessages: fc.integer({ min: 1, max: 4 }),
        ttlMs: fc.constantFrom(0, 0, 200, 1500),
        overflow: fc.constantFrom('drop-oldest', 'drop-oldest', 'drop-newest', 'reject' as const),
      }),
    },
  ),
  heartbeat: fc.oneof(
    fc.constant(false as const),
    fc.record({
      intervalMs: fc.integer({ min: 20, max: 500 }),
      timeoutMs: fc.integer({ min: 20, max: 500 }),
    }),
  ),
  requestTimeoutMs: fc.integer({ min: 50, max: 3000 }),
})

// ── One case ────────────────────────────────────────────────────────────────────────

interface Counts {
  submitted: number
  written: number
  dropped: number
  taken: number
  refused: number
}

async function runCase(config: Config, scripts: Scripts, ops: Op[]): Promise<string[]> {
  const violations: string[] = []
  const fail = (what: string) => violations.push(what)
  const fake = fakeWebSocketFactory()
  const socket = new ReconnectingSocket(URL, {
    WebSocket: fake.WebSocket,
    network: false,
    autoConnect: false,
    retry: fromDelays([50, 200], { repeatLast: true }),
    queue: config.queue,
    ...(config.heartbeat && { heartbeat: heartbeat(config.heartbeat) }),
    requests: requests({ timeoutMs: config.requestTimeoutMs }),
  } satisfies SocketOptions)

  // Per frame (events and raw frames are unique strings, except when resent on purpose).
  const counts = new Map<string, Counts>()
  const countsOf = (frame: string): Counts => {
    let entry = counts.get(frame)
    if (!entry) {
      entry = { submitted: 0, written: 0, dropped: 0, taken: 0, refused: 0 }
      counts.set(frame, entry)
    }
    return entry
  }
  const requestRecords: { n: number; settled: boolean; writes: number; drops: number }[] = []
  const flushes: { settled: boolean }[] = []
  let held: QueuedMessage[] = []
  let next = 0
  let drops = 0
  let reactions = 0
  /** Set at the end, and on a runaway: listeners record but no longer act. */
  let quiet = false

  const isRequest = (frame: string) => frame.startsWith('{"type":"rq"')

  /** Sends through `send`/`sendRaw`, counting a refusal that threw without a `drop`. */
  const submit = (frame: string, call: () => unknown) => {
    const entry = countsOf(frame)
    entry.submitted++
    const droppedBefore = entry.dropped
    try {
      const result = call()
      if (result !== 'sent' && result !== 'queued' && result !== 'dropped')
        fail(`send returned ${show(result)}`)
    } catch (error) {
      if (!(error instanceof SocketError)) fail(`send threw ${show(error)}`)
      else if (error.code !== 'QUEUE_FULL') fail(`send threw ${error.code}: ${error.message}`)
      if (entry.dropped === droppedBefore) entry.refused++
    }
  }

  const newEvent = () => {
    const data = { n: next++ }
    submit(JSON.stringify({ type: 't', data }), () => socket.send('t', data))
  }
  const newRaw = () => {
    const frame = `raw-${next++}`
    submit(frame, () => socket.sendRaw(frame))
  }
  const newRequest = () => {
    const record = { n: next++, settled: false, writes: 0, drops: 0 }
    requestRecords.push(record)
    const result = socket.request('rq', { n: record.n })
    if (!(result instanceof Promise)) return void fail('request() did not return a promise')
    result.then(
      () => {
        record.settled = true
      },
      () => {
        record.settled = true
      },
    )
  }
  const take = () => {
    const messages = socket.takeQueued()
    for (const message of messages) {
      if (typeof message.data !== 'string') fail(`took a non-string frame ${show(message.data)}`)
      else countsOf(message.data).taken++
    }
    return messages
  }
  const adopt = (messages: QueuedMessage[]) => {
    for (const message of messages) countsOf(message.data as string).submitted++
    socket.adoptQueued(messages)
  }

  /** One scripted action, from a listener or from the test. Only documented throws pass. */
  const act = (action: Action, payload?: unknown) => {
    try {
      switch (action) {
        case 'none':
          break
        case 'close':
          // The state afterwards is not checked here: a listener may have reconnected.
          socket.close()
          break
        case 'connect':
          socket.connect()
          break
        case 'closeConnect':
          socket.close()
          socket.connect()
          break
        case 'send':
          newEvent()
          break
        case 'sendRaw':
          newRaw()
          break
        case 'resend': {
          const message = (payload as SocketEvents['drop'] | undefined)?.message
          const data = message?.data
          if (typeof data === 'string' && !isRequest(data)) submit(data, () => socket.sendRaw(data))
          else newRaw()
          break
        }
        case 'request':
          newRequest()
          break
        case 'flush': {
          const record = { settled: false }
          flushes.push(record)
          socket.flush().then(
            () => {
              record.settled = true
            },
            () => {
              record.settled = true
            },
          )
          break
        }
        case 'take':
          held.push(...take())
          break
        case 'takeAdopt':
          adopt(take())
          break
      }
    } catch (error) {
      fail(`${action} threw ${show(error)}`)
    }
  }

  const scripted = (key: ListenerKey) => {
    const script = scripts[key]
    let calls = 0
    return (payload?: unknown) => {
      const action = script[calls++] ?? 'none'
      if (quiet || action === 'none') return
      if (++reactions > 500) {
        quiet = true
        return void fail('more than 500 scripted reactions: a listener is called in a loop')
      }
      act(action, payload)
    }
  }

  // ── Listeners: recorders first, then one scripted listener per place, then recorders ──

  const firstStates: { from: string; to: string }[] = []
  const lastStates: { from: string; to: string }[] = []
  const scriptedStates: { from: string; to: string }[] = []
  const firstSnapshots: string[] = []
  const lastSnapshots: string[] = []

  socket.on('state', (event) => firstStates.push(event))
  socket.subscribe(() => {
    firstSnapshots.push(socket.getSnapshot().state)
    if (socket.getSnapshot().state !== socket.state)
      fail(`snapshot says ${socket.getSnapshot().state}, state is ${socket.state}`)
  })
  socket.on('drop', ({ message, reason }) => {
    if (++drops > RUNAWAY_DROPS && !quiet) {
      quiet = true
      fail(`more than ${RUNAWAY_DROPS} drops: a runaway loop`)
    }
    if (typeof message.data !== 'string') return void fail(`dropped ${show(message.data)}`)
    if (isRequest(message.data)) {
      const n = (JSON.parse(message.data) as { data: { n: number } }).data.n
      const record = requestRecords.find((r) => r.n === n)
      if (record) record.drops++
    } else countsOf(message.data).dropped++
    if (!['overflow', 'expired', 'closed', 'not-open'].includes(reason))
      fail(`drop reason ${reason}`)
  })
  socket.on('error', (error) => {
    if (!(error instanceof SocketError) || error.code === 'HANDLER_FAILED')
      fail(`error event: ${show(error)} (cause: ${show((error as SocketError).cause)})`)
  })

  for (const event of EVENT_NAMES) {
    const react = scripted(event)
    if (event === 'state')
      socket.on('state', (payload) => {
        scriptedStates.push(payload)
        react(payload)
      })
    else socket.on(event as SocketEventName, react)
  }
  socket.subscribe(scripted('subscribe'))
  socket.onMessage('ev', scripted('handler'))

  socket.on('state', (event) => lastStates.push(event))
  socket.subscribe(() => lastSnapshots.push(socket.getSnapshot().state))

  // ── The server side ──

  const current = (): FakeWebSocket | undefined => {
    const ws = fake.sockets.at(-1)
    return ws && ws.handlerCount > 0 ? ws : undefined
  }
  const answered = new Set<string>()
  // Raw frames are not JSON, so FakeWebSocket#sentEnvelopes cannot be used here.
  const envelopes = (ws: FakeWebSocket) =>
    ws.sent
      .filter((f): f is string => typeof f === 'string' && f.startsWith('{'))
      .map((f) => JSON.parse(f) as { type: string; id?: string })

  const boundaryChecks = (step: string) => {
    if (socket.state === 'closed') {
      if (vi.getTimerCount() !== 0) fail(`${step}: ${vi.getTimerCount()} timers while closed`)
      if (socket.stats.queuedMessages !== 0)
        fail(`${step}: ${socket.stats.queuedMessages} queued while closed`)
    }
    const { queuedBytes, queuedMessages } = socket.stats
    if (!(Number.isFinite(queuedBytes) && queuedBytes >= 0 && queuedMessages >= 0))
      fail(`${step}: stats.queuedBytes ${queuedBytes}, queuedMessages ${queuedMessages}`)
    const max = config.queue ? (config.queue.maxMessages ?? Infinity) : 0
    if (queuedMessages > max) fail(`${step}: ${queuedMessages} queued, maxMessages ${max}`)
  }

  try {
    for (const [index, op] of ops.entries()) {
      const step = `op ${index} (${op.op})`
      const ws = current()
      try {
        switch (op.op) {
          case 'connect':
          case 'close':
          case 'send':
          case 'sendRaw':
          case 'request':
          case 'flush':
          case 'take':
            act(op.op)
            break
          case 'adopt':
            adopt(held)
            held = []
            break
          case 'open':
            if (ws?.readyState === 0) ws.open()
            break
          case 'serverClose':
            if (ws && ws.readyState <= 1) ws.serverClose(op.code)
            break
          case 'fail':
            ws?.fail()
            break
          case 'receive':
            if (ws?.readyState === 1) ws.receive({ type: op.type, data: { n: index } })
            break
          case 'pong':
            if (ws?.readyState === 1 && envelopes(ws).some((e) => e.type === '$ping'))
              ws.receive({ type: '$pong' })
            break
          case 'respond': {
            const request = (ws ? envelopes(ws) : []).find(
              (e) => e.type === 'rq' && e.id && !answered.has(e.id),
            )
            if (ws?.readyState === 1 && request?.id) {
              answered.add(request.id)
              ws.receive({ type: 'rq', re: request.id, data: 'ok' })
            }
            break
          }
          case 'advance':
            await vi.advanceTimersByTimeAsync(op.ms)
            break
        }
      } catch (error) {
        fail(`${step} threw ${show(error)}`)
      }
      await microtasks()
      boundaryChecks(step)
      if (violations.length) return violations
    }

    // ── The end: listeners stop acting, the socket is closed, everything is accounted ──
    quiet = true
    socket.close()
    await microtasks()
    if (socket.state !== 'closed') fail(`state ${socket.state} after the final close()`)
    boundaryChecks('final close()')
    const probe = `raw-${next++}`
    let probeResult: unknown
    submit(probe, () => {
      probeResult = socket.sendRaw(probe)
      return probeResult
    })
    if (probeResult !== 'dropped') fail(`send() after close() returned ${show(probeResult)}`)
    await microtasks()

    for (const native of fake.sockets) {
      for (const frame of native.sent) {
        if (typeof frame !== 'string') fail(`wrote a non-string frame ${show(frame)}`)
        else if (frame.startsWith('{"type":"$')) continue
        else if (isRequest(frame)) {
          const n = (JSON.parse(frame) as { data: { n: number } }).data.n
          const record = requestRecords.find((r) => r.n === n)
          if (record) record.writes++
        } else countsOf(frame).written++
      }
    }
    for (const [frame, c] of counts) {
      const accounted = c.written + c.dropped + c.taken + c.refused
      if (accounted !== c.submitted)
        fail(
          `${frame}: submitted ${c.submitted}, written ${c.written}, dropped ${c.dropped}, taken ${c.taken}, refused ${c.refused}`,
        )
    }
    for (const r of requestRecords) {
      if (!r.settled) fail(`request ${r.n} never settled`)
      if (r.writes + r.drops > 1) fail(`request ${r.n} written ${r.writes}×, dropped ${r.drops}×`)
    }
    if (flushes.some((f) => !f.settled)) fail('a flush() never settled')

    // Every listener sees one chain of documented moves from `idle`, the same for all,
    // ending in the current state; subscribers see those states in that order.
    const chains = [
      ...chainErrors('the first state listener', firstStates),
      ...chainErrors('the scripted state listener', scriptedStates),
      ...chainErrors('the last state listener', lastStates),
    ]
    for (const error of chains) fail(error)
    const render = (events: { from: string; to: string }[]) =>
      events.map((e) => `${e.from}→${e.to}`).join(', ')
    if (
      render(lastStates) !== render(firstStates) ||
      render(scriptedStates) !== render(firstStates)
    )
      fail(
        `state listeners disagree: first [${render(firstStates)}], scripted [${render(scriptedStates)}], last [${render(lastStates)}]`,
      )
    const path = ['idle', ...firstStates.map((e) => e.to)]
    for (const [who, seen] of [
      ['first', firstSnapshots],
      ['last', lastSnapshots],
    ] as const) {
      if (!chains.length && !isSubsequence(seen, path))
        fail(`the ${who} subscriber saw states [${seen}], not in the order [${path}]`)
    }
    if ((firstStates.at(-1)?.to ?? 'idle') !== socket.state)
      fail(`the last state event says ${firstStates.at(-1)?.to}, the socket is ${socket.state}`)
    return violations
  } finally {
    quiet = true
    socket.close()
    vi.clearAllTimers()
  }
}

function reentrancyProperty() {
  const start = fc.constantFrom<Op[]>([{ op: 'connect' }], [{ op: 'connect' }, { op: 'open' }])
  const list = fc
    .tuple(start, fc.array(opArb, { minLength: 1, maxLength: 40, size: 'medium' }))
    .map(([head, tail]) => [...head, ...tail])
  return fc.asyncProperty(configArb, scriptsArb, list, async (config, scripts, ops) => {
    vi.clearAllTimers()
    const violations = await runCase(config, scripts, ops)
    if (violations.length) throw new Error(violations.slice(0, 6).join('\n'))
  })
}

describe('re-entrant calls from every listener, property-based', () => {
  it('keep the socket sound: documented throws only, ordered transitions, nothing lost', async () => {
    await fc.assert(reentrancyProperty(), { seed: 0x13e, numRuns: 200 })
  }, 30_000)
})

// ── Pinned examples (issue 13) ──────────────────────────────────────────────────────

function setup(options: SocketOptions = {}) {
  const fake = fakeWebSocketFactory()
  const socket = harness.track(
    new ReconnectingSocket(URL, {
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      retry: fromDelays([100], { repeatLast: true }),
      ...options,
    }),
  )
  return { fake, socket }
}

describe('re-entrant calls, the cases issue 13 reproduced', () => {
  it('a drop listener that resends every overflow drop under drop-oldest ends, and loses nothing', () => {
    const { socket } = setup({ queue: { maxMessages: 3, overflow: 'drop-oldest' } })
    socket.connect()
    let submitted = 0
    let refused = 0
    let drops = 0
    const resend = (data: Frame) => {
      submitted++
      try {
        socket.sendRaw(data)
      } catch (error) {
        // A refusal must be a documented error; it counts as the message's fate.
        if (!(error instanceof SocketError)) throw error
        refused++
      }
    }
    socket.on('drop', ({ message, reason }) => {
      drops++
      // Bounded, so that the test ends even while the defect is there.
      if (reason === 'overflow' && drops < RUNAWAY_DROPS) resend(message.data)
    })
    for (let i = 0; i < 5; i++) resend(`m${i}`)
    expect(drops).toBeLessThan(RUNAWAY_DROPS)
    expect(socket.stats.queuedMessages).toBeLessThanOrEqual(3)
    expect(submitted).toBe(socket.stats.queuedMessages + drops + refused)
  })

  it('close() from an overflow drop listener: the send that caused it is dropped, no timer left', () => {
    const { socket } = setup({ queue: { maxMessages: 1, ttlMs: 1000 } })
    const reasons: string[] = []
    socket.on('drop', ({ reason }) => reasons.push(reason))
    socket.connect()
    expect(socket.sendRaw('a')).toBe('queued')
    socket.once('drop', () => socket.close())
    const result = socket.sendRaw('b')
    expect(socket.state).toBe('closed')
    expect(result).toBe('dropped')
    expect(reasons).toEqual(['overflow', 'closed'])
    expect(socket.stats.queuedMessages).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    expect(socket.sendRaw('c')).toBe('dropped')
  })

  it('close() from an expired drop listener during a send: the send is dropped, no timer left', () => {
    const { socket } = setup({ queue: { ttlMs: 100 } })
    const reasons: string[] = []
    socket.on('drop', ({ reason }) => reasons.push(reason))
    socket.connect()
    expect(socket.sendRaw('a')).toBe('queued')
    // Time moves on without the TTL timer firing yet: the send finds `a` expired.
    vi.setSystemTime(Date.now() + 500)
    socket.once('drop', () => socket.close())
    const result = socket.sendRaw('b')
    expect(socket.state).toBe('closed')
    expect(result).toBe('dropped')
    expect(reasons).toEqual(['expired', 'closed'])
    expect(socket.stats.queuedMessages).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  for (const where of ['subscribe', 'state'] as const) {
    it(`a ${where} listener that calls close() then connect(): every listener sees the same ordered transitions`, () => {
      const { socket } = setup()
      const first: string[] = []
      const last: string[] = []
      socket.on('state', ({ from, to }) => first.push(`${from}→${to}`))
      let done = false
      const restart = () => {
        if (done || socket.state !== 'connecting') return
        done = true
        socket.close()
        socket.connect()
      }
      if (where === 'subscribe') socket.subscribe(restart)
      else socket.on('state', restart)
      socket.on('state', ({ from, to }) => last.push(`${from}→${to}`))
      socket.connect()
      expect(socket.state).toBe('connecting')
      expect(first).toEqual([
        'idle→connecting',
        'connecting→closing',
        'closing→closed',
        'closed→connecting',
      ])
      expect(last).toEqual(first)
    })
  }

  it('a close listener that calls close() then connect() when the server ends the session: connect() wins', () => {
    const { fake, socket } = setup()
    const states: string[] = []
    socket.on('state', ({ from, to }) => states.push(`${from}→${to}`))
    socket.connect()
    fake.last().open()
    socket.once('close', () => {
      socket.close()
      socket.connect()
    })
    fake.last().serverClose(1000) // a stop code: the server ends the session
    expect(socket.state).toBe('connecting')
    expect(fake.sockets).toHaveLength(2)
    expect(states).toEqual([
      'idle→connecting',
      'connecting→open',
      'open→closing',
      'closing→closed',
      'closed→connecting',
    ])
    fake.last().open()
    expect(socket.state).toBe('open')
    // The server's verdict may be reported; nothing else may.
    harness.expectErrors((error) => error.code !== 'HANDLER_FAILED')
  })

  it('a drop listener that calls close() then connect() while the server stops an attempt: connect() wins', () => {
    const { fake, socket } = setup()
    socket.connect()
    socket.sendRaw('a')
    socket.once('drop', () => {
      socket.close()
      socket.connect()
    })
    fake.last().serverClose(1000) // before open, with a stop code: the queue is dropped
    expect(socket.state).toBe('connecting')
    expect(fake.sockets).toHaveLength(2)
    socket.close()
    expect(vi.getTimerCount()).toBe(0)
    harness.expectErrors((error) => error.code !== 'HANDLER_FAILED')
  })

  it('flush() called after close() inside an open listener settles', async () => {
    const { fake, socket } = setup()
    socket.connect()
    let settled = false
    socket.on('open', () => {
      socket.close()
      socket.flush().then(
        () => {
          settled = true
        },
        () => {
          settled = true
        },
      )
    })
    fake.last().open()
    await microtasks()
    expect(socket.state).toBe('closed')
    expect(settled).toBe(true)
  })
})
