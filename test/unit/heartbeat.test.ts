import { describe, expect, it, vi } from 'vitest'
import {
  fromDelays,
  type HeartbeatOptions,
  heartbeat,
  ReconnectingSocket,
  SocketError,
  type SocketEvents,
  type SocketOptions,
  type SocketSnapshot,
} from '../../src/index.ts'
import { type FakeWebSocket, fakeNetwork, fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { unitHarness } from '../helpers/unit-harness.ts'

const URL = 'ws://heartbeat.test/'
const INTERVAL_MS = 1000
const TIMEOUT_MS = 500
const RETRY_MS = 250

const harness = unitHarness()

/**
 * Options on top of this file's short interval and timeout; `'defaults'` for `heartbeat()`
 * with the library's own, `'none'` for a socket without the option.
 */
function setup(
  heartbeatOptions: HeartbeatOptions | 'defaults' | 'none' = {},
  options: SocketOptions = {},
) {
  const fake = fakeWebSocketFactory()
  const socket = new ReconnectingSocket(URL, {
    WebSocket: fake.WebSocket,
    network: false,
    autoConnect: false,
    retry: fromDelays([RETRY_MS], { repeatLast: true }),
    ...(heartbeatOptions === 'none'
      ? {}
      : {
          heartbeat: heartbeat(
            heartbeatOptions === 'defaults'
              ? {}
              : { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, ...heartbeatOptions },
          ),
        }),
    ...options,
  })
  harness.track(socket)
  const events = {
    close: [] as SocketEvents['close'][],
    reconnecting: [] as SocketEvents['reconnecting'][],
    heartbeat: [] as SocketEvents['heartbeat'][],
    message: [] as unknown[],
  }
  socket.on('close', (e) => events.close.push(e))
  socket.on('reconnecting', (e) => events.reconnecting.push(e))
  socket.on('heartbeat', (e) => events.heartbeat.push(e))
  socket.on('message', (e) => events.message.push(e.data))
  /** Connects and opens the first native socket. */
  const open = (): FakeWebSocket => {
    socket.connect()
    const ws = fake.last()
    ws.open()
    return ws
  }
  /** The RTT samples of the `heartbeat` pong events so far. */
  const rtts = () => events.heartbeat.flatMap((e) => (e.phase === 'pong' ? [e.rttMs] : []))
  return { fake, socket, events, open, rtts }
}

function pings(ws: FakeWebSocket) {
  return ws.sentEnvelopes.filter((e) => e.type === '$ping')
}

/** Records the time of every frame written to `ws` from now on. */
function recordSends(ws: FakeWebSocket): number[] {
  const times: number[] = []
  const send = ws.send.bind(ws)
  ws.send = (data) => {
    send(data)
    times.push(Date.now())
  }
  return times
}

/** A server that answers each `$ping` with a `$pong`, `afterMs` later. */
function answerPings(ws: FakeWebSocket, afterMs: number): void {
  const send = ws.send.bind(ws)
  ws.send = (data) => {
    send(data)
    if (typeof data !== 'string') return
    const envelope = JSON.parse(data) as { type: string; id?: string }
    if (envelope.type !== '$ping') return
    setTimeout(() => {
      if (ws.readyState === 1) ws.receive({ type: '$pong', re: envelope.id })
    }, afterMs)
  }
}

/** The longest stretch without an outbound frame, from `since` to `until`. */
function longestSilence(sends: readonly number[], since: number, until: number): number {
  let longest = 0
  let previous = since
  for (const at of [...sends, until]) {
    longest = Math.max(longest, at - previous)
    previous = at
  }
  return longest
}

const HEARTBEAT_CLOSE = { code: 4000, reason: 'heartbeat timeout', wasClean: false }

describe('pings', () => {
  it('sends no ping before intervalMs of silence, then a $ping envelope with an id', () => {
    const { open } = setup()
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS - 1)
    expect(ws.sent).toEqual([])
    vi.advanceTimersByTime(1)
    expect(ws.sent).toHaveLength(1)
    const [ping] = pings(ws)
    expect(ping?.type).toBe('$ping')
    expect(typeof ping?.id).toBe('string')
    expect(ping?.id).not.toBe('')
  })

  it('postpones the ping while frames flow both ways', () => {
    const { open, socket, events } = setup()
    const ws = open()
    vi.advanceTimersByTime(600)
    ws.receive({ type: 'news', data: 1 })
    expect(socket.send('chat', 'hi')).toBe('sent')
    // The timer comes due at 1000 ms, but the line was quiet for 400 ms only.
    vi.advanceTimersByTime(999)
    expect(pings(ws)).toEqual([])
    vi.advanceTimersByTime(1)
    expect(pings(ws)).toHaveLength(1)
    expect(events.message).toEqual(['{"type":"news","data":1}'])
  })

  it('sends nothing of its own while both sides keep talking', () => {
    const { open, socket } = setup()
    const ws = open()
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(INTERVAL_MS - 100)
      ws.receive({ type: 'tick', data: i })
      socket.send('tock', i)
    }
    expect(pings(ws)).toEqual([])
    expect(ws.sent).toHaveLength(20)
    expect(ws.closeCalls).toEqual([])
  })

  it('pings after intervalMs without sending, even while the peer keeps talking', () => {
    const { open, socket } = setup()
    const ws = open()
    const sends = recordSends(ws)
    const openedAt = Date.now()
    // The server streams to a client that only listens: no pong is needed, its frames
    // are proof of life, but the client must still be heard (PROTOCOL.md §5).
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(100)
      ws.receive({ type: 'tick', data: i })
    }
    expect(sends.map((at) => at - openedAt)).toEqual([1000, 2000, 3000, 4000, 5000])
    expect(pings(ws)).toHaveLength(5)
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
  })

  it('pings after intervalMs without receiving, even while the client keeps sending', () => {
    const { open, socket } = setup()
    const ws = open()
    answerPings(ws, 20)
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(100)
      socket.send('tock', i)
    }
    expect(pings(ws)).toHaveLength(4)
    expect(socket.state).toBe('open')
  })

  it('heartbeat() pings after 25 s of silence and waits 10 s for the pong', () => {
    const { open, socket } = setup('defaults')
    const ws = open()
    vi.advanceTimersByTime(24_999)
    expect(ws.sent).toEqual([])
    vi.advanceTimersByTime(1)
    expect(pings(ws)).toHaveLength(1)
    vi.advanceTimersByTime(9_999)
    expect(socket.state).toBe('open')
    vi.advanceTimersByTime(1)
    expect(socket.state).toBe('reconnecting')
    expect(ws.closeCalls).toEqual([{ code: 4000, reason: 'heartbeat timeout' }])
  })

  it('is off by default: no timer and no ping on an idle open connection', () => {
    const { open } = setup('none')
    const ws = open()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(10 * 60_000)
    expect(ws.sent).toEqual([])
  })
})

describe('the ping rate', () => {
  it('pings every intervalMs on an idle connection, also when intervalMs is shorter than timeoutMs', () => {
    // The fix for a proxy's idle timeout is a shorter interval: it must take effect.
    const { open, socket } = setup({ intervalMs: 1000, timeoutMs: 10_000 })
    const ws = open()
    answerPings(ws, 20)
    const sends = recordSends(ws)
    const openedAt = Date.now()
    vi.advanceTimersByTime(5000)
    expect(sends.map((at) => at - openedAt)).toEqual([1000, 2000, 3000, 4000, 5000])
    expect(socket.state).toBe('open')
  })

  it('a pong slower than intervalMs: the next ping goes out as soon as it arrives', () => {
    const { open, rtts } = setup({ intervalMs: 1000, timeoutMs: 5000 })
    const ws = open()
    answerPings(ws, 1500)
    const sends = recordSends(ws)
    const openedAt = Date.now()
    vi.advanceTimersByTime(4100)
    // Out on a timer of 0 once the pong has been handled: the host's 1 ms floor.
    expect(sends.map((at) => at - openedAt)).toEqual([1000, 2501, 4002])
    expect(rtts()).toEqual([1500, 1500])
  })

  it.each([
    ['a receive-only client', { inbound: 70, outbound: 0 }],
    ['a send-only client', { inbound: 0, outbound: 130 }],
    ['an idle client', { inbound: 0, outbound: 0 }],
    ['a chatty client', { inbound: 90, outbound: 110 }],
  ])('%s is never silent longer than intervalMs while its pings are answered', (_, everyMs) => {
    const { open, socket } = setup({ intervalMs: 1000, timeoutMs: 3000 })
    const ws = open()
    answerPings(ws, 35)
    const sends = recordSends(ws)
    const openedAt = Date.now()
    const stepMs = 10
    for (let elapsed = stepMs; elapsed <= 30_000; elapsed += stepMs) {
      vi.advanceTimersByTime(stepMs)
      if (everyMs.inbound && elapsed % everyMs.inbound === 0) ws.receive({ type: 'tick' })
      if (everyMs.outbound && elapsed % everyMs.outbound === 0) socket.send('tock')
    }
    expect(socket.state).toBe('open')
    expect(longestSilence(sends, openedAt, Date.now())).toBeLessThanOrEqual(1000)
  })
})

describe('pongs', () => {
  it('a $pong yields stats.rttMs, snapshot.rttMs and a heartbeat event, and is not a message', () => {
    const { open, socket, events, rtts } = setup()
    const ws = open()
    expect(socket.stats.rttMs).toBeNull()
    vi.advanceTimersByTime(INTERVAL_MS)
    const [ping] = pings(ws)
    vi.advanceTimersByTime(120)
    ws.receive({ type: '$pong', re: ping?.id })
    expect(rtts()).toEqual([120])
    expect(events.heartbeat.at(-1)).toEqual({ phase: 'pong', rttMs: 120 })
    expect(socket.stats.rttMs).toBe(120)
    expect(socket.getSnapshot().rttMs).toBe(120)
    expect(events.message).toEqual([])

    // Alive: no verdict at the old deadline; the next ping comes intervalMs after the last one.
    vi.advanceTimersByTime(INTERVAL_MS - 120 - 1)
    expect(socket.state).toBe('open')
    expect(pings(ws)).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(pings(ws)).toHaveLength(2)
    vi.advanceTimersByTime(45)
    ws.receive({ type: '$pong', re: pings(ws)[1]?.id })
    expect(rtts()).toEqual([120, 45])
    expect(socket.stats.rttMs).toBe(45)
    expect(ws.closeCalls).toEqual([])
  })

  it('any inbound message after a ping counts as proof of life', () => {
    const { open, socket, rtts } = setup()
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(pings(ws)).toHaveLength(1)
    vi.advanceTimersByTime(TIMEOUT_MS - 1)
    ws.receive({ type: 'news' })
    vi.advanceTimersByTime(TIMEOUT_MS)
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
    expect(rtts()).toEqual([])
    // Nothing was sent since the ping: the next one follows intervalMs after it.
    vi.advanceTimersByTime(INTERVAL_MS - 2 * TIMEOUT_MS)
    expect(pings(ws)).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(pings(ws)).toHaveLength(2)
  })

  it('measures the RTT from the ping even when other traffic arrives before the pong', () => {
    const { open, rtts } = setup()
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    vi.advanceTimersByTime(50)
    ws.receive({ type: 'news' })
    vi.advanceTimersByTime(30)
    ws.receive({ type: '$pong' })
    expect(rtts()).toEqual([80])
    // A second pong answers no ping: no sample.
    ws.receive({ type: '$pong' })
    expect(rtts()).toEqual([80])
  })

  it('custom ping and isPong speak plain strings; the pong is consumed, not delivered', () => {
    const isPong = vi.fn((data: unknown) => data === 'pong')
    const { open, socket, events, rtts } = setup({ ping: () => 'ping', isPong })
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(ws.sent).toEqual(['ping'])
    vi.advanceTimersByTime(30)
    ws.receive('pong')
    expect(isPong).toHaveBeenCalledWith('pong')
    expect(events.message).toEqual([])
    expect(rtts()).toEqual([30])
    expect(socket.stats.rttMs).toBe(30)
    // An unsolicited pong is still consumed, but is no RTT sample.
    ws.receive('pong')
    expect(events.message).toEqual([])
    expect(rtts()).toEqual([30])
    // Application messages still reach listeners.
    ws.receive({ type: 'news', data: 'x' })
    expect(events.message).toEqual(['{"type":"news","data":"x"}'])
    // Past the deadline of the answered ping: still open, and no second ping yet.
    vi.advanceTimersByTime(TIMEOUT_MS)
    expect(socket.state).toBe('open')
    expect(ws.sent).toEqual(['ping'])
  })

  it('custom ping: without the custom pong the connection is declared dead', () => {
    const { open, socket } = setup({ ping: () => 'ping', isPong: (data) => data === 'pong' })
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    // A $pong envelope is not what this server says; only 'pong' counts as the answer.
    vi.advanceTimersByTime(TIMEOUT_MS)
    expect(socket.state).toBe('reconnecting')
    expect(ws.closeCalls).toEqual([{ code: 4000, reason: 'heartbeat timeout' }])
  })
})

describe('the ping in flight: heartbeat events and snapshot.pongDeadlineAt', () => {
  it('announces each ping with its deadline, and shows the deadline until the pong', () => {
    const { open, socket, events } = setup()
    const ws = open()
    const openedAt = Date.now()
    expect(socket.getSnapshot().pongDeadlineAt).toBeNull()
    vi.advanceTimersByTime(INTERVAL_MS)
    const deadlineAt = openedAt + INTERVAL_MS + TIMEOUT_MS
    expect(events.heartbeat).toEqual([{ phase: 'ping', deadlineAt }])
    expect(socket.getSnapshot()).toMatchObject({ state: 'open', pongDeadlineAt: deadlineAt })

    // The pong ends it: one snapshot change carries the RTT and clears the deadline.
    const changes = vi.fn()
    socket.subscribe(changes)
    vi.advanceTimersByTime(100)
    ws.receive({ type: '$pong', re: pings(ws)[0]?.id })
    expect(changes).toHaveBeenCalledTimes(1)
    expect(socket.getSnapshot()).toMatchObject({ rttMs: 100, pongDeadlineAt: null })
    expect(events.heartbeat).toEqual([
      { phase: 'ping', deadlineAt },
      { phase: 'pong', rttMs: 100 },
    ])
  })

  it('a frame other than a pong answers the ping too: the deadline is cleared after it is handled', async () => {
    const { open, socket } = setup()
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(socket.getSnapshot().pongDeadlineAt).not.toBeNull()
    ws.receive({ type: 'news' })
    await Promise.resolve()
    expect(socket.getSnapshot().pongDeadlineAt).toBeNull()
    expect(socket.state).toBe('open')
  })

  it('a subscriber that closes the socket when the deadline clears never runs in the middle of a frame', async () => {
    const { open, socket } = setup()
    const handledIn: string[] = []
    socket.onMessage('news', () => handledIn.push(socket.state))
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(socket.getSnapshot().pongDeadlineAt).not.toBeNull()
    socket.subscribe(() => {
      if (socket.getSnapshot().pongDeadlineAt === null && socket.state === 'open') socket.close()
    })
    ws.receive({ type: 'news' })
    await Promise.resolve()
    // The frame arrived on an open socket and was handled there, then the close came.
    expect(handledIn).toEqual(['open'])
    expect(socket.state).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a probe brings the deadline forward, a draining send buffer pushes it back', () => {
    const net = fakeNetwork()
    const { open, socket, events } = setup(
      { timeoutMs: 5000, probeTimeoutMs: 200 },
      { network: net.source },
    )
    const ws = open()
    const openedAt = Date.now()
    ws.bufferedAmount = 100_000
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(socket.getSnapshot().pongDeadlineAt).toBe(openedAt + 1000 + 5000)

    vi.advanceTimersByTime(100)
    net.emit('resume')
    // No second ping: the one in flight only has less time now.
    expect(pings(ws)).toHaveLength(1)
    expect(socket.getSnapshot().pongDeadlineAt).toBe(openedAt + 1100 + 200)

    ws.bufferedAmount = 50_000
    vi.advanceTimersByTime(200)
    expect(socket.state).toBe('open')
    expect(socket.getSnapshot().pongDeadlineAt).toBe(openedAt + 1300 + 5000)
    expect(events.heartbeat).toEqual([{ phase: 'ping', deadlineAt: openedAt + 6000 }])

    vi.advanceTimersByTime(5000)
    expect(socket.getSnapshot()).toMatchObject({ state: 'reconnecting', pongDeadlineAt: null })
  })

  it('every snapshot outside `open` has no deadline: timeout, close() and a server close', () => {
    const seen: SocketSnapshot[] = []
    const { fake, open, socket } = setup()
    socket.subscribe(() => seen.push(socket.getSnapshot()))
    // The verdict.
    open()
    vi.advanceTimersByTime(INTERVAL_MS + TIMEOUT_MS)
    expect(socket.state).toBe('reconnecting')
    // A server close while a ping is out.
    vi.advanceTimersByTime(RETRY_MS)
    fake.last().open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(socket.getSnapshot().pongDeadlineAt).not.toBeNull()
    fake.last().serverClose(1006)
    // close() while a ping is out.
    vi.advanceTimersByTime(RETRY_MS)
    fake.last().open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(socket.getSnapshot().pongDeadlineAt).not.toBeNull()
    socket.close()

    // Each of the three pings was shown, and none of them outside `open`.
    expect(new Set(seen.map((s) => s.pongDeadlineAt).filter((at) => at !== null)).size).toBe(3)
    expect(seen.filter((s) => s.state !== 'open' && s.pongDeadlineAt !== null)).toEqual([])
    expect(socket.getSnapshot()).toMatchObject({ state: 'closed', pongDeadlineAt: null })
  })

  it('a late probe is a new ping with a new deadline', () => {
    const { open, events } = setup({ timeoutMs: 5000, probeTimeoutMs: 200 })
    open()
    vi.advanceTimersByTime(INTERVAL_MS)
    vi.setSystemTime(Date.now() + 5 * 60_000)
    vi.advanceTimersByTime(5000)
    const probedAt = Date.now()
    expect(events.heartbeat.map((e) => e.phase)).toEqual(['ping', 'ping'])
    expect(events.heartbeat[1]).toEqual({ phase: 'ping', deadlineAt: probedAt + 200 })
  })
})

describe('a missed pong', () => {
  it('cuts the socket at once with 4000, emits close, and reconnects through the normal path', () => {
    const { fake, open, socket, events } = setup()
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    vi.advanceTimersByTime(TIMEOUT_MS - 1)
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
    vi.advanceTimersByTime(1)

    // No waiting for a close handshake over a dead link: the verdict is immediate.
    expect(ws.closeCalls).toEqual([{ code: 4000, reason: 'heartbeat timeout' }])
    expect(ws.handlerCount).toBe(0)
    expect(socket.state).toBe('reconnecting')
    expect(events.close).toEqual([{ ...HEARTBEAT_CLOSE, willReconnect: true }])
    expect(events.reconnecting).toEqual([
      { attempt: 1, delayMs: RETRY_MS, reason: 'heartbeat-timeout', lastClose: HEARTBEAT_CLOSE },
    ])
    expect(socket.getSnapshot().lastClose).toEqual(HEARTBEAT_CLOSE)
    // Only the retry timer: the heartbeat of the dead connection is gone.
    expect(vi.getTimerCount()).toBe(1)

    // The dead socket's own close event, arriving late, changes nothing.
    ws.serverClose(1006)
    expect(events.close).toHaveLength(1)

    vi.advanceTimersByTime(RETRY_MS - 1)
    expect(fake.sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(fake.sockets).toHaveLength(2)
    const next = fake.last()
    next.open()
    expect(socket.state).toBe('open')
    expect(socket.stats.reconnects).toBe(1)
    // The new connection has its own heartbeat.
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(pings(next)).toHaveLength(1)
    expect(pings(ws)).toHaveLength(1)
  })

  it('keeps queued messages for the next connection', () => {
    const { fake, open, socket } = setup()
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS + TIMEOUT_MS)
    expect(socket.state).toBe('reconnecting')
    expect(socket.send('after', 1)).toBe('queued')
    vi.advanceTimersByTime(RETRY_MS)
    fake.last().open()
    expect(fake.last().sentEnvelopes).toEqual([{ type: 'after', data: 1 }])
    expect(ws.sent).toHaveLength(1)
  })
})

describe('late timers (sleep, frozen or throttled tab)', () => {
  const options: HeartbeatOptions = { timeoutMs: 5000, probeTimeoutMs: 200 }
  const SLEPT_MS = 5 * 60_000

  it('a ping deadline passed far too late sends a probe instead of a verdict; a pong keeps the connection', () => {
    const { open, socket, events, rtts } = setup(options)
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(pings(ws)).toHaveLength(1)
    // The machine sleeps for minutes; no timer runs meanwhile.
    vi.setSystemTime(Date.now() + SLEPT_MS)
    vi.advanceTimersByTime(5000)
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
    expect(events.close).toEqual([])
    expect(pings(ws)).toHaveLength(2)
    expect(vi.getTimerCount()).toBe(1)

    vi.advanceTimersByTime(150)
    ws.receive({ type: '$pong' })
    expect(rtts()).toEqual([150])
    vi.advanceTimersByTime(5000)
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
  })

  it('the probe uses probeTimeoutMs: no answer within it is a verdict', () => {
    const { open, socket, events } = setup(options)
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    vi.setSystemTime(Date.now() + SLEPT_MS)
    vi.advanceTimersByTime(5000)
    expect(pings(ws)).toHaveLength(2)
    vi.advanceTimersByTime(199)
    expect(socket.state).toBe('open')
    vi.advanceTimersByTime(1)
    expect(socket.state).toBe('reconnecting')
    expect(ws.closeCalls).toEqual([{ code: 4000, reason: 'heartbeat timeout' }])
    expect(events.close).toEqual([{ ...HEARTBEAT_CLOSE, willReconnect: true }])
  })

  it('a silence timer that fires far too late pings with probeTimeoutMs, not timeoutMs', () => {
    const { open, socket } = setup(options)
    const ws = open()
    vi.setSystemTime(Date.now() + SLEPT_MS)
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(pings(ws)).toHaveLength(1)
    vi.advanceTimersByTime(199)
    expect(socket.state).toBe('open')
    vi.advanceTimersByTime(1)
    expect(socket.state).toBe('reconnecting')
  })

  it('allows one late probe in a row, so a throttled tab still reaches a verdict on a dead link', () => {
    const { open, socket } = setup(options)
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    vi.setSystemTime(Date.now() + SLEPT_MS)
    vi.advanceTimersByTime(5000)
    expect(pings(ws)).toHaveLength(2)
    expect(socket.state).toBe('open')
    vi.setSystemTime(Date.now() + SLEPT_MS)
    vi.advanceTimersByTime(200)
    expect(socket.state).toBe('reconnecting')
    expect(pings(ws)).toHaveLength(2)
  })

  it('a timer on time is judged normally: timeoutMs, not probeTimeoutMs', () => {
    const { open, socket } = setup(options)
    const ws = open()
    vi.advanceTimersByTime(INTERVAL_MS)
    vi.advanceTimersByTime(4999)
    expect(socket.state).toBe('open')
    expect(pings(ws)).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(socket.state).toBe('reconnecting')
  })
})

describe('timers', () => {
  it('keeps exactly one timer on an idle open connection, whatever the phase', () => {
    const { open } = setup()
    const ws = open()
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(pings(ws)).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(1)
    ws.receive({ type: '$pong' })
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(INTERVAL_MS * 3)
    expect(vi.getTimerCount()).toBe(1)
  })

  it('has no heartbeat timer while not open: connecting and reconnecting hold one timer each', () => {
    const { fake, socket } = setup({}, { connectTimeoutMs: 60_000 })
    socket.connect()
    // The connect timeout only.
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime((INTERVAL_MS + TIMEOUT_MS) * 4)
    const first = fake.last()
    first.open()
    first.serverClose(1006)
    expect(socket.state).toBe('reconnecting')
    // The retry delay only.
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(RETRY_MS)
    expect(fake.sockets).toHaveLength(2)
    expect(socket.state).toBe('reconnecting')
    expect(vi.getTimerCount()).toBe(1)
    // While the attempt hangs, no ping is written (the fake throws on a send before open).
    vi.advanceTimersByTime((INTERVAL_MS + TIMEOUT_MS) * 4)
    expect(fake.last().sent).toEqual([])
    expect(first.sent).toEqual([])
  })

  it('leaves no timer after close(), in every phase of the heartbeat', () => {
    const a = setup()
    a.open()
    a.socket.close()
    expect(vi.getTimerCount()).toBe(0)

    const b = setup()
    const ws = b.open()
    vi.advanceTimersByTime(INTERVAL_MS)
    expect(pings(ws)).toHaveLength(1)
    b.socket.close()
    expect(vi.getTimerCount()).toBe(0)
    expect(b.events.close).toEqual([
      { code: 1000, reason: '', wasClean: true, willReconnect: false },
    ])
    vi.advanceTimersByTime(60_000)
    expect(pings(ws)).toHaveLength(1)
    expect(b.fake.sockets).toHaveLength(1)
  })
})

describe('options', () => {
  it.each<[string, HeartbeatOptions]>([
    ['intervalMs 0', { intervalMs: 0 }],
    ['negative timeoutMs', { timeoutMs: -1 }],
    ['NaN probeTimeoutMs', { probeTimeoutMs: Number.NaN }],
    ['infinite intervalMs', { intervalMs: Number.POSITIVE_INFINITY }],
    ['string timeoutMs', { timeoutMs: '500' as unknown as number }],
    ['ping without isPong', { ping: () => 'ping' }],
    ['isPong without ping', { isPong: () => true }],
    ['ping not a function', { ping: 'ping' as never, isPong: () => true }],
  ])('heartbeat() throws INVALID_OPTIONS for %s, before any socket exists', (_, options) => {
    const fake = fakeWebSocketFactory()
    let caught: unknown
    try {
      new ReconnectingSocket(URL, {
        WebSocket: fake.WebSocket,
        network: false,
        heartbeat: heartbeat(options),
      })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(SocketError)
    expect((caught as SocketError).code).toBe('INVALID_OPTIONS')
    expect((caught as SocketError).message).toMatch(/heartbeat/)
    expect(fake.sockets).toHaveLength(0)
  })
})
