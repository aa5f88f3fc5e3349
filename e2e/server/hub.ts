import type { IncomingMessage } from 'node:http'
import type { WebSocket } from 'ws'
import type { MessageContext } from '../../server/index.ts'
import { Connection } from './connection.ts'
import { ReceivedLog } from './received-log.ts'
import { StreamLedger } from './stream.ts'
import { TokenStore } from './tokens.ts'
import { Waiters } from './waiters.ts'

export interface HubOptions {
  tokenTtlMs: number
  log: (line: string) => void
}

/**
 * The live connections and what the reference server shares between them and across
 * restarts of its companion: tokens, the received log and the waiters that watch both.
 * Connection ids are numbered here, not by the companion, so that they never repeat across
 * a restart (tests tell the connections before and after one apart by id).
 */
export class Hub {
  readonly tokens: TokenStore
  readonly received = new ReceivedLog()
  readonly waiters = new Waiters()
  /** The playground's `stream` runs: what arrived upstream, and the replies' numbering. */
  readonly streams = new StreamLedger()
  /** By upgrade request: the companion's `extra` for a `ws` socket is `{ request }`. */
  readonly #byRequest = new WeakMap<IncomingMessage, Connection>()
  /** Open or closing: what a drop or a shutdown has to reach. */
  readonly #connections = new Set<Connection>()
  readonly #log: (line: string) => void
  #nextId = 1
  #malformed = 0

  constructor(options: HubOptions) {
    this.tokens = new TokenStore(options.tokenTtlMs)
    this.#log = options.log
  }

  get malformedCount(): number {
    return this.#malformed
  }

  /** `path` must already be stripped of its query: it may hold a token. */
  accept(ws: WebSocket, request: IncomingMessage, path: string, withToken: boolean): Connection {
    const connection = new Connection(`c${this.#nextId++}`, path, ws)
    this.#byRequest.set(request, connection)
    this.#connections.add(connection)
    // ws emits 'error' for protocol violations (e.g. a frame over maxPayload) and closes
    // the socket itself.
    ws.on('error', (error) => this.#log(`${connection.id} socket error: ${error.message}`))
    ws.on('close', (code) => {
      this.#log(`${connection.id} closed ${code}`)
      this.#connections.delete(connection)
      this.waiters.check()
    })
    this.#log(`${connection.id} connected to ${path}${withToken ? ' with a token' : ''}`)
    return connection
  }

  /** The connection behind the companion's `extra` (`{ request }`). */
  of(extra: unknown): Connection | undefined {
    const request = (extra as { request?: IncomingMessage } | undefined)?.request
    return request === undefined ? undefined : this.#byRequest.get(request)
  }

  find(connectionId: string): Connection | undefined {
    for (const connection of this.open()) if (connection.id === connectionId) return connection
    return undefined
  }

  *open(): Generator<Connection> {
    for (const connection of this.#connections) if (connection.isOpen) yield connection
  }

  all(): Connection[] {
    return [...this.#connections]
  }

  openCount(): number {
    let count = 0
    for (const _ of this.open()) count += 1
    return count
  }

  /** The companion accepted an event or a request (`onReceive`). */
  receive(type: string, data: unknown, ctx: MessageContext): void {
    const entry = { connectionId: ctx.id, type, data, at: Date.now() }
    this.received.append({
      ...entry,
      ...(ctx.requestId === undefined ? {} : { id: ctx.requestId }),
      ...(ctx.deliveryId === undefined ? {} : { deliveryId: ctx.deliveryId }),
    })
    this.waiters.check()
  }

  malformed(connectionId: string | undefined): void {
    this.#malformed += 1
    this.#log(`${connectionId ?? 'a connection'} sent a malformed frame (ignored)`)
  }

  log(line: string): void {
    this.#log(line)
  }
}
