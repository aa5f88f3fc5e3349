import { describe, expect, it } from 'vitest'
import type { ReconnectingSocket } from '../../src/index.ts'
import { integrationHarness, record, waitFor } from './helpers.ts'

const h = integrationHarness()

const heartbeat = { intervalMs: 500, timeoutMs: 500 }
/** Room for a loaded 2-core machine; still well under a second late-timer probe. */
const MARGIN_MS = 1000
const BOUND_MS = heartbeat.intervalMs + heartbeat.timeoutMs + MARGIN_MS

const echo = async (socket: ReconnectingSocket, text: string): Promise<unknown> =>
  socket.request('echo', { text }, { timeoutMs: 3000 })

describe('heartbeat against the reference server', () => {
  it('detects a server that went silent and reconnects', async () => {
    const server = await h.server()
    const socket = h.socket(server.url, { heartbeat })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')
    // Pings are answered while the server talks: the verdict below is about the silence.
    await waitFor(() => rec.of('heartbeat').length >= 1, 3000, 'a pong')
    expect(socket.stats.rttMs).not.toBeNull()

    expect(server.control.silence(true)).toBe(1)
    const silencedAt = Date.now()
    await waitFor(() => rec.of('close').length === 1, BOUND_MS + 2000, 'the heartbeat verdict')
    const detectedMs = (rec.times('close')[0] as number) - silencedAt

    expect(rec.of('close')[0]).toEqual({
      code: 4000,
      reason: 'heartbeat timeout',
      wasClean: false,
      willReconnect: true,
    })
    expect(rec.of('reconnecting')[0]).toMatchObject({ reason: 'heartbeat-timeout' })
    // A verdict needs a ping and a whole timeout without an answer.
    expect(detectedMs).toBeGreaterThanOrEqual(heartbeat.timeoutMs - 100)
    expect(detectedMs).toBeLessThanOrEqual(BOUND_MS)

    await waitFor(() => rec.of('open').length === 2, 5000, 'reopen')
    expect(rec.of('open')[1]?.reconnected).toBe(true)
    expect(await echo(socket, 'back')).toEqual({ text: 'back' })
    console.log(
      `[heartbeat] silent server detected after ${detectedMs} ms ` +
        `(bound intervalMs + timeoutMs = ${heartbeat.intervalMs + heartbeat.timeoutMs} ms, + ${MARGIN_MS} ms margin)`,
    )
  })

  it('detects a half-open TCP connection, keeps retrying, and recovers once traffic flows', async () => {
    const server = await h.server()
    const proxy = await h.proxy(server.port)
    const socket = h.socket(proxy.url, { heartbeat, connectTimeoutMs: 1000 })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open through the proxy')
    await waitFor(() => rec.of('heartbeat').length >= 1, 3000, 'a pong')

    proxy.blackhole(true) // both TCP sockets stay open; no byte, FIN or reset gets through
    const cutAt = Date.now()
    await waitFor(() => rec.of('close').length === 1, BOUND_MS + 2000, 'the heartbeat verdict')
    const detectedMs = (rec.times('close')[0] as number) - cutAt
    expect(rec.of('close')[0]).toMatchObject({ code: 4000, reason: 'heartbeat timeout' })
    expect(detectedMs).toBeGreaterThanOrEqual(heartbeat.timeoutMs - 100)
    expect(detectedMs).toBeLessThanOrEqual(BOUND_MS)

    // New handshakes vanish into the black hole too: attempts time out and back off.
    await waitFor(
      () => rec.of('error').filter((e) => e.code === 'CONNECT_TIMEOUT').length >= 2,
      8000,
      'two timed-out attempts',
    )
    expect(socket.state).toBe('reconnecting')
    expect(rec.of('open')).toHaveLength(1)

    proxy.blackhole(false)
    const restoredAt = Date.now()
    await waitFor(() => rec.of('open').length === 2, 8000, 'recovery')
    const recoveredMs = (rec.times('open')[1] as number) - restoredAt
    expect(rec.of('open')[1]?.reconnected).toBe(true)
    expect(await echo(socket, 'through again')).toEqual({ text: 'through again' })
    console.log(
      `[heartbeat] half-open connection detected after ${detectedMs} ms ` +
        `(bound ${heartbeat.intervalMs + heartbeat.timeoutMs} ms + ${MARGIN_MS} ms margin); ` +
        `${socket.stats.connectAttempts - 1} attempts while cut; open again ${recoveredMs} ms after forwarding resumed`,
    )
  })
})
