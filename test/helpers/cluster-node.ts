#!/usr/bin/env node
/**
 * One server node of a cluster on a shared Redis session store: resilient-socket/server on a
 * `ws` server, in a process of its own so that SIGKILL is a real crash. Runs on Node >= 22.18
 * (type stripping): `node test/helpers/cluster-node.ts --redis redis://127.0.0.1:6379`.
 *
 * What it serves: the event `up` (recorded: to the parent over IPC when forked by a test,
 * else logged), the request `slow` (answers `{ node }` after `data.ms`, on the node named
 * `data.on` only if given), and, from the parent
 * over IPC, `sendTo` (a push into a session by sid), `join` (a session into a group) and
 * `broadcast` (`tick` `{ n }` to a group). SIGTERM is a clean restart: every
 * socket closed with 1012, the sessions left detached in Redis.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { createClient } from 'redis'
import { WebSocketServer } from 'ws'
import { attach, createSocketServer, redisStore, ServerError } from '../../server/index.ts'

const PUSH_TIMEOUT_MS = 10_000

/** What a node tells its parent, one IPC message each. */
export type NodeReport =
  | { type: 'ready'; port: number }
  | { type: 'up'; n: number; deliveryId: string | undefined; sid: string | undefined }
  | { type: 'closed'; code: number; reason: string; sid: string | undefined }
  | { type: 'error'; code: string; message: string }
  | { type: 'sent'; id: number; error?: string }
  | { type: 'slow'; phase: 'start' | 'end'; requestId: string | undefined }

/** What a parent asks of a node; each is answered with `sent` and its id. */
export type NodeCommand =
  | { type: 'sendTo'; id: number; sid: string; n: number }
  | { type: 'join'; id: number; sid: string; group: string }
  | { type: 'broadcast'; id: number; group: string; n: number }

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string' },
    name: { type: 'string', default: 'node' },
    port: { type: 'string', default: '0' },
    prefix: { type: 'string', default: 'rs:' },
    'poll-ms': { type: 'string', default: '2000' },
  },
  strict: true,
})
if (args.redis === undefined) {
  process.stderr.write(
    'usage: node test/helpers/cluster-node.ts --redis <url> [--name a] [--port 0]\n',
  )
  process.exit(2)
}
const name = args.name
const forked = typeof process.send === 'function'

/**
 * To the parent, and only once the message is written to the IPC channel: a handler that
 * awaits it has made its effect durable before its frame is committed, so a SIGKILL after
 * the commit cannot lose the record.
 */
const report = (message: NodeReport): Promise<void> => {
  if (!forked) {
    process.stdout.write(`${name} ${JSON.stringify(message)}\n`)
    return Promise.resolve()
  }
  return new Promise((resolve) => {
    // biome-ignore lint/style/noNonNullAssertion: forked
    process.send!(message, undefined, {}, () => resolve())
  })
}

const client = createClient({
  url: args.redis,
  // Reconnect quickly and forever: a Redis restart is something a node rides out.
  socket: { reconnectStrategy: () => 50, connectTimeout: 2000 },
})
client.on('error', () => {
  // Reported through the store's onError per operation; the client reconnects by itself.
})
await client.connect()
const store = await redisStore({
  client,
  keyPrefix: args.prefix,
  pollIntervalMs: Number(args['poll-ms']),
  operationTimeoutMs: 10_000,
  onError: (error) => void report({ type: 'error', code: error.code, message: error.message }),
})

let connections = 0
const server = createSocketServer({
  store,
  connectionId: () => `${name}-${++connections}`,
  handlers: {
    slow: async (data, ctx) => {
      const { ms: asked, on } = (data ?? {}) as { ms?: unknown; on?: unknown }
      const ms =
        on === undefined || on === name ? Math.min(Math.max(Number(asked) || 0, 0), 10_000) : 0
      await report({ type: 'slow', phase: 'start', requestId: ctx.requestId })
      await new Promise((resolve) => setTimeout(resolve, ms))
      await report({ type: 'slow', phase: 'end', requestId: ctx.requestId })
      return { node: name }
    },
  },
  onClose: (ctx, code, reason) => void report({ type: 'closed', code, reason, sid: ctx.sid }),
  onError: (error) => void report({ type: 'error', code: error.code, message: error.message }),
})
server.on('up', async (data, ctx) => {
  await report({
    type: 'up',
    n: (data as { n: number }).n,
    deliveryId: ctx.deliveryId,
    sid: ctx.sid,
  })
})

/**
 * A producer that backs off while the client is behind: `UNACKED_LIMIT` stored nothing, so
 * trying again later cannot duplicate. Any other failure is the parent's to see.
 */
async function push(sid: string, n: number, type = 'down'): Promise<void> {
  const deadline = Date.now() + PUSH_TIMEOUT_MS
  for (let attempt = 0; ; attempt++) {
    try {
      return await server.sendTo(sid, type, { n })
    } catch (error) {
      const full = error instanceof ServerError && error.code === 'UNACKED_LIMIT'
      if (!full || Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, Math.min(1 + attempt, 20)))
    }
  }
}

/**
 * A broadcast, then each member it found full sent the same frame alone (backing off as
 * `push` does) before the next command: so every member still gets the ticks in order.
 * Gone or failed members are the parent's to see.
 */
async function broadcast(group: string, n: number): Promise<void> {
  const result = await server.broadcast(group, 'tick', { n })
  if (result.gone.length > 0 || result.failed.length > 0) {
    throw new Error(`broadcast ${n}: gone ${result.gone}, failed ${result.failed}`)
  }
  for (const sid of result.full) await push(sid, n, 'tick')
}

const run = (command: NodeCommand): Promise<void> => {
  if (command.type === 'sendTo') return push(command.sid, command.n)
  if (command.type === 'join') return server.join(command.sid, command.group)
  return broadcast(command.group, command.n)
}

// In order: each command waits for the one before it, as one producer's sends would.
let pushes: Promise<unknown> = Promise.resolve()
process.on('message', (command: NodeCommand) => {
  if (!['sendTo', 'join', 'broadcast'].includes(command?.type)) return
  pushes = pushes.then(() =>
    run(command).then(
      () => report({ type: 'sent', id: command.id }),
      (error: Error) => report({ type: 'sent', id: command.id, error: error.message }),
    ),
  )
})

const http = createServer()
const wss = new WebSocketServer({ server: http, maxPayload: 1024 * 1024 })
attach(wss, server)
await new Promise<void>((resolve) => http.listen(Number(args.port), '127.0.0.1', resolve))
const { port } = http.address() as AddressInfo
await report({ type: 'ready', port })

process.once('SIGTERM', () => {
  server.close(1012, 'restarting')
  // The detaches that close() started are store writes: let them land before Redis goes.
  setTimeout(async () => {
    wss.close()
    http.close()
    await store.close()
    await client.close()
    process.exit(0)
  }, 200)
})
