import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { checkEnvelope, protocolEnvelope } from '../../src/codec.ts'
import {
  type Codec,
  heartbeat,
  jsonCodec,
  type MessageData,
  rawCodec,
  SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { idOf, recordingSocket } from '../helpers/recording-socket.ts'
import { expectSocketError } from '../helpers/unit-harness.ts'

const ENDPOINT = 'ws://example.test/codec'

function setup(options: SocketOptions = {}) {
  return recordingSocket(ENDPOINT, options)
}

function decodeError(codec: Codec, data: MessageData): SocketError {
  return expectSocketError(() => codec.decode(data), 'DECODE_FAILED')
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
})

describe('jsonCodec: the prototype-key guard', () => {
  // Each character of a key may be spelled as itself or as a \u escape, in either case.
  const spell = (key: string, escaped: (i: number) => boolean, upper = false) =>
    [...key]
      .map((c, i) => {
        if (!escaped(i)) return c
        const hex = c.charCodeAt(0).toString(16).padStart(4, '0')
        return `\\u${upper ? hex.toUpperCase() : hex}`
      })
      .join('')

  for (const key of ['__proto__', 'constructor', 'prototype']) {
    const spellings = [
      key,
      spell(key, () => true),
      spell(key, () => true, true),
      spell(key, (i) => i % 2 === 0),
      spell(key, (i) => i === key.length - 1, true),
    ]
    it(`refuses every spelling of "${key}", at any depth`, () => {
      for (const spelled of spellings) {
        for (const frame of [
          `{"${spelled}":{"polluted":1},"type":"x"}`,
          `{"type":"x","data":{"a":[1,{"b":{"${spelled}" :{"polluted":1}}}]}}`,
          `{"type":"x","data":[[[{"${spelled}"\n:\t1}]]]}`,
        ]) {
          const error = decodeError(jsonCodec, frame)
          expect(error.message).toBe(`malformed envelope: forbidden key "${key}"`)
        }
      }
    })
  }

  it('accepts the same words as values, and keys that only contain them', () => {
    const frames = [
      '{"type":"x","data":{"kind":"constructor","of":"__proto__"}}',
      '{"type":"x","data":["prototype","\\u0063onstructor"]}',
      '{"type":"x","data":{"constructors":1,"my__proto__":2,"prototypes":3}}',
      // Looks like a forbidden key to a scan of the text: it is the tail of `a"constructor`.
      '{"type":"x","data":{"a\\"constructor":1,"b\\"__proto__" :2}}',
    ]
    for (const frame of frames) {
      expect(jsonCodec.decode(frame)).toEqual(JSON.parse(frame))
    }
  })

  it('parses with no reviver: no call per key, whatever escapes the frame has', () => {
    // A reviver made one `\u` escape anywhere cost 30× a plain parse (scripts/decode-cost.ts).
    const parse = vi.spyOn(JSON, 'parse')
    const frames = [
      '{"type":"x","data":"caf\\u00e9"}',
      '{"type":"x","data":{"\\u0061":"\\u0062"}}',
      '{"type":"x","data":{"a\\"constructor":1}}',
    ]
    for (const frame of frames) jsonCodec.decode(frame)
    expect(parse).toHaveBeenCalledTimes(frames.length)
    for (const call of parse.mock.calls) expect(call).toHaveLength(1)
  })

  it('walks any depth without overflowing the stack', () => {
    const depth = 20_000
    const nested = `${'['.repeat(depth)}"caf\\u00e9"${']'.repeat(depth)}`
    const deep = `{"type":"x","data":{"a\\"constructor":${nested}}}`
    expect(jsonCodec.decode(deep)?.type).toBe('x')
    const hidden = `{"type":"x","data":${'['.repeat(depth)}{"__proto__":1}${']'.repeat(depth)}}`
    expect(decodeError(jsonCodec, hidden).message).toContain('forbidden key "__proto__"')
  })

  it('leaves no prototype polluted by a refused frame', () => {
    decodeError(jsonCodec, '{"type":"x","__proto__":{"polluted":1}}')
    decodeError(jsonCodec, '{"type":"x","data":{"constructor":{"prototype":{"polluted":1}}}}')
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false)
  })
})

describe('jsonCodec: the envelope rules', () => {
  it('accepts a response with `re` and no `type`, as type ""', () => {
    expect(jsonCodec.decode('{"re":"abc","data":[1]}')).toEqual({ type: '', re: 'abc', data: [1] })
    expect(jsonCodec.decode('{"re":"abc","error":{"code":"E","message":"m"}}')).toEqual({
      type: '',
      re: 'abc',
      error: { code: 'E', message: 'm' },
    })
  })

  it('treats fields sent as null as absent, and keeps data: null', () => {
    // What pydantic's model_dump_json() writes for unset optional fields.
    const event = '{"type":"chat","id":null,"re":null,"error":null,"data":null}'
    expect(jsonCodec.decode(event)).toEqual({ type: 'chat', data: null })
    const response = '{"type":null,"id":null,"re":"abc","error":null,"data":{"a":1}}'
    expect(jsonCodec.decode(response)).toEqual({ type: '', re: 'abc', data: { a: 1 } })
  })

  it('still refuses what is not an envelope, and points at rawCodec', () => {
    for (const frame of [
      'hello',
      '{"type":"x",',
      '[1]',
      '"x"',
      'null',
      '{"data":1}',
      '{"type":""}',
    ]) {
      expect(decodeError(jsonCodec, frame).message).toMatch(
        /^frame is not (JSON|a JSON envelope \(no "type"\)); for a server that does not speak the envelope, use codec: rawCodec$/,
      )
    }
    expect(decodeError(jsonCodec, '{"type":null,"data":1}').message).toContain('rawCodec')
    expect(decodeError(jsonCodec, '{"type":"x","re":7}').message).toBe(
      'malformed envelope: "re" must be a string',
    )
  })

  it('passes binary frames through', () => {
    expect(jsonCodec.decode(new ArrayBuffer(3))).toBeUndefined()
  })
})

describe('checkEnvelope', () => {
  it('returns a valid envelope unchanged, the same object', () => {
    const envelope = { type: 'x', id: 'a', data: { b: 1 }, extra: true }
    expect(checkEnvelope(envelope)).toBe(envelope)
  })

  it('copies instead of modifying what a codec returned', () => {
    const decoded = Object.freeze({ type: 'x', id: null, re: null, error: null, data: null })
    expect(checkEnvelope(decoded)).toEqual({ type: 'x', data: null })
    expect(decoded).toEqual({ type: 'x', id: null, re: null, error: null, data: null })
    const response = Object.freeze({ re: 'r', data: 1 })
    expect(checkEnvelope(response)).toEqual({ type: '', re: 'r', data: 1 })
  })

  it('refuses what a custom decode returned when it is not an envelope', () => {
    for (const value of [{ hello: 1 }, 42, 'text', null, [], [{ type: 'x' }], { type: 1 }, true]) {
      const error = expectSocketError(() => checkEnvelope(value), 'DECODE_FAILED')
      expect(error.message).toBe(
        'codec.decode must return an envelope ({ type: string, … }) or undefined',
      )
    }
    expectSocketError(() => checkEnvelope({ type: 'x', id: 5 }), 'DECODE_FAILED', /"id"/)
    expectSocketError(() => checkEnvelope({ re: 'r', error: 'e' }), 'DECODE_FAILED', /"error"/)
  })
})

describe('protocolEnvelope', () => {
  it('finds protocol envelopes in text', () => {
    expect(protocolEnvelope('{"type":"$pong","re":"p1"}')).toEqual({ type: '$pong', re: 'p1' })
    expect(protocolEnvelope(' {\n "type" : "$ping", "id": "p2"}')).toEqual({
      type: '$ping',
      id: 'p2',
    })
    expect(protocolEnvelope('{"id":"p3","type":"$ping"}')).toEqual({ type: '$ping', id: 'p3' })
  })

  it('says undefined for everything else, without throwing', () => {
    const others: MessageData[] = [
      'hello',
      '$pong',
      '{"type":"pong"}',
      '{"type":"$pong"', // cut short: not JSON, so not a protocol frame
      '{"data":{"type":"$pong"}}',
      '[{"type":"$pong"}]',
      'say {"type":"$pong"}',
      new ArrayBuffer(4),
    ]
    for (const data of others) expect(protocolEnvelope(data)).toBeUndefined()
  })

  it('refuses a protocol envelope that breaks the rules', () => {
    expectSocketError(
      () => protocolEnvelope('{"type":"$pong","re":7}'),
      'DECODE_FAILED',
      /"re" must be a string/,
    )
    expectSocketError(
      () => protocolEnvelope('{"type":"$x","data":{"__proto__":{"polluted":1}}}'),
      'DECODE_FAILED',
      /forbidden key/,
    )
  })
})

describe('rawCodec', () => {
  it('decodes nothing but protocol envelopes', () => {
    for (const data of [
      'hello',
      '{"type":"chat","data":1}',
      '{"re":"x"}',
      '42',
      new ArrayBuffer(1),
    ]) {
      expect(rawCodec.decode(data)).toBeUndefined()
    }
    expect(rawCodec.decode('{"type":"$ping","id":"a"}')).toEqual({ type: '$ping', id: 'a' })
  })

  it('encodes the data itself: text and binary as is, other values as JSON', () => {
    const bytes = new Uint8Array([1, 2, 3])
    const blob = new Blob(['b'])
    const buffer = new ArrayBuffer(2)
    expect(rawCodec.encode({ type: 'm', data: 'hello' })).toBe('hello')
    expect(rawCodec.encode({ type: 'm', data: bytes })).toBe(bytes)
    expect(rawCodec.encode({ type: 'm', data: buffer })).toBe(buffer)
    expect(rawCodec.encode({ type: 'm', data: blob })).toBe(blob)
    expect(rawCodec.encode({ type: 'm', data: { a: [1] } })).toBe('{"a":[1]}')
    expect(rawCodec.encode({ type: 'm', data: null })).toBe('null')
    expect(rawCodec.encode({ type: 'm', data: 7 })).toBe('7')
  })

  it('encodes protocol envelopes as JSON envelopes', () => {
    expect(rawCodec.encode({ type: '$ping', id: 'p' })).toBe('{"type":"$ping","id":"p"}')
    expect(rawCodec.encode({ type: '$auth', data: { token: 't' } })).toBe(
      '{"type":"$auth","data":{"token":"t"}}',
    )
  })

  it('refuses what it cannot send: no data, or a request', () => {
    expectSocketError(() => rawCodec.encode({ type: 'm' }), 'ENCODE_FAILED', /send\("m"\)/)
    expectSocketError(() => rawCodec.encode({ type: 'm', data: () => 1 }), 'ENCODE_FAILED')
    expectSocketError(
      () => rawCodec.encode({ type: 'q', id: 'i', data: 1 }),
      'ENCODE_FAILED',
      /cannot send requests/,
    )
  })
})

describe('through a socket', () => {
  it('a response with `re` and no `type` resolves its request', async () => {
    const { socket, open, errors } = setup()
    const ws = open()
    const answer = socket.request('history', { room: 'a' })
    ws.receive({ re: idOf(ws, 'history'), data: ['x'] })
    await expect(answer).resolves.toEqual(['x'])
    const failing = socket.request('history', { room: 'b' })
    const second = ws.sentEnvelopes.filter((e) => e.type === 'history')[1]?.id
    ws.receive({ re: second, error: { code: 'NOT_FOUND', message: 'no room' } })
    await expect(failing).rejects.toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'NOT_FOUND' })
    expect(errors).toEqual([])
  })

  it('pydantic-style nulls: events reach handlers, responses resolve', async () => {
    const { socket, open, errors } = setup()
    const seen: unknown[] = []
    socket.onMessage('chat', (data) => seen.push(data))
    const ws = open()
    ws.receive({ type: 'chat', id: null, re: null, error: null, data: null })
    ws.receive({ type: 'chat', id: null, re: null, error: null, data: { text: 'hi' } })
    const answer = socket.request('history')
    ws.receive({ type: 'history', id: null, re: idOf(ws, 'history'), error: null, data: null })
    await expect(answer).resolves.toBeNull()
    expect(seen).toEqual([null, { text: 'hi' }])
    expect(errors).toEqual([])
  })

  it('DECODE_FAILED for plain text names rawCodec', () => {
    const { open, errors } = setup()
    open().receive('hello from a plain server')
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      [
        'DECODE_FAILED',
        'frame is not JSON; for a server that does not speak the envelope, use codec: rawCodec',
      ],
    ])
  })

  it('rawCodec: every frame of a plain server reaches `message` as is', () => {
    const { socket, open, errors, messages, unhandled } = setup({ codec: rawCodec })
    const handler = vi.fn()
    socket.onMessage('chat', handler)
    const ws = open()
    const buffer = new ArrayBuffer(2)
    const frames: MessageData[] = ['hello', '{"type":"chat","data":1}', '{"re":"x"}', buffer, '']
    for (const frame of frames) ws.receive(frame)
    expect(messages).toEqual(frames.map((data) => ({ data, envelope: undefined })))
    expect(handler).not.toHaveBeenCalled()
    expect(unhandled).toEqual([])
    expect(errors).toEqual([])
  })

  it('rawCodec: send() writes the data, request() rejects with ENCODE_FAILED', async () => {
    const { socket, open } = setup({ codec: rawCodec })
    const ws = open()
    expect(socket.send('line', 'hello')).toBe('sent')
    socket.send('line', { a: 1 })
    socket.sendRaw('raw')
    expect(ws.sent).toEqual(['hello', '{"a":1}', 'raw'])
    await expect(socket.request('q', 1)).rejects.toMatchObject({ code: 'ENCODE_FAILED' })
    expect(() => socket.send('line')).toThrow(SocketError)
    expect(ws.sent).toHaveLength(3)
  })

  it('rawCodec: an echo of the heartbeat is kept from application code; a $pong counts', async () => {
    const { socket, open, errors, messages } = setup({
      codec: rawCodec,
      heartbeat: heartbeat({ intervalMs: 1000, timeoutMs: 500 }),
    })
    const ws = open()
    await vi.advanceTimersByTimeAsync(1000)
    const ping = ws.sentEnvelopes.find((e) => e.type === '$ping')
    expect(ping?.id).toEqual(expect.any(String))
    // An echo server sends the ping back as it came.
    ws.receive(ws.sent.at(-1))
    await vi.advanceTimersByTimeAsync(250)
    expect(socket.stats.rttMs).toBeNull()
    ws.receive({ type: '$pong', re: ping?.id })
    expect(socket.stats.rttMs).toBe(250)
    expect(messages).toEqual([])
    expect(socket.state).toBe('open')
    expect(errors).toEqual([])
  })
})
