import { describe, expect, it } from 'vitest'
import { heartbeat, type ReconnectingSocket } from '../../../src/index.ts'
import { integrationHarness, record, waitFor } from '../helpers.ts'
import { type ProxyOptions, type ProxyPeer, peerHarness } from './processes.ts'

const echo = (socket: ReconnectingSocket, text: string): Promise<unknown> =>
  socket.request('echo', { text }, { timeoutMs: 5000 })

/**
 * The same two scenarios behind a real reverse proxy that cuts idle upgraded connections
 * (nginx `proxy_read_timeout`, HAProxy `timeout tunnel`), proxying to the reference server.
 */
export function proxyScenarios(
  name: string,
  startProxy: (options: ProxyOptions) => Promise<ProxyPeer>,
): void {
  // Registered first, so its afterEach runs after the sockets and the server are closed.
  const peers = peerHarness('each')
  const h = integrationHarness()

  describe(`behind ${name} with an idle timeout`, () => {
    it('without a heartbeat: each idle cut reconnects, and a connection that opened is not a failed attempt', async () => {
      const idleTimeoutS = 2
      const server = await h.server()
      const proxy = peers.add(await startProxy({ upstreamPort: server.port, idleTimeoutS }))
      const retryBoundMs = 200
      // maxAttempts 2 used to end in RETRIES_EXHAUSTED on the third cut: every connection
      // lived under minUptimeMs (5 s), so each cut counted as one more failed attempt and
      // the delays grew as if the server were down.
      const socket = h.socket(proxy.url, {
        maxAttempts: 2,
        retry: { quickRetryMs: retryBoundMs, initialDelayMs: retryBoundMs, maxDelayMs: 30_000 },
      })
      const rec = record(socket)
      const opens = (): number => rec.of('open').length

      await waitFor(
        () => opens() >= 4 || socket.state === 'closed',
        30_000,
        `4 opens through ${name} (3 idle cuts)`,
      )
      const errors = rec.of('error').map((error) => `${error.code}: ${error.message}`)
      expect(errors, 'no error gives up on a proxy that lets every connection in').toEqual([])
      expect(socket.state).toBe('open')

      const closes = rec.of('close')
      expect(closes.length).toBeGreaterThanOrEqual(3)
      expect(closes.every((close) => close.willReconnect)).toBe(true)
      // These are the proxy's idle cuts, not something quicker: no connection ended before
      // most of the idle timeout had passed (a lower bound only; the load may add any delay).
      const openTimes = rec.times('open')
      rec.times('close').forEach((closedAt, i) => {
        expect(closedAt - (openTimes[i] as number)).toBeGreaterThanOrEqual(idleTimeoutS * 750)
      })
      const reconnects = rec.of('reconnecting')
      expect(reconnects.map((r) => r.reason)).toEqual(closes.map(() => 'connection-lost'))
      // Each connection opened, so each cut is the first failure in a row: no growing delay.
      expect(reconnects.map((r) => r.attempt)).toEqual(closes.map(() => 1))
      for (const r of reconnects) expect(r.delayMs).toBeLessThanOrEqual(retryBoundMs)
      expect(server.accepted()).toBe(opens())

      expect(await echo(socket, 'still here')).toEqual({ text: 'still here' })
      console.log(
        `[${name}] ${closes.length} idle cuts (${idleTimeoutS} s), ${opens()} opens, ` +
          `delays ${reconnects.map((r) => r.delayMs).join(', ')} ms`,
      )
    })

    it('heartbeat { intervalMs: 1000 } keeps the connection up through the idle timeout', async () => {
      const idleTimeoutS = 3
      const server = await h.server()
      const proxy = peers.add(await startProxy({ upstreamPort: server.port, idleTimeoutS }))
      const socket = h.socket(proxy.url, { heartbeat: heartbeat({ intervalMs: 1000 }) })
      const rec = record(socket)
      await waitFor(() => socket.state === 'open', 10_000, `open through ${name}`)
      const openedAt = rec.times('open')[0] as number

      // Two and a half idle timeouts without a cut. A close ends the wait at once.
      const upForMs = idleTimeoutS * 2500
      await waitFor(
        () => rec.of('close').length > 0 || Date.now() - openedAt >= upForMs,
        upForMs + 10_000,
        `${upForMs} ms up, or a close`,
      )
      const pongs = rec.of('heartbeat').filter((beat) => 'rttMs' in beat).length
      expect(
        rec.of('close'),
        `cut by ${name} after ${(rec.times('close')[0] ?? 0) - openedAt} ms, ${pongs} pongs before`,
      ).toEqual([])
      expect(rec.of('open')).toHaveLength(1)
      expect(server.accepted()).toBe(1)
      // A ping after each second of silence: about 7 in 7.5 s; the old timer managed one.
      expect(pongs).toBeGreaterThanOrEqual(4)
      expect(await echo(socket, 'alive')).toEqual({ text: 'alive' })
      console.log(
        `[${name}] up ${Date.now() - openedAt} ms through a ${idleTimeoutS} s idle timeout, ${pongs} pongs`,
      )
    })
  })
}
