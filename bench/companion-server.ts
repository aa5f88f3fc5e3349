// The bench's second server: `resilient-socket/server` (the companion) on `ws`, in its own
// process like the echo server, so that one endpoint serves every contender and the only
// difference between them is the client. Plain clients (the raw WebSocket, partysocket,
// resilient-socket without the reliable mode) get a plain connection; a client whose first
// frame is `$hello`/`$resume` gets a reliable session. Loopback only.
//
//   node bench/companion-server.ts [--port N]   prints nothing; talks to its parent over IPC
//
// What it does with frames:
//   bench  → echoed with ctx.send (sequenced in a session): the throughput scenario
//   rec    → counted (distinct, duplicates, order): the client → server stream of the cuts
//   $ping  → $pong, by the companion itself (resilient-socket's heartbeat)
// and on the `push` command it streams `push` frames to the client at 1 per ms: into the
// session with sendTo (stored, so it survives the client being away), or, for a plain
// client, to whatever connection is open at that moment (none: the frame has nowhere to go).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { WebSocketServer } from 'ws'
import { attach, createSocketServer, type ServerError } from '../server/index.ts'
import type { RecoveryCount, ServerCommand, ServerMessage } from './echo-server.ts'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } })

/** The server → client stream: what happened to each `push` frame on the server's side. */
export interface PushCount {
  /** Frames the stream has produced so far. */
  produced: number
  /** Handed to a session (stored) or written to an open plain connection. */
  sent: number
  /** A plain client had no open connection at that moment. */
  noConnection: number
  /** `sendTo` / `ctx.send` rejected (a session bound, a connection that had just closed). */
  refused: number
  done: boolean
}

export type CompanionCommand = ServerCommand | { cmd: 'push'; count: number; perMs: number }
export type CompanionMessage =
  | ServerMessage
  | { event: 'pushing' }
  | { event: 'companion'; count: RecoveryCount; push: PushCount; errors: string[] }

/**
 * The whole 5 s stream may wait in a session while its client is away (a reconnect after
 * a reset that hit during a reconnect waits the 6 s backoff step): the bound must not be
 * what is measured, so it is raised to hold it all.
 */
const MAX_UNACKED_FRAMES = 20_000

let received: number[] = []
let push: PushCount = { produced: 0, sent: 0, noConnection: 0, refused: 0, done: true }
/** The session of the client under test, once it has one: pushes go there from then on. */
let sessionId: string | undefined
/** The first few server errors since the last reset (a broken run says why). */
let errors: string[] = []
let pushTimer: ReturnType<typeof setTimeout> | undefined

const server = createSocketServer({
  maxUnackedFrames: MAX_UNACKED_FRAMES,
  maxUnackedBytes: 64 * 1024 * 1024,
  // Pipelined plain clients put thousands of frames in flight at once.
  maxPendingFrames: 100_000,
  onError: (error: ServerError) => {
    // A reset mid-frame, a send to a connection that just closed: expected under cuts.
    if (errors.length < 20) errors.push(`${error.code}: ${error.message}`)
  },
})
server.on('bench', (data, ctx) => ctx.send('bench', data))
server.on('rec', (data, ctx) => {
  if (ctx.sid !== undefined) sessionId = ctx.sid
  received.push((data as { seq: number }).seq)
})

function count(): RecoveryCount {
  const seen = new Set(received)
  let inOrder = true
  for (let i = 1; i < received.length; i++) {
    if ((received[i] as number) <= (received[i - 1] as number)) inOrder = false
  }
  return {
    received: received.length,
    unique: seen.size,
    duplicates: received.length - seen.size,
    inOrder,
  }
}

function pushOne(seq: number): void {
  const data = { seq, text: 'through the cuts' }
  const tally = push
  const refused = (): void => {
    tally.refused++
    tally.sent--
  }
  if (sessionId === undefined) {
    for (const ctx of server.connections()) if (ctx.sid !== undefined) sessionId = ctx.sid
  }
  tally.sent++
  if (sessionId !== undefined) {
    server.sendTo(sessionId, 'push', data).catch(refused)
    return
  }
  let any = false
  for (const ctx of server.connections()) {
    any = true
    ctx.send('push', data).catch(refused)
  }
  if (!any) {
    tally.sent--
    tally.noConnection++
  }
}

/** `count` frames at `perMs` per ms, paced by the clock (a late timer sends the backlog). */
function startPush(total: number, perMs: number): void {
  clearTimeout(pushTimer)
  push = { produced: 0, sent: 0, noConnection: 0, refused: 0, done: false }
  const tally = push
  const start = performance.now()
  const tick = (): void => {
    const due = Math.min(total, Math.floor((performance.now() - start) * perMs) + 1)
    while (tally.produced < due) pushOne(tally.produced++)
    if (tally.produced < total) pushTimer = setTimeout(tick, 1)
    else tally.done = true
  }
  tick()
}

const send = (message: CompanionMessage): void => {
  process.send?.(message)
}

const http = createServer()
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, backlog: 2048 })
// A client that vanishes mid-frame must not crash the server.
wss.on('connection', (ws) => ws.on('error', () => {}))
attach(wss, server)
http.listen({ port: Number(values.port), host: '127.0.0.1', backlog: 2048 }, () => {
  const { port } = http.address() as AddressInfo
  send({ event: 'ready', port, upAt: performance.timeOrigin + performance.now() })
})

process.on('message', (command: CompanionCommand) => {
  switch (command.cmd) {
    case 'connections':
      send({ event: 'connections', count: wss.clients.size })
      break
    case 'recovery':
      send({ event: 'companion', count: count(), push, errors })
      break
    case 'reset':
      clearTimeout(pushTimer)
      received = []
      errors = []
      sessionId = undefined
      push = { produced: 0, sent: 0, noConnection: 0, refused: 0, done: true }
      send({ event: 'reset' })
      break
    case 'push':
      startPush(command.count, command.perMs)
      send({ event: 'pushing' })
      break
    case 'acceptLog':
      send({ event: 'acceptLog', times: [] })
      break
    case 'listen':
      break
  }
})

// The parent is the only reason to live: if it goes, so does the server.
process.on('disconnect', () => process.exit(0))
