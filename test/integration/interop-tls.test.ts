import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import type { CloseInfo } from '../../src/index.ts'
import { integrationHarness, type Recorder, record, waitFor } from './helpers.ts'
import { requireProgram, tempDir } from './peers/processes.ts'

// What README "Behind a proxy / TLS" says about certificates, checked: Node's WebSocket
// reports an untrusted certificate exactly like a 503 on upgrade, so the library cannot
// tell them apart; the diagnosis it recommends (fetch in Node shows the cause) works.
const h = integrationHarness()

let cert: { key: Buffer; cert: Buffer }
beforeAll(() => {
  const openssl = requireProgram('openssl', ['openssl'], ['version'], 'apt-get install openssl')
  const dir = tempDir('tls')
  try {
    // Self-signed, for the right address: the only thing wrong is that nobody trusts it.
    execFileSync(
      openssl,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir.path, 'key.pem'),
        '-out',
        join(dir.path, 'cert.pem'),
      ],
      { stdio: 'pipe', timeout: 15_000 },
    )
    cert = {
      key: readFileSync(join(dir.path, 'key.pem')),
      cert: readFileSync(join(dir.path, 'cert.pem')),
    }
  } finally {
    dir.remove()
  }
})

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
})

/** A wss:// echo server with the untrusted certificate; counts the handshakes it refused. */
async function untrustedServer(): Promise<{ url: string; httpsUrl: string; rejected(): number }> {
  const server = createServer(cert)
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) =>
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })),
  )
  let rejected = 0
  server.on('tlsClientError', () => {
    rejected++
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  stops.push(async () => {
    wss.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as { port: number }
  return {
    url: `wss://127.0.0.1:${port}`,
    httpsUrl: `https://127.0.0.1:${port}/`,
    rejected: () => rejected,
  }
}

const errors = (rec: Recorder): string[] =>
  rec.of('error').map((error) => `${error.code}: ${error.message}`)

describe('an untrusted TLS certificate', () => {
  it('fails each attempt exactly as a 503 does, and is retried until maxAttempts', async () => {
    const tls = await untrustedServer()
    const refusing = await h.server()
    refusing.control.refuse(60_000) // HTTP 503 with Retry-After on every upgrade

    const untrusted = h.socket(tls.url, { maxAttempts: 2 })
    const refused = h.socket(refusing.url, { maxAttempts: 2 })
    const a = record(untrusted)
    const b = record(refused)
    await waitFor(
      () => untrusted.state === 'closed' && refused.state === 'closed',
      15_000,
      'both to give up',
    )

    // The first attempt and two retries, then the give-up: the same, word for word.
    expect(errors(a)).toEqual(errors(b))
    expect(a.of('error').map((error) => error.code)).toEqual([
      'CONNECTION_FAILED',
      'CONNECTION_FAILED',
      'CONNECTION_FAILED',
      'RETRIES_EXHAUSTED',
    ])
    expect(a.of('reconnecting').map((r) => r.lastClose?.code)).toEqual([1006, 1006])
    expect(a.of('open')).toEqual([])
    // Each attempt did reach the TLS server: it is the certificate that failed them. The
    // server hears the client's alert a moment after the client gave up.
    await waitFor(() => tls.rejected() >= 3, 5000, 'three refused handshakes on the server')
    expect(tls.rejected()).toBe(3)
  })

  it('shouldReconnect only sees 1006; in Node, fetch shows the cause', async () => {
    const tls = await untrustedServer()
    const seen: CloseInfo[] = []
    const socket = h.socket(tls.url, {
      shouldReconnect: (close) => {
        seen.push(close)
        return false
      },
    })
    await waitFor(() => socket.state === 'closed', 10_000, 'closed')
    expect(seen).toEqual([{ code: 1006, reason: '', wasClean: false }])

    // The diagnosis README recommends: the same URL over https, where Node keeps the cause.
    const failure = await fetch(tls.httpsUrl).then(
      () => null,
      (error: unknown) => error as Error & { cause?: { code?: string } },
    )
    expect(failure?.cause?.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT')
  })
})
