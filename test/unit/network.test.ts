import { describe, expect, it, vi } from 'vitest'
import {
  fromDelays,
  heartbeat,
  ReconnectingSocket,
  type SocketEvents,
  type SocketOptions,
} from '../../src/index.ts'
import {
  type FakeNetwork,
  type FakeWebSocket,
  fakeNetwork,
  fakeWebSocketFactory,
} from '../helpers/fake-websocket.ts'
import { unitHarness } from '../helpers/unit-harness.ts'

const URL = 'ws://network.test/'
const RETRY_MS = 1000
/** A connection this long without inbound traffic is worth probing. */
const QUIET_MS = 2000

const harness = unitHarness()

function setup(options: SocketOptions = {}, net: FakeNetwork = fakeNetwork()) {
  const fake = fakeWebSocketFactory()
  const socket = new ReconnectingSocket(URL, {
    WebSocket: fake.WebSocket,
    network: net.source,
    autoConnect: false,
    retry: fromDelays([RETRY_MS], { repeatLast: true }),
    connectTimeoutMs: 60_000,
    ...options,
  })
  harness.track(socket)
  const events = {
    close: [] as SocketEvents['close'][],
    reconnecting: [] as SocketEvents['reconnecting'][],
    open: [] as SocketEvents['open'][],
  }
  socket.on('close', (e) => events.close.push(e))
  socket.on('reconnecting', (e) => events.reconnecting.push(e))
  socket.on('open', (e) => events.open.push(e))
  const open = (): FakeWebSocket => {
    socket.connect()
    const ws = fake.last()
    ws.open()
    return ws
  }
  return { fake, socket, net, events, open }
}

/** Heartbeat on, with intervals long enough that only a signal can cause a ping. */
const withHeartbeat: SocketOptions = {
  heartbeat: heartbeat({ intervalMs: 60_000, timeoutMs: 10_000, probeTimeoutMs: 500 }),
}

function pings(ws: FakeWebSocket) {
  return ws.sentEnvelopes.filter((e) => e.type === '$ping')
}

describe('offline and online', () => {
  it('offline while reconnecting cancels the pending retry without burning attempts', () => {
    const { fake, socket, net, events, open } = setup({ maxAttempts: 2 })
    const ws = open()
    ws.serverClose(1006)
    expect(socket.getSnapshot()).toMatchObject({
      state: 'reconnecting',
      attempt: 1,
      nextRetryAt: Date.now() + RETRY_MS,
      online: true,
    })
    expect(vi.getTimerCount()).toBe(1)

    net.emit('offline')
    expect(socket.getSnapshot()).toMatchObject({
      state: 'reconnecting',
      attempt: 1,
      nextRetryAt: null,
      online: false,
    })
    expect(vi.getTimerCount()).toBe(0)
    // Far longer than the whole attempt budget would take: nothing is attempted.
    vi.advanceTimersByTime(30 * 60_000)
    expect(fake.sockets).toHaveLength(1)
    expect(socket.stats.connectAttempts).toBe(1)
    expect(socket.getSnapshot()).toMatchObject({ state: 'reconnecting', attempt: 1 })
    expect(events.reconnecting).toHaveLength(1)
  })

  it('online attempts at once, without waiting for the retry delay', () => {
    const { fake, socket, net, events, open } = setup()
    open().serverClose(1006)
    net.emit('offline')
    vi.advanceTimersByTime(10 * RETRY_MS)
    net.emit('online')
    expect(fake.sockets).toHaveLength(2)
    expect(socket.getSnapshot()).toMatchObject({
      state: 'reconnecting',
      online: true,
      nextRetryAt: null,
      attempt: 1,
    })
    // The connect timeout of the new attempt, nothing else.
    expect(vi.getTimerCount()).toBe(1)
    fake.last().open()
    expect(socket.state).toBe('open')
    expect(events.open.at(-1)).toEqual({ reconnected: true, protocol: '', resumed: false })
  })

  it('a drop while offline schedules no retry until online', () => {
    const { fake, socket, net, events, open } = setup()
    const ws = open()
    net.emit('offline')
    expect(socket.state).toBe('open')
    expect(socket.getSnapshot().online).toBe(false)
    ws.serverClose(1006)
    expect(socket.getSnapshot()).toMatchObject({
      state: 'reconnecting',
      nextRetryAt: null,
      online: false,
    })
    expect(events.reconnecting).toEqual([
      {
        attempt: 1,
        delayMs: null,
        reason: 'connection-lost',
        lastClose: { code: 1006, reason: '', wasClean: false },
      },
    ])
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(10 * 60_000)
    expect(fake.sockets).toHaveLength(1)

    net.emit('online')
    expect(fake.sockets).toHaveLength(2)
  })

  it('a failed attempt while offline waits for online instead of backing off', () => {
    const { fake, socket, net, open } = setup()
    open().serverClose(1006)
    vi.advanceTimersByTime(RETRY_MS)
    expect(fake.sockets).toHaveLength(2)
    // The attempt in flight is left alone; when it fails, nothing is scheduled.
    net.emit('offline')
    expect(vi.getTimerCount()).toBe(1)
    fake.last().fail()
    harness.expectErrors((e) => e.code === 'CONNECTION_FAILED')
    expect(socket.getSnapshot()).toMatchObject({ state: 'reconnecting', nextRetryAt: null })
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(10 * 60_000)
    expect(fake.sockets).toHaveLength(2)
    net.emit('online')
    expect(fake.sockets).toHaveLength(3)
  })

  it('takes the initial online value from the source', () => {
    const net = fakeNetwork()
    net.online = false
    const { socket } = setup({}, net)
    expect(socket.getSnapshot().online).toBe(false)
  })

  it('online while open changes nothing but the snapshot', () => {
    const { fake, socket, net, open } = setup()
    const ws = open()
    net.emit('offline')
    net.emit('online')
    expect(socket.getSnapshot()).toMatchObject({ state: 'open', online: true })
    expect(fake.sockets).toHaveLength(1)
    expect(ws.sent).toEqual([])
    expect(ws.closeCalls).toEqual([])
  })
})

describe('visibilitychange and resume', () => {
  for (const signal of ['visibilitychange', 'resume'] as const) {
    it(`${signal} probes an open connection at once when heartbeat is on`, () => {
      const { socket, net, open } = setup(withHeartbeat)
      const ws = open()
      vi.advanceTimersByTime(QUIET_MS)
      expect(ws.sent).toEqual([])
      net.visible = true
      net.emit(signal)
      expect(pings(ws)).toHaveLength(1)
      // A probe has the short timeout: no answer within probeTimeoutMs is a verdict.
      vi.advanceTimersByTime(499)
      expect(socket.state).toBe('open')
      vi.advanceTimersByTime(1)
      expect(socket.state).toBe('reconnecting')
      expect(ws.closeCalls).toEqual([{ code: 4000, reason: 'heartbeat timeout' }])
    })

    it(`${signal} attempts at once while reconnecting`, () => {
      const { fake, socket, net, open } = setup()
      open().serverClose(1006)
      expect(fake.sockets).toHaveLength(1)
      net.visible = true
      net.emit(signal)
      expect(fake.sockets).toHaveLength(2)
      expect(socket.getSnapshot().nextRetryAt).toBeNull()
      // The retry timer was replaced by the attempt's connect timeout.
      expect(vi.getTimerCount()).toBe(1)
      vi.advanceTimersByTime(RETRY_MS)
      expect(fake.sockets).toHaveLength(2)
    })
  }

  it('a probe answered by a pong keeps the connection', () => {
    const { socket, net, open } = setup(withHeartbeat)
    const ws = open()
    vi.advanceTimersByTime(QUIET_MS)
    net.emit('resume')
    vi.advanceTimersByTime(40)
    ws.receive({ type: '$pong' })
    vi.advanceTimersByTime(10_000)
    expect(socket.state).toBe('open')
    expect(socket.stats.rttMs).toBe(40)
  })

  it('visibilitychange to hidden does nothing', () => {
    const { fake, net, open } = setup(withHeartbeat)
    const ws = open()
    vi.advanceTimersByTime(QUIET_MS)
    net.visible = false
    net.emit('visibilitychange')
    expect(ws.sent).toEqual([])
    ws.serverClose(1006)
    net.emit('visibilitychange')
    expect(fake.sockets).toHaveLength(1)
  })

  it('does not probe a connection that has just shown life', () => {
    const { net, open } = setup(withHeartbeat)
    const ws = open()
    vi.advanceTimersByTime(QUIET_MS)
    ws.receive({ type: 'news' })
    net.emit('resume')
    expect(ws.sent).toEqual([])
  })

  it('without heartbeat, waking an open connection sends nothing', () => {
    const { net, open } = setup()
    const ws = open()
    vi.advanceTimersByTime(QUIET_MS)
    net.emit('resume')
    net.emit('visibilitychange')
    expect(ws.sent).toEqual([])
    expect(ws.closeCalls).toEqual([])
  })

  it('does not start a second attempt while one is in flight', () => {
    const { fake, net, open } = setup()
    open().serverClose(1006)
    vi.advanceTimersByTime(RETRY_MS)
    expect(fake.sockets).toHaveLength(2)
    net.emit('resume')
    net.emit('visibilitychange')
    net.emit('online')
    expect(fake.sockets).toHaveLength(2)
  })

  it('does not attempt while the browser says it is offline', () => {
    const { fake, net, open } = setup()
    open().serverClose(1006)
    net.emit('offline')
    net.emit('resume')
    net.emit('visibilitychange')
    expect(fake.sockets).toHaveLength(1)
  })
})

describe('pagehide and pageshow (back/forward cache)', () => {
  it('pagehide (persisted) closes cleanly and waits; pageshow (persisted) reconnects at once', () => {
    const { fake, socket, net, events, open } = setup(withHeartbeat)
    const ws = open()
    net.emit('pagehide', { persisted: true })

    expect(ws.closeCalls).toEqual([{ code: 1001, reason: 'page suspended' }])
    expect(ws.handlerCount).toBe(0)
    const close = { code: 1001, reason: 'page suspended', wasClean: true }
    expect(events.close).toEqual([{ ...close, willReconnect: true }])
    expect(events.reconnecting).toEqual([
      { attempt: 0, delayMs: null, reason: 'page-suspended', lastClose: close },
    ])
    expect(socket.getSnapshot()).toMatchObject({ state: 'reconnecting', nextRetryAt: null })
    // No retry timer and no heartbeat: the page is frozen in the cache.
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(10 * 60_000)
    expect(fake.sockets).toHaveLength(1)

    net.emit('pageshow', { persisted: true })
    expect(fake.sockets).toHaveLength(2)
    fake.last().open()
    expect(socket.state).toBe('open')
    expect(events.open).toEqual([
      { reconnected: false, protocol: '', resumed: false },
      { reconnected: true, protocol: '', resumed: false },
    ])
  })

  it('keeps messages sent while suspended for the restored connection', () => {
    const { fake, socket, net, open } = setup()
    open()
    net.emit('pagehide', { persisted: true })
    expect(socket.sendRaw('while hidden')).toBe('queued')
    net.emit('pageshow', { persisted: true })
    fake.last().open()
    expect(fake.last().sent).toEqual(['while hidden'])
  })

  it('while suspended, network and visibility signals do not reconnect', () => {
    const { fake, net, open } = setup()
    open()
    net.emit('pagehide', { persisted: true })
    net.emit('offline')
    net.emit('online')
    net.emit('visibilitychange')
    net.emit('resume')
    expect(fake.sockets).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
    net.emit('pageshow', { persisted: true })
    expect(fake.sockets).toHaveLength(2)
  })

  it('pagehide (persisted) while reconnecting cancels the retry until pageshow', () => {
    const { fake, socket, net, open } = setup()
    open().serverClose(1006)
    expect(vi.getTimerCount()).toBe(1)
    net.emit('pagehide', { persisted: true })
    expect(vi.getTimerCount()).toBe(0)
    expect(socket.getSnapshot()).toMatchObject({ state: 'reconnecting', nextRetryAt: null })
    vi.advanceTimersByTime(10 * RETRY_MS)
    expect(fake.sockets).toHaveLength(1)
    net.emit('pageshow', { persisted: true })
    expect(fake.sockets).toHaveLength(2)
  })

  it('pagehide and pageshow without persisted do nothing', () => {
    const { fake, socket, net, events, open } = setup()
    const ws = open()
    net.emit('pagehide')
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
    expect(ws.handlerCount).toBe(4)
    expect(events.close).toEqual([])
    net.emit('pageshow')
    expect(fake.sockets).toHaveLength(1)

    ws.serverClose(1006)
    net.emit('pageshow')
    expect(fake.sockets).toHaveLength(1)
    expect(socket.getSnapshot().nextRetryAt).not.toBeNull()
  })

  it('pageshow (persisted) without a prior pagehide does not add an attempt', () => {
    const { fake, net, open } = setup()
    open()
    net.emit('pageshow', { persisted: true })
    expect(fake.sockets).toHaveLength(1)
    expect(fake.last().closeCalls).toEqual([])
  })
})

describe('listeners', () => {
  it('registers nothing before connect(), and removes every listener on close()', () => {
    const { net, socket, open } = setup()
    expect(net.listenerCount()).toBe(0)
    open()
    expect(net.listenerCount()).toBeGreaterThan(0)
    socket.close()
    expect(net.listenerCount()).toBe(0)
  })

  it('does not pile up listeners across close() and connect()', () => {
    const { net, socket, open } = setup()
    open()
    const perSession = net.listenerCount()
    socket.close()
    socket.connect()
    expect(net.listenerCount()).toBe(perSession)
    socket.close()
    expect(net.listenerCount()).toBe(0)
  })

  it('removes every listener when the server ends the session', () => {
    const { net, socket, open } = setup()
    open().serverClose(1000, 'bye')
    expect(socket.state).toBe('closed')
    expect(net.listenerCount()).toBe(0)
    expect(harness.expectErrors((e) => e.code === 'CLOSED_BY_SERVER')).toHaveLength(1)
  })

  it('ignores signals after close()', () => {
    const { fake, net, socket, open } = setup()
    open().serverClose(1006)
    socket.close()
    for (const type of ['online', 'offline', 'visibilitychange', 'resume']) net.emit(type)
    net.emit('pageshow', { persisted: true })
    net.emit('pagehide', { persisted: true })
    expect(socket.state).toBe('closed')
    expect(fake.sockets).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('signals never skip a delay the server asked for', () => {
  // A server that closes with `retry-after=60` (or 1013) must not be hammered by a user
  // switching tabs or a flapping network: the signal may shorten the policy's delay, never
  // the server's floor.
  it.each(['visibilitychange', 'online', 'resume'])(
    '%s during a retry-after wait attempts at the floor, not before',
    async (signal) => {
      const { socket, fake, net, open } = setup({
        retry: fromDelays([120_000], { repeatLast: true }),
      })
      const ws = open()
      ws.serverClose(1012, 'deploy retry-after=60')
      // The floor, then the policy's delay after it.
      expect(socket.getSnapshot().nextRetryAt).toBe(Date.now() + 180_000)
      vi.advanceTimersByTime(10_000)
      if (signal === 'online') net.emit('offline')
      net.emit(signal)
      // No attempt now: the server asked for 60 s, and the next attempt moves to then.
      expect(fake.sockets).toHaveLength(1)
      expect(socket.getSnapshot().nextRetryAt).toBe(Date.now() + 50_000)
      vi.advanceTimersByTime(49_999)
      expect(fake.sockets).toHaveLength(1)
      vi.advanceTimersByTime(1)
      expect(fake.sockets).toHaveLength(2)
      socket.close()
    },
  )

  it('a signal after the floor has passed attempts at once, and not again while one is in flight', () => {
    const { socket, fake, net, open } = setup({
      retry: fromDelays([120_000], { repeatLast: true }),
    })
    const ws = open()
    ws.serverClose(1013, '')
    vi.advanceTimersByTime(5000)
    net.emit('visibilitychange')
    expect(fake.sockets).toHaveLength(2)
    net.emit('visibilitychange')
    net.emit('online')
    expect(fake.sockets).toHaveLength(2)
    socket.close()
  })
})
