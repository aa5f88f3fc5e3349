import type { SocketServer } from '../../server/index.ts'
import type { Connection, ConnectionStatus } from './connection.ts'
import { HttpError } from './http-util.ts'
import type { Hub } from './hub.ts'
import type { ReceivedMessage } from './received-log.ts'
import type { Refusal } from './refusal.ts'
import type { IssuedToken } from './tokens.ts'

export interface ServerStatus {
  connections: ConnectionStatus[]
  /** Epoch ms when refusing new connections ends, or null. */
  refusingUntil: number | null
  /** Application messages received since start or the last `clearReceived()`. */
  received: number
  malformed: number
  up: boolean
}

export interface RestartOptions {
  /**
   * What happens to the reliable sessions (and the request-result cache): `'drop'` loses
   * them, as a process with a memory store does when it restarts (a `$resume` then hears
   * `resumed: false`, `unknown-session`); `'keep'` keeps them, as a store outside the
   * process (Redis) would.
   * @default 'drop'
   */
  store?: 'keep' | 'drop'
}

/** Fault injection and inspection. Counts returned are of connections affected. */
export interface ServerControl {
  /** Destroys every connection's TCP socket without a close frame. */
  dropAll(): number
  /** Close handshake with this code on every connection. @throws ControlError on an invalid code */
  closeAll(code?: number, reason?: string): number
  /** Connections open now stop sending anything while staying open; `false` un-silences all. */
  silence(on?: boolean): number
  /** Answers upgrades with 503 + Retry-After for `ms`; 0 stops refusing. Returns the deadline. */
  refuse(ms: number): number | null
  /** Stops reading from the connections open now (their sender's bufferedAmount grows). */
  pauseReading(on?: boolean): number
  /** Every issued token expires now; connections using one get 4001 'token expired'. */
  expireTokens(): number
  /** Forgets every token; connections using one get 4001 'token revoked'. */
  invalidateTokens(): number
  /** stop(), wait `downMs`, start() on the same port: a process restart (see `RestartOptions`). */
  restart(downMs?: number, options?: RestartOptions): Promise<void>
  /** Sends a text frame verbatim to one connection or all. @throws ControlError for an unknown id */
  sendRaw(text: string, connectionId?: string): number
  /** Sends `{ type, data }` to every connection (sequenced in a reliable session). @throws ControlError for a `$` type */
  broadcast(type: string, data?: unknown): number
  /**
   * Pushes an event into a reliable session, attached or not (a detached one gets it on
   * resume). Rejects with a ControlError: 404 for a session that is gone, 409 past its
   * unacked bounds, 503 while the server is down.
   */
  sendTo(sid: string, type: string, data?: unknown): Promise<void>
  /** The reliable session of an open connection, or undefined (plain, or not yet started). */
  sessionOf(connectionId: string): string | undefined
  status(): ServerStatus
  /** A copy of the received log, oldest first. */
  received(): ReceivedMessage[]
  clearReceived(): void
  /** Resolves with the open connection ids once at least `count` are open. */
  waitForConnections(count: number, timeoutMs?: number): Promise<string[]>
  /** Resolves with the log once at least `count` messages were received since the last clear. */
  waitForReceived(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>
  connectionIds(): string[]
  issueToken(ttlMs?: number): IssuedToken
}

/** Longer would overflow setTimeout; nobody needs a test server down for a day. */
const MAX_DOWN_MS = 24 * 60 * 60 * 1000

/** A bad control argument; `status` is the HTTP status the control endpoint answers. */
export class ControlError extends HttpError {
  constructor(message: string, status: number) {
    super(status, message)
    this.name = 'ControlError'
  }
}

export interface ControlDeps {
  hub: Hub
  refusal: Refusal
  isUp(): boolean
  /** The companion of the current "process"; null while down. */
  companion(): SocketServer | null
  restart(downMs: number, options: RestartOptions): Promise<void>
}

/** What a `sendTo` failure of the companion is over HTTP. */
const SEND_TO_STATUS: Readonly<Record<string, number>> = {
  SESSION_GONE: 404,
  UNACKED_LIMIT: 409,
  INVALID_OPTIONS: 400,
}

export function createControl({
  hub,
  refusal,
  isUp,
  companion,
  restart,
}: ControlDeps): ServerControl {
  const openIds = (): string[] => Array.from(hub.open(), (c) => c.id)
  const forEachOpen = (apply: (connection: Connection) => void, what: string): number => {
    const connections = [...hub.open()]
    for (const connection of connections) apply(connection)
    hub.log(`control: ${what} (${connections.length} connections)`)
    return connections.length
  }

  return {
    dropAll() {
      const connections = hub.all()
      for (const connection of connections) connection.terminate()
      hub.log(`control: dropped ${connections.length} connections`)
      return connections.length
    },
    closeAll(code = 1000, reason = '') {
      if (!isSendableCloseCode(code)) throw new ControlError(`invalid close code ${code}`, 400)
      if (Buffer.byteLength(reason) > 123)
        throw new ControlError('close reason is over 123 bytes', 400)
      return forEachOpen((c) => c.close(code, reason), `close ${code}`)
    },
    silence(on = true) {
      const connections = on ? [...hub.open()] : hub.all().filter((c) => c.silenced)
      for (const connection of connections) connection.setSilenced(on)
      hub.log(`control: silence ${on ? 'on' : 'off'} (${connections.length} connections)`)
      return connections.length
    },
    refuse(ms) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new ControlError('ms must be a non-negative number', 400)
      refusal.refuse(ms)
      hub.log(`control: refusing upgrades for ${ms} ms`)
      return refusal.until()
    },
    pauseReading(on = true) {
      return forEachOpen((c) => c.setPaused(on), `pause reading ${on ? 'on' : 'off'}`)
    },
    expireTokens() {
      const count = hub.tokens.expireAll()
      const now = Date.now()
      for (const connection of hub.all()) connection.checkGrant(now)
      hub.log(`control: expired ${count} tokens`)
      return count
    },
    invalidateTokens() {
      const count = hub.tokens.invalidateAll()
      for (const connection of hub.all()) connection.checkGrant()
      hub.log(`control: invalidated ${count} tokens`)
      return count
    },
    restart(downMs = 1000, options = {}) {
      if (!Number.isFinite(downMs) || downMs < 0 || downMs > MAX_DOWN_MS) {
        return Promise.reject(new ControlError(`downMs must be in 0..${MAX_DOWN_MS}`, 400))
      }
      const store = options.store ?? 'drop'
      if (store !== 'keep' && store !== 'drop') {
        return Promise.reject(new ControlError('store must be keep or drop', 400))
      }
      hub.log(`control: restart, down for ${downMs} ms, ${store} the sessions`)
      return restart(downMs, { store }).catch((error: unknown) => {
        // Over HTTP nobody awaits this promise, so say it here (e.g. the port was taken).
        hub.log(`restart failed: ${(error as Error).message}`)
        throw error
      })
    },
    sendRaw(text, connectionId) {
      if (connectionId === undefined) return forEachOpen((c) => c.sendRaw(text), 'send raw frame')
      const target = hub.find(connectionId)
      if (target === undefined) throw new ControlError(`no open connection "${connectionId}"`, 404)
      return target.sendRaw(text) ? 1 : 0
    },
    broadcast(type, data) {
      if (typeof type !== 'string' || type === '')
        throw new ControlError('type must be a non-empty string', 400)
      if (type.startsWith('$')) {
        throw new ControlError("$ types are the protocol's; use send-raw to forge one", 400)
      }
      return forEachOpen((c) => {
        c.context?.send(type, data).catch((error: unknown) => {
          hub.log(`${c.id} could not get "${type}": ${(error as Error).message}`)
        })
      }, `broadcast ${type}`)
    },
    async sendTo(sid, type, data) {
      const server = companion()
      if (server === null) throw new ControlError('the server is down', 503)
      try {
        await server.sendTo(sid, type, data)
      } catch (error) {
        const { code, message } = error as { code?: string; message: string }
        throw new ControlError(message, SEND_TO_STATUS[code ?? ''] ?? 500)
      }
      hub.log(`control: sent "${type}" into a session`)
    },
    sessionOf: (connectionId) => hub.find(connectionId)?.context?.sid,
    status() {
      return {
        connections: Array.from(hub.open(), (c) => c.status()),
        refusingUntil: refusal.until(),
        received: hub.received.total,
        malformed: hub.malformedCount,
        up: isUp(),
      }
    },
    received: () => hub.received.toArray(),
    clearReceived: () => hub.received.clear(),
    async waitForConnections(count, timeoutMs = 5000) {
      await hub.waiters.wait(
        () => hub.openCount() >= count,
        timeoutMs,
        () => `${count} connections (have ${hub.openCount()})`,
      )
      return openIds()
    },
    async waitForReceived(count, timeoutMs = 10_000) {
      const { received } = hub
      await hub.waiters.wait(
        () => received.total >= count,
        timeoutMs,
        () => `${count} messages (have ${received.total})`,
      )
      return received.toArray()
    },
    connectionIds: openIds,
    issueToken(ttlMs) {
      try {
        return hub.tokens.issue(ttlMs)
      } catch (error) {
        throw new ControlError((error as Error).message, 400)
      }
    },
  }
}

/** What ws will put in a close frame (RFC 6455 §7.4; 1004-1006 and 1015 are reserved). */
function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) ||
      (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999))
  )
}
