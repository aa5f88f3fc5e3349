import { beforeAll, describe, expect, it } from 'vitest'
import {
  auth,
  heartbeat,
  RemoteError,
  requests,
  type SocketEvents,
  type TokenContext,
} from '../../src/index.ts'
import { integrationHarness, record, settle, waitFor } from './helpers.ts'
import { plain, spyingWebSocket } from './peers/frames.ts'
import { type Peer, peerHarness, startPythonPeer } from './peers/processes.ts'

// An independent peer: Python's `websockets` (Debian's python3-websockets), running
// peers/python-peer.py, which speaks the way ordinary servers do rather than the way the
// reference server was written to. One process for the whole file.
const peers = peerHarness('all')
const h = integrationHarness()
let python: Peer & { url: string }
beforeAll(async () => {
  python = peers.add(await startPythonPeer())
})

describe('a plain echo server (python websockets), with default options', () => {
  it('every echoed frame reaches message listeners, in order, whatever it holds', async () => {
    const socket = h.socket(`${python.url}/echo`)
    const messages: SocketEvents['message'][] = []
    socket.on('message', (message) => messages.push(message))
    const chats: unknown[] = []
    socket.onMessage('chat', (data) => chats.push(data))
    await waitFor(() => socket.state === 'open', 10_000, 'open')

    // What a seed's echo server sends back: plain text, JSON that is not an envelope,
    // an envelope, and binary. README: `message` fires for every inbound frame.
    const frames = ['hello', 'ünïcödé ✓', '{"hello":1}', '[1,2,3]', '42', '']
    for (const frame of frames) socket.sendRaw(frame)
    socket.sendRaw(new Uint8Array([0, 1, 2, 255]))
    expect(socket.send('chat', { text: 'hi' })).toBe('sent')
    const expected = frames.length + 2
    // A frame reported as an error instead ends the wait too, so a failure shows at once.
    const errors: string[] = []
    socket.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    await waitFor(() => messages.length + errors.length >= expected, 10_000, `${expected} echoes`)

    expect(messages.map((m) => plain(m.data))).toEqual([
      ...frames,
      [0, 1, 2, 255],
      '{"type":"chat","data":{"text":"hi"}}',
    ])
    expect(messages.at(-1)?.envelope).toEqual({ type: 'chat', data: { text: 'hi' } })
    expect(chats).toEqual([{ text: 'hi' }])
    expect(socket.state).toBe('open')
  })

  it("application listeners never see the socket's own $ping coming back", async () => {
    const written: unknown[] = []
    const socket = h.socket(`${python.url}/echo`, {
      WebSocket: spyingWebSocket(written),
      heartbeat: heartbeat({ intervalMs: 300 }),
    })
    const messages: SocketEvents['message'][] = []
    socket.on('message', (message) => messages.push(message))
    const unhandled: unknown[] = []
    socket.on('unhandled', (envelope) => unhandled.push(envelope))
    const markers: unknown[] = []
    socket.onMessage('marker', (data) => markers.push(data))
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 10_000, 'open')

    // The echo server sends the ping back as it came (it knows no `$pong`); any inbound
    // frame is proof of life, so the connection stays up, and the echo is the socket's own.
    await waitFor(() => written.length >= 1, 10_000, 'a heartbeat ping')
    expect(String(written[0])).toContain('$ping')
    // The echo keeps order: once this comes back, so has the ping before it.
    socket.send('marker', 'after the ping')
    await waitFor(
      () => messages.length + rec.of('error').length >= 1,
      10_000,
      'the echo of the app frame',
    )
    expect(messages.map((m) => m.envelope)).toEqual([{ type: 'marker', data: 'after the ping' }])
    expect(markers).toEqual(['after the ping'])
    expect(unhandled).toEqual([])
    expect(rec.of('error')).toEqual([])
    expect(rec.of('close')).toEqual([])
  })
})

describe('responses with `re` and no `type`, optional fields null (a pydantic-style server)', () => {
  it('requests resolve, error responses reject with RemoteError, null fields are not malformed', async () => {
    const socket = h.socket(`${python.url}/rpc`, { requests: requests({ timeoutMs: 5000 }) })
    const rec = record(socket)
    const ticks: unknown[] = []
    socket.onMessage('tick', (data) => ticks.push(data))
    await waitFor(() => socket.state === 'open', 10_000, 'open')

    // {"re": id, "data": …}: `re` is the MUST of PROTOCOL.md §2, `type` only a SHOULD.
    const [minimal, modelled, missing] = await Promise.all([
      settle(socket.request('lookup', { user: 'ada' })),
      // {"type": null, "id": null, "re": id, "data": …, "error": null}
      settle(socket.request('lookup-model', { user: 'grace' })),
      settle(socket.request('missing', { user: 'nobody' })),
    ])
    // An event with "id": null, "re": null, "error": null.
    const errorsBefore = rec.of('error').length
    expect(socket.send('subscribe')).toBe('sent')
    await waitFor(() => ticks.length > 0 || rec.of('error').length > errorsBefore, 10_000, 'a tick')

    const decodeErrors = rec.of('error').map((error) => `${error.code}: ${error.message}`)
    expect(decodeErrors).toEqual([])
    expect(minimal).toMatchObject({ ok: true, value: { name: 'Ada', nickname: null } })
    expect(modelled).toMatchObject({ ok: true, value: { name: 'Grace', nickname: null } })
    expect(missing.ok).toBe(false)
    const remote = (missing as { error: unknown }).error
    expect(remote).toBeInstanceOf(RemoteError)
    expect(remote).toMatchObject({ remoteCode: 'NOT_FOUND', message: 'no such user' })
    expect(ticks).toEqual([{ n: 1, note: null }])
  })
})

describe('close codes from the python peer (PROTOCOL.md §7)', () => {
  it('1000: the socket ends closed, and the error event says the server asked to stop', async () => {
    const socket = h.socket(`${python.url}/close/1000`)
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 10_000, 'open')
    socket.sendRaw('please close')
    await waitFor(() => socket.state === 'closed', 10_000, 'closed')

    expect(rec.of('close')).toEqual([
      { code: 1000, reason: 'closed by the python peer', wasClean: true, willReconnect: false },
    ])
    expect(rec.of('reconnecting')).toEqual([])
    // README, Lifecycle: the socket ends in `closed` when the server closes with a code
    // that means "do not come back"; "the `error` event and `snapshot.lastError` say why".
    const errors = rec.of('error')
    expect(errors.map((error) => error.code)).toEqual(['CLOSED_BY_SERVER'])
    expect(errors[0]?.details).toMatchObject({ code: 1000 })
    expect(socket.getSnapshot().lastError).toBe(errors[0])
    expect(socket.getSnapshot().lastClose).toMatchObject({ code: 1000 })
  })

  it('1001: reconnects with backoff, and the new connection stays up', async () => {
    const socket = h.socket(`${python.url}/close/1001`)
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 10_000, 'open')
    socket.sendRaw('please close')
    await waitFor(() => rec.of('open').length >= 2, 10_000, 'a second open')

    expect(rec.of('close')).toEqual([
      { code: 1001, reason: 'closed by the python peer', wasClean: true, willReconnect: true },
    ])
    expect(rec.of('reconnecting')).toEqual([
      expect.objectContaining({
        attempt: 1,
        reason: 'connection-lost',
        lastClose: expect.objectContaining({ code: 1001 }),
      }),
    ])
    expect(rec.of('error')).toEqual([])
    expect(socket.state).toBe('open')
  })

  it('1008 without auth: stops with CLOSED_BY_SERVER', async () => {
    const socket = h.socket(`${python.url}/close/1008`)
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 10_000, 'open')
    socket.sendRaw('please close')
    await waitFor(() => socket.state === 'closed', 10_000, 'closed')

    expect(rec.of('close')).toEqual([
      { code: 1008, reason: 'closed by the python peer', wasClean: true, willReconnect: false },
    ])
    expect(rec.of('error').map((error) => error.code)).toEqual(['CLOSED_BY_SERVER'])
    expect(rec.of('reconnecting')).toEqual([])
    expect(rec.of('open')).toHaveLength(1)
  })

  it('4001 with auth: asks for a fresh token once and reconnects with it', async () => {
    const calls: Pick<TokenContext, 'reason' | 'forceRefresh'>[] = []
    const socket = h.socket(`${python.url}/auth`, {
      auth: auth({
        // The python peer reads the query; set explicitly so the test does not follow the default.
        placement: 'query',
        getToken: ({ reason, forceRefresh }) => {
          calls.push({ reason, forceRefresh })
          return forceRefresh ? 'fresh-token' : 'stale-token'
        },
      }),
    })
    const rec = record(socket)
    const echoes: unknown[] = []
    socket.onMessage('hello', (data) => echoes.push(data))
    await waitFor(() => rec.of('reconnecting').length >= 1, 10_000, 'the 4001 close')
    await waitFor(() => socket.state === 'open' && calls.length >= 2, 10_000, 'open again')
    // Proof that this connection is the accepted one: the peer echoes only for a fresh token.
    socket.send('hello', 'authorized?')
    await waitFor(() => echoes.length >= 1, 10_000, 'an echo')

    expect(calls).toEqual([
      { reason: 'connect', forceRefresh: false },
      { reason: 'auth-failure', forceRefresh: true },
    ])
    expect(rec.of('reconnecting')).toEqual([
      expect.objectContaining({
        reason: 'auth-failure',
        lastClose: expect.objectContaining({ code: 4001, reason: 'token expired' }),
      }),
    ])
    expect(echoes).toEqual(['authorized?'])
  })
})
