import { describe, expect, it } from 'vitest'
import {
  type AuthPlacement,
  auth,
  type ReconnectingSocket,
  type TokenContext,
} from '../../src/index.ts'
import {
  capturingLogger,
  deepText,
  delay,
  fetchToken,
  integrationHarness,
  type LogLine,
  type Recorder,
  record,
  type TestServer,
  waitFor,
} from './helpers.ts'

const h = integrationHarness()

interface Notes {
  incoming: { note: { text: string } }
  outgoing: { note: { text: string } }
}

/**
 * A token provider that fetches from the server's /token endpoint, remembering every
 * token it handed out (for the leak checks) and every context it was called with.
 */
function tokenProvider(
  server: TestServer,
  ttlMs: (call: number) => number,
  { withExpiry = false } = {},
) {
  const issued: string[] = []
  const contexts: Omit<TokenContext, 'signal'>[] = []
  return {
    issued,
    contexts,
    async getToken(context: TokenContext) {
      const { signal, ...rest } = context
      contexts.push(rest)
      const token = await fetchToken(server.httpUrl, ttlMs(contexts.length - 1), signal)
      issued.push(token.token)
      return withExpiry ? token : token.token
    },
  }
}

/** Asserts that no issued token appears in anything the application could observe. */
function expectNoTokenLeak(
  issued: string[],
  socket: ReconnectingSocket<Notes>,
  rec: Recorder,
  lines: LogLine[],
): void {
  expect(issued.length).toBeGreaterThan(0)
  const observed = deepText([rec.events, lines, socket.stats, socket.getSnapshot()])
  for (const token of issued) {
    expect(observed.includes(token), 'a token leaked into logs, events, stats or snapshot').toBe(
      false,
    )
    expect(observed.includes(encodeURIComponent(token))).toBe(false)
  }
}

const placements: AuthPlacement[] = ['query', 'protocol', 'message', 'header']

describe('auth against the reference server', () => {
  it.each(placements)(
    '%s: a token that expires mid-session is refreshed and the session continues',
    async (placement) => {
      const server = await h.server()
      // The first token lives 1.5 s; the refreshed ones outlive the test.
      const tokens = tokenProvider(server, (call) => (call === 0 ? 1500 : 60_000))
      const { logger, lines } = capturingLogger()
      const socket = h.socket<Notes>(`${server.url}/secure`, {
        auth: auth({ placement, getToken: tokens.getToken }),
        logger,
      })
      const rec = record(socket)
      await waitFor(() => socket.state === 'open', 5000, 'open')
      await waitFor(
        () => server.control.status().connections.some((c) => c.authenticated),
        2000,
        `the server to accept the token by ${placement}`,
      )
      // Handshake placements present the token at upgrade; 'message' sends $auth after it.
      const withToken = server.logLines.filter((l) =>
        l.endsWith('connected to /secure with a token'),
      )
      expect(withToken).toHaveLength(placement === 'message' ? 0 : 1)
      expect(socket.send('note', { text: 'before-1' })).toBe('sent')
      expect(socket.send('note', { text: 'before-2' })).toBe('sent')

      // Sent from the close listener: on loopback the jittered retry can reopen before a
      // poll would notice the close, and these must be sent while there is no connection.
      const during: string[] = []
      socket.once('close', () => {
        during.push(socket.send('note', { text: 'during-1' }))
        during.push(socket.send('note', { text: 'during-2' }))
      })

      // The server's own expiry timer closes the connection.
      await waitFor(() => rec.of('close').length === 1, 5000, 'the server to close at expiry')
      expect(rec.of('close')[0]).toMatchObject({
        code: 4001,
        reason: 'token expired',
        willReconnect: true,
      })
      expect(rec.of('reconnecting')[0]).toMatchObject({ reason: 'auth-failure' })
      expect(during).toEqual(['queued', 'queued'])

      await waitFor(() => rec.of('open').length === 2, 5000, 'reopen with a fresh token')
      expect(socket.send('note', { text: 'after-1' })).toBe('sent')
      await server.control.waitForReceived(5, 5000)
      await delay(200) // a duplicate would have arrived by now
      const received = server.control.received()
      expect(received.map((m) => (m.data as { text: string }).text)).toEqual([
        'before-1',
        'before-2',
        'during-1',
        'during-2',
        'after-1',
      ])
      const [first, , second] = received.map((m) => m.connectionId)
      expect(received.map((m) => m.connectionId)).toEqual([first, first, second, second, second])
      expect(second).not.toBe(first)

      expect(tokens.contexts).toEqual([
        { reason: 'connect', forceRefresh: false, attempt: 0 },
        { reason: 'auth-failure', forceRefresh: true, attempt: 1 },
      ])
      expect(socket.state).toBe('open')
      // The protocol placement's token is never reported as the negotiated protocol.
      expect(rec.of('open').map((o) => o.protocol)).toEqual(['', ''])
      expectNoTokenLeak(tokens.issued, socket, rec, lines)
      if (placement === 'query') {
        const urls = lines
          .filter((l) => l.message === 'connecting')
          .map((l) => String(l.fields?.url))
        expect(urls).toHaveLength(2)
        for (const url of urls) expect(url).toContain('access_token=[redacted]')
      }
    },
  )

  it('message: renews over the open socket before expiry, without reconnecting', async () => {
    const server = await h.server()
    const ttlMs = 1600
    const tokens = tokenProvider(server, () => ttlMs, { withExpiry: true })
    const { logger, lines } = capturingLogger()
    const socket = h.socket<Notes>(`${server.url}/secure`, {
      auth: auth({ placement: 'message', getToken: tokens.getToken, renewBeforeMs: 800 }),
      logger,
    })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')
    // The $auth message follows the open; wait until the server has applied it.
    await waitFor(
      () => server.control.status().connections[0]?.authenticated === true,
      2000,
      'the $auth message to be accepted',
    )
    const [connection] = server.control.connectionIds()
    const firstExpiry = server.control.status().connections[0]?.tokenExpiresAt as number
    expect(firstExpiry).toBeGreaterThan(0)

    // Two and a half token lifetimes: without renewal the server would close with 4001.
    await delay(2.5 * ttlMs)
    const renewals = tokens.contexts.filter((c) => c.reason === 'renew')
    expect(renewals.length).toBeGreaterThanOrEqual(3)
    expect(renewals.every((c) => c.forceRefresh)).toBe(true)
    expect(rec.of('close')).toEqual([])
    expect(rec.of('reconnecting')).toEqual([])
    expect(socket.stats.opens).toBe(1)
    expect(server.control.connectionIds()).toEqual([connection])
    const status = server.control.status().connections[0]
    expect(status?.authenticated).toBe(true)
    expect(status?.tokenExpiresAt).toBeGreaterThan(firstExpiry)

    socket.send('note', { text: 'still here' })
    await server.control.waitForReceived(1, 3000)
    expect(server.control.received()[0]).toMatchObject({ connectionId: connection })
    expectNoTokenLeak(tokens.issued, socket, rec, lines)
    console.log(
      `[auth] message placement: ${renewals.length} renewals over one connection in ${2.5 * ttlMs} ms (token ttl ${ttlMs} ms)`,
    )
  })

  it('stops with UNAUTHORIZED when the provider keeps returning invalidated tokens', async () => {
    const server = await h.server()
    const contexts: Omit<TokenContext, 'signal'>[] = []
    const issued: string[] = []
    const { logger, lines } = capturingLogger()
    const socket = h.socket<Notes>(`${server.url}/secure`, {
      auth: auth({
        // A stale cache: it fetches once and hands out that token for ever.
        async getToken({ signal, ...context }) {
          contexts.push(context)
          if (issued.length === 0) issued.push((await fetchToken(server.httpUrl, 60_000)).token)
          return issued[0] as string
        },
      }),
      logger,
    })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')
    // The client is open once its `$auth` is written; revoke only what the server has accepted.
    await waitFor(
      () => server.control.status().connections[0]?.authenticated === true,
      5000,
      'authenticated',
    )

    server.control.invalidateTokens()
    await waitFor(() => socket.state === 'closed', 5000, 'closed')
    expect(socket.getSnapshot().lastError?.code).toBe('UNAUTHORIZED')
    expect(rec.of('error').map((e) => e.code)).toContain('UNAUTHORIZED')
    expect(rec.of('close').map(({ code, reason }) => ({ code, reason }))).toEqual([
      { code: 4001, reason: 'token revoked' },
      { code: 4001, reason: 'unauthorized' },
    ])
    expect(rec.of('close').at(-1)?.willReconnect).toBe(false)
    // One refresh after the first rejection, then it gives up.
    expect(contexts.map((c) => c.forceRefresh)).toEqual([false, true])
    expect(server.accepted()).toBe(2)

    await delay(1000)
    expect(server.accepted()).toBe(2)
    expect(contexts).toHaveLength(2)
    expect(socket.state).toBe('closed')
    expectNoTokenLeak(issued, socket, rec, lines)
  })
})
