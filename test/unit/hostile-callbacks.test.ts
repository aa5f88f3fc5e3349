import { describe, expect, it, vi } from 'vitest'
import {
  auth,
  type Codec,
  heartbeat,
  jsonCodec,
  ReconnectingSocket,
  rawCodec,
  requests,
  type SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { expectSocketError, unitHarness } from '../helpers/unit-harness.ts'

// Issue 13: user code that throws or returns values nobody planned for (no message, a
// null-prototype object, a non-envelope) is reported through `error` and never crashes the
// process or the socket.

const harness = unitHarness()

function setup(
  options: SocketOptions = {},
  url: ConstructorParameters<typeof ReconnectingSocket>[0] = 'ws://hostile.test/',
) {
  const fake = fakeWebSocketFactory()
  const socket = harness.track(
    new ReconnectingSocket(url, {
      requests: requests(),
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      retry: () => 1000,
      ...options,
    }),
  )
  const messages: { data: unknown; envelope: unknown }[] = []
  socket.on('message', (event) => messages.push(event))
  return { fake, socket, messages }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

describe('values without a usable message', () => {
  it.each([
    ['a null-prototype object', () => Object.create(null)],
    ['undefined', () => undefined],
    ['a string', () => 'plain text'],
    [
      'an object whose message getter throws',
      () => ({
        get message(): string {
          throw new Error('getter')
        },
      }),
    ],
  ])('a URL provider that throws %s fails the attempt with CONNECTION_FAILED', async (_, value) => {
    const { socket, fake } = setup({}, () => {
      throw value()
    })
    socket.connect()
    await settle()
    const [error] = harness.expectErrors((e) => e.code === 'CONNECTION_FAILED')
    expect(error?.message).toEqual(expect.any(String))
    expect(socket.state).toBe('reconnecting')
    expect(fake.sockets).toHaveLength(0)
  })

  it('a heartbeat ping() that returns something that is not a frame is reported, and nothing is sent', async () => {
    const { socket, fake } = setup({
      heartbeat: heartbeat({
        intervalMs: 1000,
        ping: () => Object.create(null),
        isPong: () => false,
      }),
    })
    socket.connect()
    await settle()
    fake.last().open()
    const before = fake.last().sent.length
    vi.advanceTimersByTime(1000)
    const [error] = harness.expectErrors((e) => e.code === 'HANDLER_FAILED')
    expect(error?.message).toMatch(/a protocol frame must be a string or binary data/)
    expect(fake.last().sent).toHaveLength(before)
    expect(socket.state).toBe('open')
  })

  it('a heartbeat ping() that throws a null-prototype object is reported', async () => {
    const { socket, fake } = setup({
      heartbeat: heartbeat({
        intervalMs: 1000,
        ping: () => {
          throw Object.create(null)
        },
        isPong: () => false,
      }),
    })
    socket.connect()
    await settle()
    fake.last().open()
    vi.advanceTimersByTime(1000)
    expect(harness.expectErrors((e) => e.code === 'HANDLER_FAILED')).toHaveLength(1)
    expect(socket.state).toBe('open')
  })
})

describe('a custom codec that returns what is not an envelope', () => {
  const parseOnly: Codec = { encode: JSON.stringify, decode: (data) => JSON.parse(String(data)) }

  it.each([
    ['an object without type', '{"hello":1}'],
    ['a number', '42'],
    ['null', 'null'],
    ['an array', '[1,2]'],
  ])(
    'decode returning %s: DECODE_FAILED, the frame still reaches message listeners raw',
    async (_, frame) => {
      const { socket, fake, messages } = setup({ codec: parseOnly })
      const handler = vi.fn()
      socket.onMessage('hello', handler)
      socket.connect()
      await settle()
      fake.last().open()
      fake.last().receive(frame)
      const [error] = harness.expectErrors((e) => e.code === 'DECODE_FAILED')
      expect(error?.message).toMatch(/must return an envelope/)
      expect(messages).toEqual([{ data: frame, envelope: undefined }])
      expect(handler).not.toHaveBeenCalled()
      expect(socket.state).toBe('open')
    },
  )

  it('never hands a protocol frame ($pong, an echoed $ping) to application code', async () => {
    const text: Codec = { encode: (e) => String(e.data), decode: () => undefined }
    const { socket, fake, messages } = setup({ codec: text })
    socket.connect()
    await settle()
    fake.last().open()
    fake.last().receive('{"type":"$ping","id":"abc"}')
    fake.last().receive('{"type":"$pong","re":"abc"}')
    fake.last().receive('plain')
    expect(messages).toEqual([{ data: 'plain', envelope: undefined }])
  })
})

describe('encoding', () => {
  it("passes a codec's own ENCODE_FAILED through, so its reason is in the message", async () => {
    const { socket } = setup({ codec: rawCodec })
    const error = await socket.request('q').catch((e: SocketError) => e)
    expect((error as SocketError).code).toBe('ENCODE_FAILED')
    expect((error as SocketError).message).toMatch(/rawCodec cannot send requests/)
  })
})

describe('the default codec and plain servers', () => {
  it('a text frame that is not an envelope reaches message listeners, with a DECODE_FAILED pointing at rawCodec', async () => {
    const { socket, fake, messages } = setup({ codec: jsonCodec })
    socket.connect()
    await settle()
    fake.last().open()
    fake.last().receive('hello from a plain echo server')
    const [error] = harness.expectErrors((e) => e.code === 'DECODE_FAILED')
    expect(error?.message).toMatch(/rawCodec/)
    expect(messages).toEqual([{ data: 'hello from a plain echo server', envelope: undefined }])
  })
})

describe('arguments that are not frames', () => {
  it.each([123, {}, null, undefined, true, [1, 2], { byteLength: 3 }])(
    'sendRaw(%o) throws INVALID_OPTIONS and queues, sends and drops nothing',
    async (value) => {
      const { socket } = setup()
      const drops: unknown[] = []
      socket.on('drop', (drop) => drops.push(drop))
      expectSocketError(
        () => socket.sendRaw(value as never),
        'INVALID_OPTIONS',
        /sendRaw: data must be/,
      )
      expect(socket.stats).toMatchObject({ queuedMessages: 0, queuedBytes: 0 })
      expect(drops).toEqual([])
    },
  )

  it('adoptQueued() of messages whose data is not a frame throws and adopts nothing', () => {
    const { socket } = setup()
    const junk = [
      { data: 'ok', type: undefined, bytes: 2, queuedAt: 0 },
      { data: 5, type: undefined, bytes: 1, queuedAt: 0 },
    ]
    expectSocketError(() => socket.adoptQueued(junk as never), 'INVALID_OPTIONS', /adoptQueued/)
    expect(socket.stats.queuedMessages).toBe(0)
  })

  it('adoptQueued() measures the bytes itself', () => {
    const { socket } = setup()
    socket.adoptQueued([{ data: 'héllo', type: undefined, bytes: 0, queuedAt: Date.now() }])
    expect(socket.stats).toMatchObject({ queuedMessages: 1, queuedBytes: 6 })
  })
})

describe('after close()', () => {
  it('lastClose is the close the user made, not an earlier one from the server', async () => {
    const { socket, fake } = setup({ auth: auth({ getToken: () => 't' }) })
    socket.connect()
    await settle()
    fake.last().open()
    fake.last().serverClose(4001, 'token expired')
    expect(socket.getSnapshot().lastClose?.code).toBe(4001)
    socket.close()
    expect(socket.getSnapshot().lastClose).toEqual({ code: 1000, reason: '', wasClean: true })
  })

  it('flush() after close() rejects with CLOSED at once', async () => {
    const { socket } = setup()
    socket.connect()
    socket.close()
    const error = await socket.flush().catch((e: SocketError) => e)
    expect((error as SocketError).code).toBe('CLOSED')
  })
})

describe('what the review found', () => {
  it('a drop listener that calls close() while a lost connection puts requests back: closed, nothing revived', async () => {
    const { socket, fake } = setup({ queue: { maxMessages: 1 } })
    socket.connect()
    await settle()
    fake.last().open()
    const fail = (e: SocketError) => e
    const a = socket.request('a', undefined, { idempotent: true }).then(() => null, fail)
    const b = socket.request('b', undefined, { idempotent: true }).then(() => null, fail)
    socket.once('drop', () => socket.close())
    expect(() => fake.last().serverClose(1006)).not.toThrow()
    expect(socket.state).toBe('closed')
    await vi.advanceTimersByTimeAsync(5000)
    expect(fake.sockets).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
    expect([(await a)?.code, (await b)?.code].sort()).toEqual(['CLOSED', 'DROPPED'])
  })

  it('a WebSocket constructor that throws a null-prototype object fails the attempt', async () => {
    const { socket } = setup({
      WebSocket: class {
        constructor() {
          throw Object.create(null)
        }
      } as never,
    })
    socket.connect()
    await settle()
    expect(harness.expectErrors((e) => e.code === 'CONNECTION_FAILED')).toHaveLength(1)
    expect(socket.state).toBe('reconnecting')
  })

  it('sendRaw() refuses a lookalike with a forged Symbol.toStringTag', () => {
    const { socket } = setup()
    const fake = { [Symbol.toStringTag]: 'ArrayBuffer', byteLength: 3 }
    expectSocketError(() => socket.sendRaw(fake as never), 'INVALID_OPTIONS')
    expectSocketError(
      () => socket.sendRaw(new Uint8Array(new SharedArrayBuffer(4)) as never),
      'INVALID_OPTIONS',
    )
    expect(socket.stats.queuedBytes).toBe(0)
  })

  it("close() then connect() from an overflow drop listener: the send that caused it says 'dropped'", () => {
    const { socket } = setup({ queue: { maxMessages: 1 } })
    socket.connect()
    socket.sendRaw('a')
    socket.once('drop', () => {
      socket.close()
      socket.connect()
    })
    expect(socket.sendRaw('b')).toBe('dropped')
    expect(socket.stats.queuedMessages).toBe(0)
  })

  it('adoptQueued() refuses undefined and holes with INVALID_OPTIONS, and counts a bad queuedAt from now', () => {
    const { socket } = setup({ queue: { ttlMs: 1000 } })
    expectSocketError(() => socket.adoptQueued(undefined as never), 'INVALID_OPTIONS')
    expectSocketError(() => socket.adoptQueued([undefined] as never), 'INVALID_OPTIONS')
    socket.adoptQueued([{ data: 'x', type: undefined, bytes: 1, queuedAt: Number.NaN }])
    // One TTL timer, armed for the full ttlMs, not a timer that spins.
    vi.advanceTimersByTime(999)
    expect(socket.stats.queuedMessages).toBe(1)
    vi.advanceTimersByTime(1)
    expect(socket.stats.queuedMessages).toBe(0)
  })

  it('an error listener that closes the socket on DECODE_FAILED: no message on the closed socket', async () => {
    const { socket, fake, messages } = setup()
    socket.connect()
    await settle()
    fake.last().open()
    socket.once('error', () => socket.close())
    fake.last().receive('not json')
    harness.expectErrors((e) => e.code === 'DECODE_FAILED')
    expect(socket.state).toBe('closed')
    expect(messages).toEqual([])
  })

  it('a state listener that closes on open: every listener sees the transition before the close', async () => {
    const { socket, fake } = setup()
    const seen: string[] = []
    socket.on('state', ({ to }) => {
      if (to === 'open') socket.close()
    })
    socket.on('state', ({ from, to }) => seen.push(`${from}→${to}`))
    socket.on('close', ({ code }) => seen.push(`close ${code}`))
    socket.connect()
    await settle()
    fake.last().open()
    expect(seen).toEqual([
      'idle→connecting',
      'connecting→open',
      'open→closing',
      'close 1000',
      'closing→closed',
    ])
  })

  it('send() and close() with values that cannot be printed throw INVALID_OPTIONS, not TypeError', () => {
    const { socket } = setup()
    expectSocketError(() => socket.send(Object.create(null) as never), 'INVALID_OPTIONS')
    expectSocketError(() => socket.close(Object.create(null) as never), 'INVALID_OPTIONS')
    expectSocketError(() => socket.close(3000.5 as never), 'INVALID_OPTIONS')
  })
})

describe('protocol frames spelled with escapes, and thenables that call back twice', () => {
  it('rawCodec keeps escaped protocol envelopes from message listeners too', async () => {
    const { socket, fake, messages } = setup({ codec: rawCodec })
    socket.connect()
    await settle()
    fake.last().open()
    fake.last().receive('{"type":"\\u0024pong","re":"x"}')
    fake.last().receive('{"\\u0074ype":"$ping","id":"y"}')
    fake.last().receive('{"price":"$5"}')
    expect(messages).toEqual([{ data: '{"price":"$5"}', envelope: undefined }])
  })

  it('a validator whose thenable calls back twice runs the handler once', async () => {
    const twice = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value: unknown) => ({
          // biome-ignore lint/suspicious/noThenProperty: a deliberately odd thenable
          then(resolve: (result: unknown) => void) {
            resolve({ value })
            resolve({ value })
          },
        }),
      },
    }
    const { socket, fake } = setup({ validate: { incoming: { tick: twice as never } } })
    const handler = vi.fn()
    socket.onMessage('tick', handler)
    socket.connect()
    await settle()
    fake.last().open()
    fake.last().receive('{"type":"tick","data":1}')
    await settle()
    expect(handler).toHaveBeenCalledTimes(1)
  })
})
