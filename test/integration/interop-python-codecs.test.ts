import { beforeAll, describe, expect, it } from 'vitest'
import { type Codec, heartbeat, rawCodec } from '../../src/index.ts'
import { integrationHarness, record, waitFor } from './helpers.ts'
import { plain, spyingWebSocket } from './peers/frames.ts'
import { type Peer, peerHarness, startPythonPeer } from './peers/processes.ts'

// Codecs against an independent peer: Python's `websockets` (Debian's python3-websockets)
// running peers/python-peer.py. One process for the whole file.
const peers = peerHarness('all')
const h = integrationHarness()
let python: Peer & { url: string }
beforeAll(async () => {
  python = peers.add(await startPythonPeer())
})

describe('rawCodec against a plain echo server', () => {
  it('text and binary frames, from sendRaw() and send(), come back unchanged, with no error', async () => {
    const socket = h.socket(`${python.url}/echo`, { codec: rawCodec })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 10_000, 'open')

    const frames = ['hello', 'ünïcödé ✓', '{"type":"chat","data":{}}', '{"kind":1}', '']
    for (const frame of frames) expect(socket.sendRaw(frame)).toBe('sent')
    socket.sendRaw(new Uint8Array([7, 0, 255]))
    // send() with rawCodec writes the data itself: text as is, other JSON values stringified.
    expect(socket.send('line', 'typed text')).toBe('sent')
    expect(socket.send('point', { x: 1 })).toBe('sent')
    const expected = frames.length + 3
    await waitFor(
      () => rec.of('message').length + rec.of('error').length >= expected,
      10_000,
      `${expected} echoes`,
    )

    expect(rec.of('error')).toEqual([])
    expect(rec.of('message').map((m) => plain(m.data))).toEqual([
      ...frames,
      [7, 0, 255],
      'typed text',
      '{"x":1}',
    ])
    expect(rec.of('message').every((m) => m.envelope === undefined)).toBe(true)
    expect(rec.of('unhandled')).toEqual([])
    expect(socket.state).toBe('open')
  })

  it("with the heartbeat on, the socket's own $ping echoes never reach message listeners", async () => {
    const written: unknown[] = []
    const socket = h.socket(`${python.url}/echo`, {
      codec: rawCodec,
      WebSocket: spyingWebSocket(written),
      heartbeat: heartbeat({ intervalMs: 300 }),
    })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 10_000, 'open')
    // Whatever the codec makes of the ping, the echo server sends it back as it came.
    await waitFor(() => written.length >= 1, 10_000, 'a heartbeat ping')
    socket.sendRaw('app frame')
    await waitFor(
      () => rec.of('message').length + rec.of('error').length >= 1,
      10_000,
      'the echo of the app frame',
    )

    expect(rec.of('message').map((m) => plain(m.data))).toEqual(['app frame'])
    expect(rec.of('error')).toEqual([])
    expect(rec.of('close')).toEqual([])
  })
})

/** The python peer's format: `{ kind, payload }`, requests add `ref`, replies `inReplyTo`. */
const kindCodec: Codec = {
  encode: ({ type, id, data }) =>
    JSON.stringify(
      id === undefined ? { kind: type, payload: data } : { kind: type, payload: data, ref: id },
    ),
  decode(data) {
    if (typeof data !== 'string') return undefined
    const frame = JSON.parse(data) as { kind?: unknown; payload?: unknown; inReplyTo?: unknown }
    if (typeof frame.kind !== 'string') throw new Error('a frame without "kind"')
    const envelope = { type: frame.kind, data: frame.payload }
    return typeof frame.inReplyTo === 'string' ? { ...envelope, re: frame.inReplyTo } : envelope
  },
}

interface KindSchema {
  incoming: { welcome: { server: string }; greeting: { text: string } }
  outgoing: { greet: { name: string } }
  requests: { add: { request: { a: number; b: number }; response: number } }
}

describe('a server with its own JSON format and no `type` field', () => {
  it('a custom codec maps it: events both ways, and requests answered by `inReplyTo`', async () => {
    const socket = h.socket<KindSchema>(`${python.url}/kind`, { codec: kindCodec })
    const rec = record(socket)
    const welcomes: unknown[] = []
    const greetings: unknown[] = []
    socket.onMessage('welcome', (data) => welcomes.push(data))
    socket.onMessage('greeting', (data) => greetings.push(data))
    await waitFor(() => welcomes.length >= 1, 10_000, 'the welcome the peer sends on connect')

    expect(socket.send('greet', { name: 'ada' })).toBe('sent')
    expect(await socket.request('add', { a: 2, b: 3 }, { timeoutMs: 5000 })).toBe(5)
    await waitFor(() => greetings.length >= 1, 10_000, 'a greeting')

    expect(welcomes).toEqual([{ server: 'python' }])
    expect(greetings).toEqual([{ text: 'hello ada' }])
    expect(rec.of('message').map((m) => m.envelope?.type)).toEqual(['welcome', 'greeting', 'sum'])
    expect(rec.of('error')).toEqual([])
  })

  it('a codec whose decode returns a non-envelope (decode: JSON.parse) breaks nothing', async () => {
    // Issue 13: `{"kind": …}` decoded by JSON.parse has no `type`, and that used to end the
    // process. Every frame must still be accounted for, and the connection stay usable.
    const codec: Codec = { encode: JSON.stringify, decode: JSON.parse }
    const socket = h.socket(`${python.url}/kind`, { codec })
    const rec = record(socket)
    await waitFor(
      () => rec.of('message').length + rec.of('error').length >= 1,
      10_000,
      'the welcome, as a message or an error',
    )
    // The peer answers a frame without "kind" with one more frame of its format.
    socket.send('greet', { name: 'ada' })
    await waitFor(
      () => rec.of('message').length >= 2 || rec.of('close').length > 0,
      10_000,
      'both frames of the peer reach message listeners',
    )

    expect(rec.of('message').map((m) => JSON.parse(String(m.data)).kind)).toEqual([
      'welcome',
      'unknown-kind',
    ])
    expect(rec.of('error').every((error) => error.code === 'DECODE_FAILED')).toBe(true)
    expect(socket.state).toBe('open')
    expect(rec.of('close')).toEqual([])
  })
})
