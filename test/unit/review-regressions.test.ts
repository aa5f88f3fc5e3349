import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  auth,
  type Codec,
  fromDelays,
  heartbeat,
  jsonCodec,
  type Logger,
  ReconnectingSocket,
  requests,
  type SocketError,
  type SocketEventName,
  type SocketEvents,
  type SocketOptions,
  UnauthorizedError,
} from '../../src/index.ts'
import {
  type FakeWebSocket,
  type FakeWebSocketFactory,
  fakeWebSocketFactory,
} from '../helpers/fake-websocket.ts'
import { EVENT_NAMES } from '../helpers/unit-harness.ts'

// Each test pins one defect a review found, in the scenario the review reproduced it with.

const URL = 'ws://review.test/socket'
const RETRY_MS = 250

interface Harness {
  socket: ReconnectingSocket
  fake: FakeWebSocketFactory
  events: { event: SocketEventName; payload: unknown }[]
  of<E extends SocketEventName>(event: E): SocketEvents[E][]
  /** Connects and opens the first native socket (after any async token provider). */
  open(): Promise<FakeWebSocket>
}

let sockets: ReconnectingSocket[] = []

beforeEach(() => {
  vi.useFakeTimers()
  sockets = []
})

afterEach(() => {
  for (const socket of sockets) socket.close()
  vi.useRealTimers()
})

function setup(options: SocketOptions = {}): Harness {
  const fake = fakeWebSocketFactory()
  const socket = new ReconnectingSocket(URL, {
    requests: requests(),
    WebSocket: fake.WebSocket,
    network: false,
    autoConnect: false,
    retry: fromDelays([RETRY_MS], { repeatLast: true }),
    ...options,
  })
  sockets.push(socket)
  const events: Harness['events'] = []
  for (const event of EVENT_NAMES) socket.on(event, (payload) => events.push({ event, payload }))
  const of = <E extends SocketEventName>(event: E): SocketEvents[E][] =>
    events.filter((e) => e.event === event).map((e) => e.payload as SocketEvents[E])
  return {
    socket,
    fake,
    events,
    of,
    async open() {
      socket.connect()
      await settle()
      const ws = fake.last()
      ws.open()
      return ws
    },
  }
}

/** Lets promise chains (the token provider) run; fake timers do not touch microtasks. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

function codes(errors: SocketError[]): string[] {
  return errors.map((e) => e.code)
}

function types(ws: FakeWebSocket): string[] {
  return ws.sentEnvelopes.map((e) => e.type)
}

describe('review regressions', () => {
  it('1: close() then connect() from a `connecting` state listener leaves one live native socket', () => {
    const { socket, fake } = setup()
    let reentered = false
    socket.on('state', ({ to }) => {
      if (to === 'connecting' && !reentered) {
        reentered = true
        socket.close()
        socket.connect()
      }
    })
    socket.connect()

    const live = fake.sockets.filter((ws) => ws.handlerCount > 0)
    expect(live).toHaveLength(1)
    for (const ws of fake.sockets) {
      if (ws === live[0]) continue
      expect(ws.handlerCount).toBe(0)
      expect(ws.closeCalls.length).toBeGreaterThan(0)
    }

    live[0]?.open()
    expect(socket.state).toBe('open')
    socket.close()
    for (const ws of fake.sockets) {
      expect(ws.closeCalls.length).toBeGreaterThan(0)
      expect(ws.handlerCount).toBe(0)
    }
    expect(vi.getTimerCount()).toBe(0)
  })

  it('2: while the server close is under way (CLOSING), sends and requests wait for the next connection', async () => {
    const { socket, fake, of, open } = setup()
    const ws = await open()
    // The server's close frame arrived; the `close` event has not been dispatched yet.
    ws.readyState = 2
    const sentBefore = ws.sent.length

    expect(socket.send('chat', { n: 1 })).toBe('queued')
    const answer = socket.request('ask', { q: 1 })
    expect(ws.sent).toHaveLength(sentBefore)
    expect(socket.stats.queuedMessages).toBe(2)

    ws.serverClose(1006)
    expect(socket.state).toBe('reconnecting')
    expect(socket.stats.queuedMessages).toBe(2)
    const delayMs = of('reconnecting')[0]?.delayMs ?? Number.NaN
    vi.advanceTimersByTime(delayMs)
    const next = fake.last()
    expect(next).not.toBe(ws)
    next.open()

    expect(types(next)).toEqual(['chat', 'ask'])
    expect(next.sentEnvelopes[0]?.data).toEqual({ n: 1 })
    // Had it been counted as sent on the closing socket, the drop would have failed it
    // with CONNECTION_LOST; it is answered on the new socket instead.
    next.receive({ type: 'ask', re: next.sentEnvelopes[1]?.id, data: 'answer' })
    await expect(answer).resolves.toBe('answer')
    expect(ws.sent).toHaveLength(sentBefore)
  })

  it('3: a query token is redacted in every form, including URLSearchParams form encoding', async () => {
    const token = "tok~en with space!'()"
    const forms = [
      token,
      encodeURIComponent(token),
      new URLSearchParams([['', token]]).toString().slice(1),
    ]
    const lines: string[] = []
    const log =
      (level: string) =>
      (message: string, fields?: Record<string, unknown>): void => {
        lines.push(`${level} ${message} ${stringify(fields)}`)
      }
    const logger: Logger = {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
    }
    const { socket, fake, events, of } = setup({
      logger,
      auth: auth({ getToken: () => token, placement: 'query' }),
    })

    socket.connect()
    await settle()
    const ws = fake.last()
    // The test means something only if the handshake URL carries the form-encoded token.
    expect(ws.url).toContain(forms[2])
    ws.fail(`connect ECONNREFUSED ${ws.url}`)

    const failed = of('error').find((e) => e.code === 'CONNECTION_FAILED')
    expect(failed?.message).toContain('[redacted]')
    expect(socket.getSnapshot().lastError?.message).toBe(failed?.message)
    expect(lines.some((line) => line.includes('[redacted]'))).toBe(true)

    const texts = [
      ...lines,
      ...events.map((e) => stringify(e.payload)),
      stringify(socket.getSnapshot()),
    ]
    for (const text of texts) for (const form of forms) expect(text).not.toContain(form)
  })

  it('4: a renewal provider throwing UnauthorizedError on an open connection emits close and stops', async () => {
    let calls = 0
    const { socket, fake, of, open } = setup({
      auth: auth({
        getToken: () => {
          calls++
          if (calls === 1) return { token: 'first', expiresAt: Date.now() + 60_000 }
          throw new UnauthorizedError('revoked')
        },
      }),
    })
    const ws = await open()
    expect(socket.state).toBe('open')

    // Renewal is due 30 s (renewBeforeMs) before expiry.
    await vi.advanceTimersByTimeAsync(30_000)
    await settle()

    expect(calls).toBe(2)
    expect(of('close')).toEqual([expect.objectContaining({ willReconnect: false })])
    expect(socket.state).toBe('closed')
    expect(codes(of('error'))).toContain('UNAUTHORIZED')
    expect(socket.getSnapshot().lastError?.code).toBe('UNAUTHORIZED')
    expect(ws.closeCalls).toHaveLength(1)
    expect(fake.sockets).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it("6: request() against a full queue under overflow 'reject' fails with QUEUE_FULL", async () => {
    const { socket, of } = setup({ queue: { maxMessages: 1, overflow: 'reject' } })
    expect(socket.send('first')).toBe('queued')

    await expect(socket.request('ask', 1)).rejects.toMatchObject({ code: 'QUEUE_FULL' })
    expect(of('drop')).toEqual([
      { message: expect.objectContaining({ type: 'ask' }), reason: 'overflow' },
    ])
    expect(socket.stats.queuedMessages).toBe(1)
    expect(socket.stats.pendingRequests).toBe(0)
  })

  it('7: queued requests that time out or are aborted free their queue space at once', async () => {
    // drop-newest: dead entries left in the queue would make the next send 'dropped'.
    const newest = setup({ queue: { maxMessages: 2, overflow: 'drop-newest' } })
    const a = newest.socket.request('a', 1, { timeoutMs: 100 })
    const b = newest.socket.request('b', 1, { timeoutMs: 100 })
    const outcomes = Promise.allSettled([a, b])
    expect(newest.socket.stats.queuedMessages).toBe(2)
    vi.advanceTimersByTime(100)
    const [ra, rb] = await outcomes
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'REQUEST_TIMEOUT' } })
    expect(rb).toMatchObject({ status: 'rejected', reason: { code: 'REQUEST_TIMEOUT' } })
    expect(newest.socket.stats.queuedMessages).toBe(0)
    expect(newest.socket.stats.queuedBytes).toBe(0)
    expect(newest.socket.stats.pendingRequests).toBe(0)
    expect(newest.socket.send('chat', 1)).toBe('queued')
    expect(newest.of('drop')).toEqual([])

    // drop-oldest: an eviction must never report a request that has already settled.
    const oldest = setup({ queue: { maxMessages: 2, overflow: 'drop-oldest' } })
    const controller = new AbortController()
    const timedOut = oldest.socket.request('timed-out', 1, { timeoutMs: 100 })
    const aborted = oldest.socket.request('aborted', 1, { signal: controller.signal })
    const settled = Promise.allSettled([timedOut, aborted])
    controller.abort()
    vi.advanceTimersByTime(100)
    const [rt, rab] = await settled
    expect(rt).toMatchObject({ status: 'rejected', reason: { code: 'REQUEST_TIMEOUT' } })
    expect(rab).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED' } })
    expect(oldest.socket.stats.queuedMessages).toBe(0)
    expect(oldest.socket.send('x')).toBe('queued')
    expect(oldest.socket.send('y')).toBe('queued')
    expect(oldest.socket.send('z')).toBe('queued')
    expect(oldest.of('drop').map((d) => `${d.message.type}:${d.reason}`)).toEqual(['x:overflow'])
  })

  it('8: throwing user callbacks (ping, isPong, codec for $auth) are reported, never thrown', async () => {
    // (a) heartbeat.ping throws when the ping is due.
    const a = setup({
      heartbeat: heartbeat({
        intervalMs: 1000,
        timeoutMs: 500,
        ping: () => {
          throw new Error('ping boom')
        },
        isPong: (data) => data === 'pong',
      }),
    })
    await a.open()
    expect(() => vi.advanceTimersByTime(1000)).not.toThrow()
    expect(codes(a.of('error'))).toEqual(['HANDLER_FAILED'])
    a.socket.close()

    // (b) heartbeat.isPong throws: reported, and the frame is handled as an ordinary one.
    const b = setup({
      heartbeat: heartbeat({
        intervalMs: 1000,
        timeoutMs: 500,
        ping: () => 'ping',
        isPong: () => {
          throw new Error('isPong boom')
        },
      }),
    })
    const received: unknown[] = []
    b.socket.onMessage('chat', (data) => received.push(data))
    const bws = await b.open()
    expect(() => bws.receive({ type: 'chat', data: 7 })).not.toThrow()
    expect(codes(b.of('error'))).toEqual(['HANDLER_FAILED'])
    expect(received).toEqual([7])
    expect(b.socket.state).toBe('open')
    expect(bws.closeCalls).toEqual([])
    b.socket.close()

    // (c) a codec that cannot encode `$auth`: the attempt fails instead of hanging in `connecting`.
    const codec: Codec = {
      decode: jsonCodec.decode,
      encode: (envelope) => {
        if (envelope.type === '$auth') throw new Error('no $auth in this format')
        return jsonCodec.encode(envelope)
      },
    }
    const c = setup({ codec, auth: auth({ getToken: () => 'token', placement: 'message' }) })
    c.socket.connect()
    await settle()
    const cws = c.fake.last()
    expect(() => cws.open()).not.toThrow()
    expect(codes(c.of('error'))).toEqual(['ENCODE_FAILED'])
    expect(c.socket.state).toBe('reconnecting')
    expect(c.of('open')).toEqual([])
    expect(cws.handlerCount).toBe(0)
    expect(cws.closeCalls.length).toBeGreaterThan(0)
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    vi.advanceTimersByTime(RETRY_MS)
    await settle()
    expect(c.fake.sockets).toHaveLength(2)
  })

  it('9: takeQueued() hands out events and raw frames only; a queued request rejects as taken', async () => {
    const { socket, of } = setup()
    expect(socket.send('chat', 1)).toBe('queued')
    const answer = socket.request('ask', 2)
    expect(socket.sendRaw('raw-frame')).toBe('queued')

    const taken = socket.takeQueued()
    expect(taken.map((m) => m.type)).toEqual(['chat', undefined])
    expect(taken[1]?.data).toBe('raw-frame')
    const error = await answer.then(
      () => null,
      (e: SocketError) => e,
    )
    expect(error?.code).toBe('DROPPED')
    expect(error?.details).toEqual({ reason: 'taken' })
    expect(socket.stats.queuedMessages).toBe(0)
    expect(socket.stats.pendingRequests).toBe(0)
    expect(of('drop')).toEqual([])
  })

  it('10: a `message` listener that calls close() keeps onMessage handlers from running', async () => {
    const { socket, open } = setup()
    const ws = await open()
    const handled: unknown[] = []
    socket.onMessage('chat', (data) => handled.push(data))
    socket.on('message', () => socket.close())

    ws.receive({ type: 'chat', data: 1 })

    expect(socket.state).toBe('closed')
    expect(handled).toEqual([])
  })

  it('11: the heartbeat waits while the socket buffer drains, and cuts once it stalls', async () => {
    const { socket, of, open } = setup({
      heartbeat: heartbeat({ intervalMs: 1000, timeoutMs: 500 }),
    })
    const ws = await open()
    ws.bufferedAmount = 100_000
    vi.advanceTimersByTime(1000)
    expect(types(ws)).toEqual(['$ping'])

    // Each deadline finds less in the buffer: the link is moving bytes, so it is extended.
    for (const buffered of [80_000, 60_000, 40_000]) {
      ws.bufferedAmount = buffered
      vi.advanceTimersByTime(500)
      expect(ws.closeCalls).toEqual([])
      expect(socket.state).toBe('open')
    }

    // The buffer stopped shrinking and no pong came: dead.
    vi.advanceTimersByTime(499)
    expect(socket.state).toBe('open')
    vi.advanceTimersByTime(1)
    expect(ws.closeCalls.map((c) => c.code)).toEqual([4000])
    expect(socket.state).toBe('reconnecting')
    expect(of('close')).toEqual([expect.objectContaining({ code: 4000, willReconnect: true })])
    expect(of('reconnecting')[0]?.reason).toBe('heartbeat-timeout')
  })

  it('12: flush() from an open listener does not push the queue ahead of later open listeners', async () => {
    const { socket, fake } = setup()
    expect(socket.send('queued1')).toBe('queued')
    expect(socket.send('queued2')).toBe('queued')
    let flushed: Promise<void> | undefined
    let hello: string | undefined
    socket.on('open', () => {
      flushed = socket.flush()
    })
    socket.on('open', () => {
      hello = socket.send('hello')
    })
    socket.connect()
    const ws = fake.last()
    ws.open()

    expect(hello).toBe('sent')
    expect(types(ws)).toEqual(['hello', 'queued1', 'queued2'])
    await expect(flushed).resolves.toBeUndefined()
  })

  it('13: messagesSent counts $ping and renewal $auth frames; flush() without a queue waits for the buffer', async () => {
    const { socket, open } = setup({
      heartbeat: heartbeat({ intervalMs: 3000, timeoutMs: 5000 }),
      auth: auth({
        placement: 'message',
        renewBeforeMs: 1000,
        getToken: () => ({ token: 'token', expiresAt: Date.now() + 5000 }),
      }),
    })
    const ws = await open()
    expect(types(ws)).toEqual(['$auth'])
    vi.advanceTimersByTime(3000)
    expect(types(ws)).toEqual(['$auth', '$ping'])
    ws.receive({ type: '$pong' })
    // Renewal is due at 4 s (expiry at 5 s, renewBeforeMs 1 s).
    await vi.advanceTimersByTimeAsync(1000)
    await settle()
    expect(types(ws)).toEqual(['$auth', '$ping', '$auth'])
    expect(socket.stats.messagesSent).toBe(3)
    socket.close()

    const noQueue = setup({ queue: false })
    const nws = await noQueue.open()
    expect(noQueue.socket.send('chat', 1)).toBe('sent')
    nws.bufferedAmount = 512
    let resolved = false
    void noQueue.socket.flush().then(() => {
      resolved = true
    })
    await settle()
    await vi.advanceTimersByTimeAsync(200)
    expect(resolved).toBe(false)
    nws.bufferedAmount = 0
    await vi.advanceTimersByTimeAsync(100)
    expect(resolved).toBe(true)
    expect(noQueue.socket.stats.messagesSent).toBe(1)
  })
})

/** JSON with errors spelled out (message, code, details), so redaction can be checked on them. */
function stringify(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) =>
    v instanceof Error
      ? { name: v.name, message: v.message, ...(v as object), cause: v.cause }
      : typeof v === 'bigint'
        ? String(v)
        : v,
  )
}

// Pinned after the review of the bundle-size rewrite: messages that must still say what
// happened and how to fix it, and behaviour the rewrite changed on purpose.
describe('review of the bundle-size rewrite', () => {
  it('an auth close code without auth configured says unauthorized and points at the fix', async () => {
    const h = setup()
    const ws = await h.open()
    ws.serverClose(4001, 'bad token')
    const [error] = h.of('error')
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' })
    expect(error?.message).toBe(
      'the server refused the connection as unauthorized (4001 bad token): configure auth',
    )
  })

  it('a WebSocket constructor that throws a string keeps its text', async () => {
    const h = setup({
      WebSocket: function blocked() {
        throw 'blocked by CSP'
      } as unknown as SocketOptions['WebSocket'],
      retry: () => null,
    })
    h.socket.connect()
    await settle()
    expect(h.of('error')[0]).toMatchObject({ code: 'CONNECTION_FAILED', message: 'blocked by CSP' })
  })

  it('an auth provider that never answers names auth.timeoutMs and the time', async () => {
    const h = setup({
      auth: auth({ getToken: () => new Promise<string>(() => {}), timeoutMs: 500 }),
    })
    h.socket.connect()
    await settle()
    await vi.advanceTimersByTimeAsync(500)
    expect(h.of('error')[0]).toMatchObject({
      code: 'AUTH_FAILED',
      message: 'auth.getToken gave no token within 500 ms (auth.timeoutMs)',
    })
  })

  it('a re-queued idempotent request that is aborted leaves the queue at once', async () => {
    const h = setup()
    const ws = await h.open()
    const controller = new AbortController()
    const pending = h.socket
      .request('read', 1, { idempotent: true, signal: controller.signal })
      .catch((error: unknown) => error)
    ws.serverClose(1006)
    await settle()
    expect(h.socket.stats).toMatchObject({ queuedMessages: 1, pendingRequests: 1 })
    controller.abort()
    expect(await pending).toMatchObject({ code: 'ABORTED' })
    expect(h.socket.stats).toMatchObject({ queuedMessages: 0, queuedBytes: 0, pendingRequests: 0 })
  })

  it('a nested option given as undefined or null takes its default, like a top-level option', async () => {
    const h = setup({
      queue: { maxMessages: undefined, ttlMs: null as unknown as number },
      heartbeat: heartbeat({ intervalMs: undefined }),
      retry: { factor: undefined, jitter: undefined },
      // Before: an immediate provider timeout (setTimeout with undefined), now the 10 s default.
      auth: auth({ getToken: () => new Promise<string>(() => {}), timeoutMs: undefined }),
      connectTimeoutMs: 20_000,
    })
    h.socket.connect()
    await settle()
    await vi.advanceTimersByTimeAsync(9_999)
    expect(h.of('error')).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(h.of('error')[0]).toMatchObject({
      code: 'AUTH_FAILED',
      message: 'auth.getToken gave no token within 10000 ms (auth.timeoutMs)',
    })
  })

  it('binaryType: null means the default, like undefined', async () => {
    const h = setup({ binaryType: null as unknown as 'blob' })
    expect((await h.open()).binaryType).toBe('arraybuffer')
  })

  it('a validator may return any thenable, not only a Promise of this realm', async () => {
    const thenable = (value: unknown) => ({
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test is about
      then: (ok: (result: unknown) => void) => ok({ value }),
    })
    const h = setup({
      validate: {
        incoming: {
          chat: {
            '~standard': {
              version: 1,
              vendor: 'test',
              validate: (d: unknown) => thenable({ checked: d }),
            },
          },
        },
      } as never,
    })
    const received: unknown[] = []
    h.socket.onMessage('chat', (data) => received.push(data))
    const ws = await h.open()
    ws.receive({ type: 'chat', data: 1 })
    await settle()
    expect(received).toEqual([{ checked: 1 }])
  })

  it('a handler added while a message is dispatched first sees the next message', async () => {
    const h = setup()
    const seen: string[] = []
    const off = h.socket.onMessage('chat', (data) => {
      seen.push(`first:${data}`)
      h.socket.onMessage('chat', (later) => seen.push(`added:${later}`))
      off()
    })
    const ws = await h.open()
    ws.receive({ type: 'chat', data: 1 })
    ws.receive({ type: 'chat', data: 2 })
    expect(seen).toEqual(['first:1', 'added:2'])
  })
})
