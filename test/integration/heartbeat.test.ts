import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { heartbeat, type ReconnectingSocket } from '../../src/index.ts'
import { delay, integrationHarness, record, waitFor } from './helpers.ts'

const h = integrationHarness()

interface StreamingServer {
  url: string
  /** When each client frame arrived (epoch ms), pings included. */
  heard: number[]
  /** When each connection was accepted. */
  accepted: number[]
  /** Connections this server closed because it heard nothing for `dropQuietAfterMs`. */
  dropped(): number
}

const servers: WebSocketServer[] = []
afterEach(async () => {
  for (const wss of servers.splice(0)) {
    for (const client of wss.clients) client.terminate()
    wss.close()
    await once(wss, 'close')
  }
})

/**
 * The kind of server a receive-only client meets in production: it streams to the client,
 * answers `$ping`, and closes connections it has not heard from for `dropQuietAfterMs`.
 */
async function streamingServer(streamEveryMs: number, dropQuietAfterMs: number) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  servers.push(wss)
  await once(wss, 'listening')
  const server: StreamingServer = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    heard: [],
    accepted: [],
    dropped: () => dropped,
  }
  let dropped = 0
  wss.on('connection', (ws) => {
    let heardAt = Date.now()
    server.accepted.push(heardAt)
    let tick = 0
    const stream = setInterval(
      () => ws.send(JSON.stringify({ type: 'tick', data: tick++ })),
      streamEveryMs,
    )
    const reaper = setInterval(() => {
      if (Date.now() - heardAt <= dropQuietAfterMs) return
      dropped++
      ws.close(4408, 'nothing heard from the client')
    }, 25)
    ws.on('message', (raw) => {
      heardAt = Date.now()
      server.heard.push(heardAt)
      const envelope = JSON.parse(String(raw)) as { type: string; id?: string }
      if (envelope.type === '$ping') ws.send(JSON.stringify({ type: '$pong', re: envelope.id }))
    })
    ws.on('close', () => {
      clearInterval(stream)
      clearInterval(reaper)
    })
  })
  return server
}

/** The longest stretch in which the server heard nothing, from `since` to `until`. */
function longestQuiet(heard: readonly number[], since: number, until: number): number {
  let longest = 0
  let previous = since
  for (const at of [...heard.filter((t) => t >= since), until]) {
    longest = Math.max(longest, at - previous)
    previous = at
  }
  return longest
}

const BEAT = { intervalMs: 500, timeoutMs: 500 }
const pongs = (rec: ReturnType<typeof record>) =>
  rec.of('heartbeat').filter((e) => e.phase === 'pong')
/** Room for a loaded 2-core machine; still well under a second late-timer probe. */
const MARGIN_MS = 1000
const BOUND_MS = BEAT.intervalMs + BEAT.timeoutMs + MARGIN_MS

const echo = async (socket: ReconnectingSocket, text: string): Promise<unknown> =>
  socket.request('echo', { text }, { timeoutMs: 3000 })

describe('heartbeat against the reference server', () => {
  it('detects a server that went silent and reconnects', async () => {
    const server = await h.server()
    const socket = h.socket(server.url, { heartbeat: heartbeat(BEAT) })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')
    // Pings are answered while the server talks: the verdict below is about the silence.
    await waitFor(() => pongs(rec).length >= 1, 3000, 'a pong')
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
    expect(detectedMs).toBeGreaterThanOrEqual(BEAT.timeoutMs - 100)
    expect(detectedMs).toBeLessThanOrEqual(BOUND_MS)

    await waitFor(() => rec.of('open').length === 2, 5000, 'reopen')
    expect(rec.of('open')[1]?.reconnected).toBe(true)
    expect(await echo(socket, 'back')).toEqual({ text: 'back' })
    console.log(
      `[heartbeat] silent server detected after ${detectedMs} ms ` +
        `(bound intervalMs + timeoutMs = ${BEAT.intervalMs + BEAT.timeoutMs} ms, + ${MARGIN_MS} ms margin)`,
    )
  })

  it('detects a half-open TCP connection, keeps retrying, and recovers once traffic flows', async () => {
    const server = await h.server()
    const proxy = await h.proxy(server.port)
    const socket = h.socket(proxy.url, { heartbeat: heartbeat(BEAT), connectTimeoutMs: 1000 })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open through the proxy')
    await waitFor(() => pongs(rec).length >= 1, 3000, 'a pong')

    proxy.blackhole(true) // both TCP sockets stay open; no byte, FIN or reset gets through
    const cutAt = Date.now()
    await waitFor(() => rec.of('close').length === 1, BOUND_MS + 2000, 'the heartbeat verdict')
    const detectedMs = (rec.times('close')[0] as number) - cutAt
    expect(rec.of('close')[0]).toMatchObject({ code: 4000, reason: 'heartbeat timeout' })
    expect(detectedMs).toBeGreaterThanOrEqual(BEAT.timeoutMs - 100)
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
        `(bound ${BEAT.intervalMs + BEAT.timeoutMs} ms + ${MARGIN_MS} ms margin); ` +
        `${socket.stats.connectAttempts - 1} attempts while cut; open again ${recoveredMs} ms after forwarding resumed`,
    )
  })

  it('pings every intervalMs when intervalMs is shorter than timeoutMs', async () => {
    // A shorter interval is how a user keeps a connection under an idle timeout.
    const server = await h.server()
    const socket = h.socket(server.url, { heartbeat: heartbeat({ intervalMs: 250 }) })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')
    const openedAt = Date.now()
    await delay(2500)
    const elapsedMs = Date.now() - openedAt
    // About 10 on time; the old timer waited for timeoutMs (10 s) after each pong: 1.
    expect(pongs(rec).length).toBeGreaterThanOrEqual(5)
    expect(rec.of('close')).toEqual([])
    console.log(
      `[heartbeat] intervalMs 250, timeoutMs 10000: ${pongs(rec).length} pongs in ${elapsedMs} ms`,
    )
  })
})

describe('heartbeat: the client stays audible', () => {
  const INTERVAL_MS = 300
  /** The server's patience: the interval plus room for a loaded 2-core machine. */
  const DROP_QUIET_AFTER_MS = 1500

  it('a receive-only client is heard every intervalMs, so a server that drops quiet clients keeps it', async () => {
    const server = await streamingServer(50, DROP_QUIET_AFTER_MS)
    const socket = h.socket(server.url, { heartbeat: heartbeat({ intervalMs: INTERVAL_MS }) })
    const rec = record(socket)
    const ticks: unknown[] = []
    socket.onMessage('tick', (data) => ticks.push(data))
    await waitFor(() => socket.state === 'open', 5000, 'open')
    const openedAt = server.accepted[0] as number
    await delay(3000)
    const quietMs = longestQuiet(server.heard, openedAt, Date.now())

    expect(ticks.length).toBeGreaterThan(10)
    expect(server.dropped()).toBe(0)
    expect(rec.of('close')).toEqual([])
    expect(server.accepted).toHaveLength(1)
    expect(server.heard.length).toBeGreaterThanOrEqual(4)
    expect(quietMs).toBeLessThan(DROP_QUIET_AFTER_MS)
    console.log(
      `[heartbeat] receive-only client, intervalMs ${INTERVAL_MS}: ${server.heard.length} frames heard ` +
        `in 3 s, longest quiet ${quietMs} ms, ${ticks.length} frames received`,
    )
  })

  it('an idle client is heard every intervalMs too', async () => {
    // No stream: only the heartbeat talks, in both directions.
    const server = await streamingServer(60_000, DROP_QUIET_AFTER_MS)
    const socket = h.socket(server.url, { heartbeat: heartbeat({ intervalMs: INTERVAL_MS }) })
    const rec = record(socket)
    await waitFor(() => socket.state === 'open', 5000, 'open')
    const openedAt = server.accepted[0] as number
    await delay(3000)
    const quietMs = longestQuiet(server.heard, openedAt, Date.now())
    expect(server.dropped()).toBe(0)
    expect(rec.of('close')).toEqual([])
    expect(quietMs).toBeLessThan(DROP_QUIET_AFTER_MS)
    expect(pongs(rec).length).toBeGreaterThanOrEqual(4)
  })
})
