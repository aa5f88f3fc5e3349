import { describe, expect, it } from 'vitest'
import type { ReferenceServer } from '../../e2e/server/index.ts'
import { startServer } from '../../e2e/server/index.ts'
import { clientForTest, openClient, rawRequest, serverForTest, upgradeRequest } from './helpers.ts'

// The reference server runs on a developer's machine while they browse. Any page they open
// can send requests to 127.0.0.1, so these tests play that page: a foreign Origin, a
// request without the control secret, and a DNS-rebound host name.

const EVIL = 'https://evil.example'

function bearer(server: ReferenceServer): Record<string, string> {
  return { Authorization: `Bearer ${server.controlSecret}` }
}

describe('the control API needs the per-run secret', () => {
  it('refuses a request without the secret or with a wrong one, and does nothing', async () => {
    const server = await serverForTest()
    const client = await openClient(server.url)

    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: `Bearer ${server.controlSecret}x` },
      { Authorization: server.controlSecret },
      { Authorization: `Basic ${server.controlSecret}` },
    ]
    for (const headers of attempts) {
      const response = await rawRequest(server.port, '/control/drop', { method: 'POST', headers })
      expect(response.status, JSON.stringify(headers)).toBe(401)
      expect(response.headers['www-authenticate']).toBe('Bearer')
      expect(response.body).not.toContain(server.controlSecret)
    }
    expect((await rawRequest(server.port, '/control/status')).status).toBe(401)
    expect(server.control.status().connections).toHaveLength(1)
    expect(await client.quietFor(50)).toBe(true)

    const allowed = await rawRequest(server.port, '/control/drop', {
      method: 'POST',
      headers: bearer(server),
    })
    expect(allowed.status).toBe(200)
    expect((await client.ended).code).toBe(1006)
  })

  it('generates a fresh secret per server, or takes the one given', async () => {
    const a = await serverForTest()
    const b = await serverForTest()
    expect(a.controlSecret).toMatch(/^[A-Za-z0-9_-]{32,}$/)
    expect(a.controlSecret).not.toBe(b.controlSecret)
    const response = await rawRequest(a.port, '/control/status', { headers: bearer(b) })
    expect(response.status).toBe(401)

    const given = await serverForTest({ controlSecret: 'a-secret-of-20-chars' })
    expect(given.controlSecret).toBe('a-secret-of-20-chars')
    const ok = await rawRequest(given.port, '/control/status', {
      headers: { Authorization: 'Bearer a-secret-of-20-chars' },
    })
    expect(ok.status).toBe(200)
  })

  it('refuses a guessable secret at start', async () => {
    await expect(startServer({ controlSecret: 'short' })).rejects.toThrow(/controlSecret/)
    await expect(startServer({ controlSecret: '' })).rejects.toThrow(/controlSecret/)
  })
})

describe('a page on a foreign origin', () => {
  it('cannot use the control API, even with the secret', async () => {
    const server = await serverForTest()
    const client = await openClient(server.url)

    const preflight = await rawRequest(server.port, '/control/drop', {
      method: 'OPTIONS',
      headers: {
        Origin: EVIL,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization',
        'Access-Control-Request-Private-Network': 'true',
      },
    })
    expect(preflight.status).toBe(403)
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
    expect(preflight.headers['access-control-allow-private-network']).toBeUndefined()

    // A simple POST is sent without a preflight; refusing it must happen before any effect.
    for (const path of ['/control/drop', '/control/broadcast', '/control/status']) {
      const response = await rawRequest(server.port, path, {
        method: path.endsWith('status') ? 'GET' : 'POST',
        headers: { Origin: EVIL, ...bearer(server) },
      })
      expect(response.status, path).toBe(403)
      expect(response.headers['access-control-allow-origin']).toBeUndefined()
    }
    expect(await client.quietFor(50)).toBe(true)
    expect(server.control.status().connections).toHaveLength(1)
  })

  it('cannot mint tokens, with or without an Origin header', async () => {
    const server = await serverForTest()
    const attempts: Record<string, string>[] = [
      { Origin: EVIL },
      { Origin: 'null' },
      { Origin: 'http://127.0.0.1.evil.example' },
      // <img src> or <script src> from another site: no Origin, but the browser says where from.
      { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' },
    ]
    for (const headers of attempts) {
      for (const method of ['GET', 'POST']) {
        const response = await rawRequest(server.port, '/token', { method, headers })
        expect(response.status, `${method} ${JSON.stringify(headers)}`).toBe(403)
        expect(response.body).not.toMatch(/"token"/)
        expect(response.headers['access-control-allow-origin']).toBeUndefined()
      }
    }
  })

  it('cannot open a WebSocket, with the default options of startServer()', async () => {
    const server = await serverForTest()
    for (const origin of [EVIL, 'null', 'http://localhost.evil.example:5173']) {
      expect((await upgradeRequest(server.port, '/', { Origin: origin })).status, origin).toBe(403)
    }
    const browserLike = clientForTest(server.url, { headers: { Origin: EVIL } })
    await expect(browserLike.opened).rejects.toThrow()
    expect(server.control.status().connections).toEqual([])
  })

  it('cannot reach the server through a DNS-rebound host name', async () => {
    const server = await serverForTest()
    const rebound = { Host: `evil.example:${server.port}` }
    expect((await rawRequest(server.port, '/token', { headers: rebound })).status).toBe(403)
    const control = await rawRequest(server.port, '/control/status', {
      headers: { ...rebound, ...bearer(server) },
    })
    expect(control.status).toBe(403)
    expect((await upgradeRequest(server.port, '/', rebound)).status).toBe(403)
    // The same origin as the rebound host is no way in either.
    const sameOrigin = await upgradeRequest(server.port, '/', {
      ...rebound,
      Origin: `http://evil.example:${server.port}`,
    })
    expect(sameOrigin.status).toBe(403)
  })
})

describe('pages on loopback origins', () => {
  const LOCAL = ['http://localhost:5173', 'http://127.0.0.1:4173', 'http://[::1]:8080']

  it('may mint tokens and call the control API, with CORS for that origin only', async () => {
    const server = await serverForTest()
    for (const origin of LOCAL) {
      const token = await rawRequest(server.port, '/token', { headers: { Origin: origin } })
      expect(token.status, origin).toBe(200)
      expect(token.headers['access-control-allow-origin']).toBe(origin)
      expect(token.headers.vary).toContain('Origin')

      const preflight = await rawRequest(server.port, '/control/drop', {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization',
        },
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers['access-control-allow-origin']).toBe(origin)
      expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/i)

      const status = await rawRequest(server.port, '/control/status', {
        headers: { Origin: origin, ...bearer(server) },
      })
      expect(status.status).toBe(200)
      expect(status.headers['access-control-allow-origin']).toBe(origin)
      expect((await upgradeRequest(server.port, '/', { Origin: origin })).status).toBe(101)
    }
    // A same-origin GET (a page the server serves itself) carries no Origin header.
    const sameOrigin = await rawRequest(server.port, '/token', {
      headers: { 'Sec-Fetch-Site': 'same-origin' },
    })
    expect(sameOrigin.status).toBe(200)
  })

  it('follow a configured allow-list, which keeps the server own origin', async () => {
    const server = await serverForTest({ allowedOrigins: ['https://app.test'] })
    const status = (origin: string) =>
      upgradeRequest(server.port, '/', { Origin: origin }).then((r) => r.status)
    expect(await status('https://app.test')).toBe(101)
    expect(await status('http://localhost:5173')).toBe(403)
    expect(await status(`http://127.0.0.1:${server.port}`)).toBe(101)
    const token = await rawRequest(server.port, '/token', {
      headers: { Origin: 'https://app.test' },
    })
    expect(token.headers['access-control-allow-origin']).toBe('https://app.test')
  })
})
