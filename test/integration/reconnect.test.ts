import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { auth, type ReconnectingSocket, type TokenContext } from '../../src/index.ts'
import {
  delay,
  fetchToken,
  integrationHarness,
  type Recorder,
  record,
  type TestServer,
  waitFor,
} from './helpers.ts'

const h = integrationHarness()

const whoami = async (socket: ReconnectingSocket): Promise<string> =>
  ((await socket.request('whoami')) as { connectionId: string }).connectionId

const opens = (rec: Recorder): number => rec.of('open').length

interface SilentServer {
  url: string
  /** What each TCP connection sent, in the order they were accepted. */
  received: string[]
  /** Whether each connection has been closed. */
  closed: boolean[]
}

const silentServers: Server[] = []
const silentSockets: Socket[] = []
afterEach(async () => {
  for (const socket of silentSockets.splice(0)) socket.destroy()
  for (const server of silentServers.splice(0)) {
    server.close()
    await once(server, 'close')
  }
})

/** Accepts TCP connections and reads them, and never answers: a handshake that never completes. */
async function silentServer(): Promise<SilentServer> {
  const received: string[] = []
  const closed: boolean[] = []
  const server = createServer((socket) => {
    const i = received.push('') - 1
    closed.push(false)
    silentSockets.push(socket)
    socket.on('data', (chunk) => {
      received[i] += String(chunk)
    })
    socket.on('close', () => {
      closed[i] = true
    })
    socket.on('error', () => {})
  })
  silentServers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { url: `ws://127.0.0.1:${port}`, received, closed }
}

/**
 * After a user `close()`: the socket stays closed, emits nothing more, and no connection
 * (not even a TCP-level attempt the server would log) reaches the server for `quietMs`.
 */
async function expectQuietAfterClose(
  socket: ReconnectingSocket,
  rec: Recorder,
  server: TestServer,
  quietMs: number,
): Promise<void> {
  expect(socket.state).toBe('closed')
  const events = rec.events.length
  const accepted = server.accepted()
  const attempts = socket.stats.connectAttempts
  await delay(quietMs)
  expect(socket.state).toBe('closed')
  expect(rec.events.slice(events)).toEqual([])
  expect(server.accepted()).toBe(accepted)
  expect(socket.stats.connectAttempts).toBe(attempts)
  expect(server.control.status().connections).toHaveLength(0)
}

describe('reconnecting against the reference server (Node 22 global WebSocket)', () => {
  it('reconnects after the server is killed and started again', async () => {
    const server = await h.server()
    const socket = h.socket(server.url)
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'first open')
    const before = await whoami(socket)

    await server.stop()
    await waitFor(() => socket.state === 'reconnecting', 5000, 'reconnecting')
    // Attempts against a closed port fail (Node 22: `error` and no `close`) and back off.
    await waitFor(
      () => rec.of('error').filter((e) => e.code === 'CONNECTION_FAILED').length >= 2,
      5000,
      'two refused attempts',
    )
    expect(socket.state).not.toBe('open')

    await server.start()
    await waitFor(() => opens(rec) === 2, 5000, 'reopen after restart')
    expect(rec.of('open').map((o) => o.reconnected)).toEqual([false, true])
    expect(rec.of('close')).toEqual([
      { code: 1006, reason: '', wasClean: false, willReconnect: true },
    ])
    expect(rec.of('reconnecting')[0]).toMatchObject({ reason: 'connection-lost' })
    expect(
      rec
        .of('reconnecting')
        .slice(1)
        .every((r) => r.reason === 'attempt-failed'),
    ).toBe(true)
    const after = await whoami(socket)
    expect(after).not.toBe(before)
    expect(socket.stats.reconnects).toBe(1)
  })

  it('reconnects once a refusal window ends, not before', async () => {
    const server = await h.server()
    const socket = h.socket(server.url)
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'first open')

    const refusingUntil = server.control.refuse(1000)
    expect(refusingUntil).not.toBeNull()
    server.control.dropAll()
    await waitFor(() => opens(rec) === 2, 8000, 'reopen after the refusal window')

    const refused = server.logLines.filter((line) => line.includes('refused an upgrade')).length
    expect(refused).toBeGreaterThanOrEqual(1)
    expect(rec.of('error').filter((e) => e.code === 'CONNECTION_FAILED')).toHaveLength(refused)
    // Both clocks are this process's Date.now(): the open cannot precede the window's end.
    expect(rec.times('open')[1]).toBeGreaterThanOrEqual(refusingUntil as number)
    expect(rec.of('open')[1]?.reconnected).toBe(true)
    expect(server.accepted()).toBe(2)
  })

  it('does not reconnect after the server closes with 1000', async () => {
    const server = await h.server()
    const socket = h.socket(server.url)
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'first open')

    server.control.closeAll(1000, 'done for today')
    await waitFor(() => socket.state === 'closed', 5000, 'closed')
    expect(rec.of('close')).toEqual([
      { code: 1000, reason: 'done for today', wasClean: true, willReconnect: false },
    ])
    // The server ended the session: said through `error`, so the app can tell it from close().
    expect(socket.getSnapshot().lastError?.code).toBe('CLOSED_BY_SERVER')
    expect(socket.getSnapshot().lastClose).toMatchObject({ code: 1000 })

    // Three times the largest retry delay, and still nothing.
    await delay(1500)
    expect(socket.state).toBe('closed')
    expect(rec.of('reconnecting')).toEqual([])
    expect(server.accepted()).toBe(1)
    expect(socket.stats.connectAttempts).toBe(1)
  })

  it.each([
    [1001, 'going away'],
    [1011, 'internal error'],
    [1012, 'service restart'],
  ])('reconnects after the server closes with %i', async (code, reason) => {
    const server = await h.server()
    const socket = h.socket(server.url)
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'first open')
    const before = await whoami(socket)

    server.control.closeAll(code, reason)
    await waitFor(() => opens(rec) === 2, 5000, `reopen after ${code}`)
    expect(rec.of('close')).toEqual([{ code, reason, wasClean: true, willReconnect: true }])
    expect(rec.of('reconnecting')[0]).toMatchObject({
      attempt: 1,
      reason: 'connection-lost',
      lastClose: { code, reason },
    })
    expect(rec.of('open')[1]?.reconnected).toBe(true)
    expect(await whoami(socket)).not.toBe(before)
  })

  describe('a user close() stops everything', () => {
    it('while connecting: during an async URL lookup', async () => {
      const server = await h.server()
      let calls = 0
      let release: ((url: string) => void) | undefined
      const socket = h.socket(() => {
        calls++
        return new Promise<string>((resolve) => {
          release = resolve
        })
      })
      const rec = record(socket)
      await waitFor(() => calls === 1, 2000, 'URL provider called')
      expect(socket.state).toBe('connecting')

      socket.close()
      expect(rec.of('state').map((s) => s.to)).toEqual(['connecting', 'closing', 'closed'])
      release?.(server.url) // the lookup finishes after close(): it must be ignored
      await expectQuietAfterClose(socket, rec, server, 800)
      expect(calls).toBe(1)
      expect(socket.stats.connectAttempts).toBe(0)
      expect(rec.of('close')).toEqual([]) // it never opened
    })

    it('while connecting: during a handshake that never completes', async () => {
      const server = await h.server()
      const silent = await silentServer()
      const socket = h.socket(silent.url)
      const rec = record(socket)
      // The whole upgrade request, not just the TCP connection: Node's WebSocket writes the
      // request a few ms after connecting, even when close() came in between, and that
      // late request would be taken for a new attempt.
      await waitFor(
        () => silent.received[0]?.endsWith('\r\n\r\n') === true,
        2000,
        'the upgrade request',
      )
      expect(silent.received[0]).toMatch(/^GET \/ HTTP\/1\.1\r\n/)
      expect(socket.state).toBe('connecting')
      expect(socket.stats.connectAttempts).toBe(1)

      socket.close()
      await waitFor(() => silent.closed[0] === true, 2000, 'the abandoned attempt to be closed')
      await expectQuietAfterClose(socket, rec, server, 800)
      // No second upgrade request. (Node 22's WebSocket may open a spare TCP connection
      // when an attempt is aborted, writes nothing on it and drops it 4 s later: not an
      // attempt, and nothing the library can prevent.)
      expect(silent.received.join('').match(/^GET /gm)).toHaveLength(1)
    })

    it('while open: closes with the given code and never comes back', async () => {
      const server = await h.server()
      const socket = h.socket(server.url)
      const rec = record(socket)
      await waitFor(() => socket.state === 'open', 5000, 'open')

      socket.close(4321, 'user is done')
      expect(rec.of('close')).toEqual([
        { code: 4321, reason: 'user is done', wasClean: true, willReconnect: false },
      ])
      await waitFor(
        () => server.logLines.some((line) => line === 'c1 closed 4321'),
        2000,
        'the server to see close code 4321',
      )
      await expectQuietAfterClose(socket, rec, server, 1000)

      // close() then connect() is a fresh session.
      socket.connect()
      await waitFor(() => socket.state === 'open', 5000, 'open again')
      expect(rec.of('open').map((o) => o.reconnected)).toEqual([false, false])
    })

    it('while reconnecting: during the backoff delay', async () => {
      const server = await h.server()
      const socket = h.socket(server.url, { retry: () => 1500 })
      const rec = record(socket)
      await waitFor(() => socket.state === 'open', 5000, 'open')

      server.control.dropAll()
      await waitFor(() => socket.state === 'reconnecting', 2000, 'reconnecting')
      expect(socket.getSnapshot().nextRetryAt).not.toBeNull()
      expect(rec.of('reconnecting')).toMatchObject([{ attempt: 1, delayMs: 1500 }])

      socket.close()
      expect(socket.getSnapshot().nextRetryAt).toBeNull()
      // Past the moment the retry was due.
      await expectQuietAfterClose(socket, rec, server, 2000)
      expect(server.accepted()).toBe(1)
    })

    it('while reconnecting: during an async token lookup', async () => {
      const server = await h.server()
      const contexts: TokenContext[] = []
      let release: (() => void) | undefined
      const socket = h.socket(`${server.url}/secure`, {
        auth: auth({
          async getToken(context) {
            contexts.push(context)
            if (contexts.length > 1) {
              await new Promise<void>((resolve) => {
                release = resolve
              })
            }
            return (await fetchToken(server.httpUrl, 60_000)).token
          },
        }),
      })
      const rec = record(socket)
      await waitFor(() => socket.state === 'open', 5000, 'open')

      server.control.dropAll()
      await waitFor(() => contexts.length === 2, 3000, 'the token provider asked again')
      const lookup = contexts[1] as TokenContext
      expect(lookup).toMatchObject({ reason: 'reconnect', forceRefresh: false })
      expect(socket.state).toBe('reconnecting')
      expect(lookup.signal.aborted).toBe(false)

      socket.close()
      // The provider is told to give up its fetch.
      expect(lookup.signal.aborted).toBe(true)
      release?.() // ... and when it returns a valid token anyway, nothing connects
      await expectQuietAfterClose(socket, rec, server, 1000)
      expect(contexts).toHaveLength(2)
      expect(server.accepted()).toBe(1)
    })
  })
})
