import { describe, expect, it } from 'vitest'
import { type AuthGrant, AuthRejected } from '../../server/index.ts'
import { connect, startCompanion } from './helpers.ts'

interface User {
  name: string
}

/** Tokens `good-<name>` (async, as a database lookup would be), `forbidden`, and `throws`. */
async function authenticate(token: string): Promise<AuthGrant<User> | false> {
  await new Promise((resolve) => setTimeout(resolve, 5))
  if (token === 'forbidden') throw new AuthRejected('banned', 4003)
  if (token === 'throws') throw new Error('auth backend down')
  if (token.startsWith('short-')) {
    return { principal: token.slice(6), user: { name: token.slice(6) }, expiresAt: Date.now() + 50 }
  }
  return token.startsWith('good-')
    ? { principal: token.slice(5), user: { name: token.slice(5) } }
    : false
}

describe('companion: first-message auth', () => {
  it('holds frames until $auth is checked, then handles them with ctx.principal and ctx.user', async () => {
    const { url } = await startCompanion<User>({
      authenticate,
      handlers: { whoami: (_d, ctx) => ({ principal: ctx.principal, user: ctx.user }) },
    })
    const client = await connect(url)
    client.send({ type: '$auth', data: { token: 'good-ann' } })
    client.send({ type: 'whoami', id: 'w' })
    expect((await client.next((f) => f.re === 'w')).data).toEqual({
      principal: 'ann',
      user: { name: 'ann' },
    })
  })

  it('closes 4001 for a bad token, a throwing authenticate, a missing token, and any frame before $auth', async () => {
    const companion = await startCompanion({ authenticate })
    const cases: Record<string, unknown>[] = [
      { type: '$auth', data: { token: 'nope' } },
      { type: '$auth', data: { token: 'throws' } },
      { type: '$auth', data: {} },
      { type: 'chat', data: 'hi' },
      { type: '$hello', data: { v: 1 } },
      { type: '$ping', id: 'p' },
    ]
    for (const frame of cases) {
      const client = await connect(companion.url)
      client.send(frame)
      expect((await client.closeInfo()).code, JSON.stringify(frame)).toBe(4001)
    }
    const binary = await connect(companion.url)
    binary.ws.send(new Uint8Array([1]))
    expect((await binary.closeInfo()).code).toBe(4001)
    const malformed = await connect(companion.url)
    malformed.sendText('{')
    expect((await malformed.closeInfo()).code).toBe(4001)
    // Only the throw is a failure of the server's own; a refused frame is not an error.
    expect(companion.errors.map((e) => e.code)).toEqual(['HANDLER_FAILED'])
  })

  it('closes 4003 when authenticate throws AuthRejected with 4003', async () => {
    const { url } = await startCompanion({ authenticate })
    const client = await connect(url)
    client.send({ type: '$auth', data: { token: 'forbidden' } })
    expect(await client.closeInfo()).toEqual({ code: 4003, reason: 'forbidden' })
  })

  it('closes 4001 when no $auth arrives within authTimeoutMs', async () => {
    const { url } = await startCompanion({ authenticate, authTimeoutMs: 50 })
    const client = await connect(url)
    expect(await client.closeInfo()).toEqual({ code: 4001, reason: 'auth timeout' })
  })

  it('accepts a token from the upgrade request (query, subprotocol, Authorization header)', async () => {
    const { url } = await startCompanion({
      authenticate,
      handlers: { whoami: (_d, ctx) => ctx.principal },
    })
    const viaQuery = await connect(`${url}/?access_token=good-q`)
    const viaProtocol = await connect(url, { protocols: ['access_token.good-p'] })
    const viaHeader = await connect(url, { headers: { Authorization: 'Bearer good-h' } })
    for (const [client, who] of [
      [viaQuery, 'q'],
      [viaProtocol, 'p'],
      [viaHeader, 'h'],
    ] as const) {
      client.send({ type: 'whoami', id: 'w' })
      expect((await client.next((f) => f.re === 'w')).data).toBe(who)
    }
    const bad = await connect(`${url}/?access_token=bad`)
    expect((await bad.closeInfo()).code).toBe(4001)
  })

  it('renews over the open connection (answering a $auth that has an id), and closes 4001 when the token expires', async () => {
    const { url } = await startCompanion({ authenticate })
    const client = await connect(url)
    client.send({ type: '$auth', data: { token: 'short-ann' } })
    client.send({ type: '$auth', id: 'renew', data: { token: 'good-ann' } })
    const answer = await client.next((f) => f.re === 'renew')
    expect(answer).toEqual({ type: '$auth', re: 'renew', data: { expiresAt: null } })
    // The first token's 50 ms are long gone by now: the renewal moved the expiry.
    expect(await client.quietFor(150, () => true)).toBe(true)
    expect(client.ws.readyState).toBe(client.ws.OPEN)

    const expiring = await connect(url)
    expiring.send({ type: '$auth', data: { token: 'short-bob' } })
    expect(await expiring.closeInfo()).toEqual({ code: 4001, reason: 'token expired' })
  })

  it('closes 4001 on an invalid renewal, and 4003 when a renewal names another principal', async () => {
    const { url } = await startCompanion({ authenticate })
    const invalid = await connect(url)
    invalid.send({ type: '$auth', data: { token: 'good-ann' } })
    invalid.send({ type: '$auth', data: { token: 'nope' } })
    expect((await invalid.closeInfo()).code).toBe(4001)
    const other = await connect(url)
    other.send({ type: '$auth', data: { token: 'good-ann' } })
    other.send({ type: '$auth', data: { token: 'good-eve' } })
    expect(await other.closeInfo()).toEqual({ code: 4003, reason: 'principal changed' })
  })

  it('with requireAuth false, serves anonymous connections and still refuses a bad presented token', async () => {
    const { url } = await startCompanion({
      authenticate,
      requireAuth: false,
      handlers: { whoami: (_d, ctx) => ctx.principal ?? 'anonymous' },
    })
    const anonymous = await connect(url)
    anonymous.send({ type: 'whoami', id: 'w' })
    expect((await anonymous.next((f) => f.re === 'w')).data).toBe('anonymous')
    const bad = await connect(url)
    bad.send({ type: '$auth', data: { token: 'nope' } })
    expect((await bad.closeInfo()).code).toBe(4001)
  })
})
