import { describe, expect, it } from 'vitest'
import { type ReconnectingSocket, RemoteError, SocketError } from '../../src/index.ts'
import { delay, integrationHarness, record, settle, waitFor } from './helpers.ts'

const h = integrationHarness()

/** What the reference server speaks (e2e/server/README.md), from the client's side. */
interface EchoSchema {
  incoming: {
    note: { text: string }
    broadcast: { from: string; payload: { text: string } }
    private: { from: string; payload: { secret: number } }
    news: { headline: string }
  }
  outgoing: {
    note: { text: string }
    broadcast: { text: string }
    private: { to: string; payload: { secret: number } }
  }
  requests: {
    echo: { request: { text: string }; response: { text: string } }
    slow: { request: { delayMs: number; tag: string }; response: { delayMs: number; tag: string } }
    fail: { request: { code: string; message: string }; response: never }
    whoami: { request: undefined; response: { connectionId: string } }
  }
}

type Socket = ReconnectingSocket<EchoSchema>

async function openSocket(url: string, options = {}): Promise<Socket> {
  const socket = h.socket<EchoSchema>(url, options)
  await waitFor(() => socket.state === 'open', 5000, 'open')
  return socket
}

describe('typed dispatch and request/response against the reference server', () => {
  it('echo: the response resolves the request with its data', async () => {
    const server = await h.server()
    const socket = await openSocket(server.url)
    const [a, b] = await Promise.all([
      socket.request('echo', { text: 'one' }),
      socket.request('echo', { text: 'two' }),
    ])
    expect(a).toEqual({ text: 'one' })
    expect(b).toEqual({ text: 'two' })
    expect(socket.stats.pendingRequests).toBe(0)
  })

  it('slow: a short timeout rejects with REQUEST_TIMEOUT, a long enough one resolves', async () => {
    const server = await h.server()
    const socket = await openSocket(server.url)
    const rec = record(socket)

    const late = settle(socket.request('slow', { delayMs: 800, tag: 'late' }, { timeoutMs: 200 }))
    const inTime = socket.request('slow', { delayMs: 300, tag: 'in time' }, { timeoutMs: 5000 })
    const timedOut = await late
    expect(timedOut.ok).toBe(false)
    expect(!timedOut.ok && timedOut.error).toBeInstanceOf(SocketError)
    expect(!timedOut.ok && (timedOut.error as SocketError).code).toBe('REQUEST_TIMEOUT')
    expect(await inTime).toEqual({ delayMs: 300, tag: 'in time' })

    // The answer to the timed-out request still comes, and is quietly ignored.
    await waitFor(() => server.control.received().length === 2, 2000, 'both requests received')
    await delay(900)
    expect(rec.of('error')).toEqual([])
    expect(rec.of('unhandled')).toEqual([])
    expect(socket.stats.pendingRequests).toBe(0)
    expect(socket.state).toBe('open')
  })

  it("fail: rejects with a RemoteError carrying the server's code and message", async () => {
    const server = await h.server()
    const socket = await openSocket(server.url)
    const outcome = await settle(
      socket.request('fail', { code: 'NOT_ALLOWED', message: 'you may not' }),
    )
    expect(outcome.ok).toBe(false)
    const error = !outcome.ok ? outcome.error : undefined
    expect(error).toBeInstanceOf(RemoteError)
    expect(error).toMatchObject({
      code: 'REMOTE_ERROR',
      remoteCode: 'NOT_ALLOWED',
      message: 'you may not',
    })
    // An unknown request type is the server's error too, not a hang.
    const unknown = await settle((socket as ReconnectingSocket).request('nope', {}))
    expect(!unknown.ok && unknown.error).toMatchObject({ remoteCode: 'UNKNOWN_REQUEST' })
  })

  it('a request in flight across a server restart rejects with CONNECTION_LOST', async () => {
    const server = await h.server()
    const socket = await openSocket(server.url)
    const rec = record(socket)
    let stateWhenRejected = ''
    const pending = settle(
      socket.request('slow', { delayMs: 1500, tag: 'once' }).catch((error: unknown) => {
        stateWhenRejected = socket.state
        throw error
      }),
    )
    await server.control.waitForReceived(1, 3000) // it is on the wire, being worked on

    await server.control.restart(300)
    const outcome = await pending
    expect(!outcome.ok && outcome.error).toMatchObject({ code: 'CONNECTION_LOST' })
    // Told when the connection dropped, not after the reconnect.
    expect(stateWhenRejected).toBe('reconnecting')
    await waitFor(() => rec.of('open').length === 1, 5000, 'reopen')
    expect(outcome.at).toBeLessThan(rec.times('open')[0] as number)
    await delay(300)
    expect(server.control.received()).toHaveLength(1) // never sent again
  })

  it('an idempotent request in flight across a server restart is sent again and resolves', async () => {
    const server = await h.server()
    const socket = await openSocket(server.url)
    const rec = record(socket)
    const pending = settle(
      socket.request(
        'slow',
        { delayMs: 800, tag: 'twice' },
        { idempotent: true, timeoutMs: 10_000 },
      ),
    )
    await server.control.waitForReceived(1, 3000)

    await server.control.restart(300)
    const outcome = await pending
    expect(outcome).toMatchObject({ ok: true, value: { delayMs: 800, tag: 'twice' } })
    expect(rec.of('open')).toEqual([{ reconnected: true, protocol: '', resumed: false }])
    expect(outcome.at).toBeGreaterThan(rec.times('open')[0] as number)
    const received = server.control.received()
    expect(received).toHaveLength(2)
    const [before, after] = received
    expect(after?.id).toBe(before?.id) // the same request, so a server can de-duplicate
    expect(after?.connectionId).not.toBe(before?.connectionId)
  })

  it('broadcast and private messages between two sockets', async () => {
    const server = await h.server()
    const alice = await openSocket(server.url)
    const bob = await openSocket(server.url)
    const { connectionId: aliceId } = await alice.request('whoami')
    const { connectionId: bobId } = await bob.request('whoami')
    const inbox = { alice: [] as [string, unknown][], bob: [] as [string, unknown][] }
    for (const [name, socket] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      socket.onMessage('private', (data) => inbox[name].push(['private', data]))
      socket.onMessage('broadcast', (data) => inbox[name].push(['broadcast', data]))
      socket.onMessage('news', (data) => inbox[name].push(['news', data]))
    }

    expect(alice.send('private', { to: bobId, payload: { secret: 42 } })).toBe('sent')
    await waitFor(() => inbox.bob.length === 1, 2000, 'the private message')
    expect(inbox.bob).toEqual([['private', { from: aliceId, payload: { secret: 42 } }]])

    bob.send('broadcast', { text: 'hello all' })
    await waitFor(() => inbox.alice.length === 1 && inbox.bob.length === 2, 2000, 'the broadcast')
    const hello = ['broadcast', { from: bobId, payload: { text: 'hello all' } }]
    expect(inbox.alice).toEqual([hello])
    expect(inbox.bob.at(-1)).toEqual(hello)

    expect(server.control.broadcast('news', { headline: 'server says hi' })).toBe(2)
    await waitFor(() => inbox.alice.length === 2 && inbox.bob.length === 3, 2000, 'server news')
    expect(inbox.alice.at(-1)).toEqual(['news', { headline: 'server says hi' }])
    expect(inbox.bob.at(-1)).toEqual(['news', { headline: 'server says hi' }])
    // Nothing private reached alice.
    expect(inbox.alice.filter(([kind]) => kind === 'private')).toEqual([])
  })

  it('malformed frames from the server: DECODE_FAILED each, and the connection stays usable', async () => {
    const server = await h.server()
    const socket = await openSocket(server.url)
    const rec = record(socket)
    const notes: unknown[] = []
    socket.onMessage('note', (data) => notes.push(data))

    const frames = [
      'not json at all',
      '[1, 2, 3]',
      '{"data": {"text": "no type"}}',
      '{"type": 42}',
      '{"type": "note", "id": 7}',
      '{"type": "note", "re": "x", "error": "boom"}',
      '{"type": "note", "data": {"__proto__": {"polluted": true}}}',
      '{"type": "note", "data": {"constructor": {"prototype": {"polluted": true}}}}',
    ]
    for (const frame of frames) server.control.sendRaw(frame)
    await waitFor(() => rec.of('error').length === frames.length, 3000, 'one error per frame')
    expect(rec.of('error').map((e) => e.code)).toEqual(frames.map(() => 'DECODE_FAILED'))
    expect(notes).toEqual([])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')

    server.control.sendRaw('{"type": "note", "data": {"text": "well formed"}}')
    await waitFor(() => notes.length === 1, 2000, 'the well-formed note')
    expect(notes).toEqual([{ text: 'well formed' }])
    expect(await socket.request('echo', { text: 'still fine' })).toEqual({ text: 'still fine' })
    expect(socket.state).toBe('open')
    expect(rec.of('close')).toEqual([])
    expect(socket.stats.opens).toBe(1)
  })

  it('a frame over maxMessageBytes is dropped with DECODE_FAILED, the connection stays up', async () => {
    const server = await h.server()
    const socket = await openSocket(server.url, { maxMessageBytes: 1024 })
    const rec = record(socket)
    const notes: unknown[] = []
    socket.onMessage('note', (data) => notes.push(data))
    const [id] = server.control.connectionIds()

    server.control.sendRaw(JSON.stringify({ type: 'note', data: { text: 'x'.repeat(2000) } }), id)
    server.control.sendRaw(JSON.stringify({ type: 'note', data: { text: 'small' } }), id)
    await waitFor(() => notes.length === 1, 2000, 'the small note')
    expect(notes).toEqual([{ text: 'small' }])
    expect(rec.of('error').map((e) => e.code)).toEqual(['DECODE_FAILED'])
    expect(socket.state).toBe('open')
  })
})
