// The benchmark's echo server. It runs in its own process (bench/server-process.ts forks
// it) so that its work never shares the client's event loop, and it stays as thin as the
// protocol allows: the client's cost is what is being measured, so a server that parses
// every frame would only blur the difference between contenders. Loopback only.
//
//   node bench/echo-server.ts [--port N] [--standby]   prints nothing; talks to its parent over IPC
//
// With --standby it starts, reports `standby` and listens only on the `listen` command, so
// that an outage ends at a known moment instead of after a process start-up of varying length.
//
// Frames are echoed byte for byte, except three that need an answer of their own. They are
// told apart by their first bytes, which is safe because every frame the bench sends is
// built by JSON.stringify with `type` as its first key:
//   {"type":"$ping","id":…}            → {"type":"$pong","re":…}   (resilient-socket's heartbeat)
//   {"type":"echo","id":…,"data":…}    → {"type":"echo","re":…,"data":…}   (request/response)
//   {"type":"rec","data":{"seq":n}}    → counted for the recovery scenario, then echoed
import { parseArgs } from 'node:util'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, standby: { type: 'boolean', default: false } },
})

const PING_PREFIX = Buffer.from('{"type":"$ping"')
const REQUEST_PREFIX = Buffer.from('{"type":"echo","id":')
const RECOVERY_PREFIX = Buffer.from('{"type":"rec",')

export type ServerCommand =
  | { cmd: 'connections' }
  | { cmd: 'recovery' }
  | { cmd: 'reset' }
  | { cmd: 'acceptLog' }
  | { cmd: 'listen' }

export interface RecoveryCount {
  received: number
  unique: number
  duplicates: number
  inOrder: boolean
}

export type ServerMessage =
  | { event: 'standby' }
  | { event: 'ready'; port: number; upAt: number }
  | { event: 'connections'; count: number }
  | { event: 'recovery'; count: RecoveryCount }
  | { event: 'reset' }
  | { event: 'acceptLog'; times: number[] }

/** Sequence numbers of `rec` frames in arrival order. */
let recovered: number[] = []
/** When each connection was accepted (epoch ms, the clock of `upAt`): the herd's load. */
const accepted: number[] = []
const epochNow = (): number => performance.timeOrigin + performance.now()

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return (
    data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0
  )
}

function onMessage(ws: WebSocket, raw: RawData, isBinary: boolean): void {
  const data = raw as Buffer
  if (isBinary) {
    ws.send(data, { binary: true })
    return
  }
  if (startsWith(data, PING_PREFIX)) {
    const { id } = JSON.parse(data.toString()) as { id: string }
    ws.send(JSON.stringify({ type: '$pong', re: id }))
    return
  }
  if (startsWith(data, REQUEST_PREFIX)) {
    const { type, id, data: payload } = JSON.parse(data.toString()) as Record<string, unknown>
    ws.send(JSON.stringify({ type, re: id, data: payload }))
    return
  }
  if (startsWith(data, RECOVERY_PREFIX)) {
    const message = JSON.parse(data.toString()) as { data: { seq: number } }
    recovered.push(message.data.seq)
  }
  ws.send(data, { binary: false })
}

function recoveryCount(): RecoveryCount {
  const seen = new Set(recovered)
  let inOrder = true
  for (let i = 1; i < recovered.length; i++) {
    if ((recovered[i] as number) <= (recovered[i - 1] as number)) inOrder = false
  }
  return {
    received: recovered.length,
    unique: seen.size,
    duplicates: recovered.length - seen.size,
    inOrder,
  }
}

const send = (message: ServerMessage): void => {
  process.send?.(message)
}

let wss: WebSocketServer | null = null

function listen(): void {
  if (wss) return
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: Number(values.port),
    perMessageDeflate: false,
    // Hundreds of clients connect within a few milliseconds in the memory and herd scenarios.
    backlog: 2048,
  })
  server.on('connection', (ws) => {
    accepted.push(epochNow())
    ws.on('message', (raw, isBinary) => onMessage(ws, raw, isBinary))
    // A client that vanishes mid-frame must not crash the server.
    ws.on('error', () => {})
  })
  server.on('listening', () => {
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    send({ event: 'ready', port, upAt: epochNow() })
  })
  wss = server
}

process.on('message', (command: ServerCommand) => {
  switch (command.cmd) {
    case 'connections':
      send({ event: 'connections', count: wss?.clients.size ?? 0 })
      break
    case 'recovery':
      send({ event: 'recovery', count: recoveryCount() })
      break
    case 'reset':
      recovered = []
      send({ event: 'reset' })
      break
    case 'acceptLog':
      send({ event: 'acceptLog', times: accepted.splice(0) })
      break
    case 'listen':
      listen()
      break
  }
})

if (values.standby) send({ event: 'standby' })
else listen()

// The parent is the only reason to live: if it goes, so does the server.
process.on('disconnect', () => process.exit(0))
