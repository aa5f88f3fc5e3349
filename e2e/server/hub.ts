import type { WebSocket } from 'ws'
import type { ConnectionHost } from './connection.ts'
import { Connection } from './connection.ts'
import type { InboundEnvelope } from './envelope.ts'
import { ReceivedLog } from './received-log.ts'
import type { RouteContext } from './routes.ts'
import { routeMessage } from './routes.ts'
import { TokenStore } from './tokens.ts'
import { Waiters } from './waiters.ts'

export interface HubOptions {
  tokenTtlMs: number
  authTimeoutMs: number
  log: (line: string) => void
}

/** Paths whose connections must authenticate before anything else. */
const SECURE_PATH = '/secure'

/**
 * The set of live connections and everything shared between them: tokens, the
 * received log and the waiters that watch both.
 */
export class Hub implements ConnectionHost, RouteContext {
  readonly tokens: TokenStore
  readonly authTimeoutMs: number
  readonly received = new ReceivedLog()
  readonly waiters = new Waiters()
  readonly #connections = new Map<string, Connection>()
  readonly #log: (line: string) => void
  #nextId = 1
  #malformed = 0

  constructor(options: HubOptions) {
    this.tokens = new TokenStore(options.tokenTtlMs)
    this.authTimeoutMs = options.authTimeoutMs
    this.#log = options.log
  }

  get malformedCount(): number {
    return this.#malformed
  }

  /** `path` must already be stripped of its query: it may hold a token. */
  accept(ws: WebSocket, path: string, presentedToken: string | null): Connection {
    const id = `c${this.#nextId++}`
    const connection = new Connection({
      id,
      path,
      ws,
      host: this,
      requireAuth: path === SECURE_PATH,
    })
    this.#connections.set(id, connection)
    this.#log(`${id} connected to ${path}${presentedToken === null ? '' : ' with a token'}`)
    connection.start(presentedToken)
    this.waiters.check()
    return connection
  }

  find(connectionId: string): Connection | undefined {
    const connection = this.#connections.get(connectionId)
    return connection?.isOpen ? connection : undefined
  }

  *open(): Generator<Connection> {
    for (const connection of this.#connections.values()) {
      if (connection.isOpen) yield connection
    }
  }

  /** Open or closing: what a drop or a shutdown has to reach. */
  all(): Connection[] {
    return [...this.#connections.values()]
  }

  openCount(): number {
    let count = 0
    for (const _ of this.open()) count += 1
    return count
  }

  route(connection: Connection, envelope: InboundEnvelope): void {
    const entry = {
      connectionId: connection.id,
      type: envelope.type,
      data: envelope.data,
      at: Date.now(),
    }
    this.received.append(envelope.id === undefined ? entry : { ...entry, id: envelope.id })
    routeMessage(this, connection, envelope)
    this.waiters.check()
  }

  malformed(connection: Connection): void {
    this.#malformed += 1
    this.#log(`${connection.id} sent a malformed frame (ignored)`)
  }

  closed(connection: Connection): void {
    this.#connections.delete(connection.id)
    this.waiters.check()
  }

  log(line: string): void {
    this.#log(line)
  }
}
