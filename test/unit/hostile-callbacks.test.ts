import { describe, expect, it, vi } from 'vitest'
import {
  type Codec,
  jsonCodec,
  ReconnectingSocket,
  rawCodec,
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
      heartbeat: { intervalMs: 1000, ping: () => Object.create(null), isPong: () => false },
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
      heartbeat: {
        intervalMs: 1000,
        ping: () => {
          throw Object.create(null)
        },
        isPong: () => false,
      },
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
    const { socket, fake } = setup({ auth: { getToken: () => 't' } })
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
