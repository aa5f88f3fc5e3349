import {
  Connection,
  type ConnectionHost,
  type ServerSocket,
  type SocketHooks,
} from './connection.ts'
import { ServerError } from './errors.ts'
import { memoryStore } from './memory-store.ts'
import type { ConnectionContext, EventListener, SocketServerOptions } from './options.ts'
import { resolveOptions } from './options.ts'

export interface OpenedInit {
  /** Passed to callbacks as `ctx.extra` (the `ws` adapter passes `{ request }`). */
  extra?: unknown
  /** A token from the upgrade request (query, subprotocol or header), checked before any frame. */
  token?: string
}

/** What `broadcast` did, by member sid. */
export interface BroadcastResult {
  /** Appended: each will be delivered once, in order. */
  sent: string[]
  /** Refused by the unacked bounds (`UNACKED_LIMIT`): nothing stored for these; send again later. */
  full: string[]
  /** No such session any more: nothing stored, and removed from the group. */
  gone: string[]
  /**
   * The store failed (`STORE_FAILED`) on these: it may or may not have stored the frame, so
   * sending it again could deliver it twice. The errors are also given to `onError`.
   */
  failed: string[]
}

/** The protocol core: feed it sockets; it speaks the protocol on them. */
export interface SocketServer<U = unknown> {
  /**
   * A socket opened: the core starts speaking the protocol on it. Feed its frames and its
   * close into the hooks it returns.
   */
  opened(socket: ServerSocket, init?: OpenedInit): SocketHooks
  /** Listens for events of one type; returns the unsubscribe. */
  on(type: string, listener: EventListener<U>): () => void
  /** Every connection open now. */
  connections(): IterableIterator<ConnectionContext<U>>
  /**
   * Pushes an event into a reliable session by its sid, whether it is attached here, on
   * another node of a shared store, or detached (it is delivered on resume). Rejects like
   * `ctx.send` (`UNACKED_LIMIT`, `SESSION_GONE`).
   */
  sendTo(sid: string, type: string, data?: unknown): Promise<void>
  /**
   * Adds the reliable session `sid` to `group`, in the store, so that a `broadcast` on any
   * node of that store reaches it. Rejects with `SESSION_GONE` for a session the store does
   * not have. A session stays a member across cuts, resumes and nodes, until `leave` or
   * until a broadcast finds it gone.
   */
  join(sid: string, group: string): Promise<void>
  /** Removes `sid` from `group`. */
  leave(sid: string, group: string): Promise<void>
  /**
   * Pushes an event into every session of `group`, as `sendTo` would into each: one append
   * per member, so each gets its own next seq, is stored before it is written, and is
   * replayed on resume; two broadcasts awaited one after the other arrive in that order in
   * every member. Resolves with what became of each member; it does not reject for one
   * member (a full or gone session does not hold the others back). A member found gone is
   * removed from the group.
   */
  broadcast(group: string, type: string, data?: unknown): Promise<BroadcastResult>
  /**
   * Closes every connection (default 1001 `going away`; use 1012 with `retry-after=<s>` for
   * a restart). Sessions stay in the store, detached, for a `$resume` elsewhere or later.
   */
  close(code?: number, reason?: string): void
}

function checkType(call: string, type: unknown): void {
  if (typeof type !== 'string' || type === '' || type.startsWith('$')) {
    throw new ServerError('INVALID_OPTIONS', `${call}: a non-empty type not starting with $`)
  }
}

function checkGroup(call: string, group: unknown): void {
  if (typeof group !== 'string' || group === '') {
    throw new ServerError('INVALID_OPTIONS', `${call}: group must be a non-empty string`)
  }
}

/**
 * Creates the protocol core (PROTOCOL.md): envelope decoding with the client's own rules,
 * `$ping`, first-message auth and renewal, requests and events, and the reliable mode over a
 * session store. It owns no sockets: an adapter (`attach()` for `ws`) hands them in.
 */
export function createSocketServer<U = unknown>(
  options: SocketServerOptions<U> = {},
): SocketServer<U> {
  const resolved = resolveOptions(options, () => memoryStore())
  const listeners = new Map<string, EventListener<U>[]>()
  const open = new Map<string, Connection<U>>()
  let nextId = 1
  const host: ConnectionHost<U> = {
    options: resolved,
    listeners: (type) => listeners.get(type) ?? [],
    inflight: new Map(),
    forget: (connection) => open.delete(connection.id),
  }

  const limits = {
    maxFrames: resolved.maxUnackedFrames,
    maxBytes: resolved.maxUnackedBytes,
  }

  const defaultId = (): string => {
    let id = `c${nextId++}`
    while (open.has(id)) id = `c${nextId++}`
    return id
  }
  const report = (error: ServerError): void => {
    try {
      resolved.onError(error, undefined)
    } catch {
      // onError is the last place a failure can go.
    }
  }
  const nameFor = (extra: unknown): string => {
    const { connectionId } = resolved
    if (connectionId === undefined) return defaultId()
    let id: unknown
    try {
      id = connectionId(extra)
    } catch (cause) {
      report(new ServerError('HANDLER_FAILED', 'connectionId threw', { cause }))
      return defaultId()
    }
    if (typeof id === 'string' && id !== '' && !open.has(id)) return id
    // Two open connections under one id would make `connections()` and the logs lie.
    const got = typeof id === 'string' && id !== '' ? `"${id}", which is in use` : 'no id'
    report(new ServerError('HANDLER_FAILED', `connectionId returned ${got}`))
    return defaultId()
  }

  return {
    opened(socket, init = {}) {
      const connection = new Connection<U>(nameFor(init.extra), socket, host, init.extra)
      open.set(connection.id, connection)
      connection.start(init.token)
      return {
        message: (data) => connection.message(data),
        closed: (code, reason) => connection.closed(code, reason),
      }
    },

    on(type, listener) {
      if (typeof listener !== 'function') {
        throw new ServerError(
          'INVALID_OPTIONS',
          `on("${type}", listener): listener must be a function`,
        )
      }
      // Copy on write: a listener added or removed during an event does not change that event.
      listeners.set(type, [...(listeners.get(type) ?? []), listener])
      return () => {
        const next = (listeners.get(type) ?? []).filter((l) => l !== listener)
        if (next.length === 0) listeners.delete(type)
        else listeners.set(type, next)
      }
    },

    *connections() {
      for (const connection of open.values()) yield connection.context
    },

    async sendTo(sid, type, data) {
      checkType('sendTo(sid, type)', type)
      const result = await resolved.store.append(sid, JSON.stringify({ type, data }), limits)
      if (result.status === 'gone') throw new ServerError('SESSION_GONE', `no session ${sid}`)
      if (result.status === 'full') {
        throw new ServerError('UNACKED_LIMIT', 'the client has not acknowledged enough frames')
      }
    },

    async join(sid, group) {
      checkGroup('join(sid, group)', group)
      // A member that never existed would only be dropped by the first broadcast: refuse it now.
      if ((await resolved.store.read(sid, 0, 0)) === 'gone') {
        throw new ServerError('SESSION_GONE', `no session ${sid}`)
      }
      await resolved.store.join(group, sid)
    },

    async leave(sid, group) {
      checkGroup('leave(sid, group)', group)
      await resolved.store.leave(group, sid)
    },

    async broadcast(group, type, data) {
      checkGroup('broadcast(group, type)', group)
      checkType('broadcast(group, type)', type)
      const body = JSON.stringify({ type, data })
      const result: BroadcastResult = { sent: [], full: [], gone: [], failed: [] }
      const members = await resolved.store.members(group)
      await Promise.all(
        members.map(async (sid) => {
          try {
            const appended = await resolved.store.append(sid, body, limits)
            if (appended.status === 'appended') result.sent.push(sid)
            else if (appended.status === 'full') result.full.push(sid)
            else {
              result.gone.push(sid)
              await resolved.store.leave(group, sid)
            }
          } catch (cause) {
            // An append rejected with its outcome unknown: retrying here could store it twice.
            result.failed.push(sid)
            report(new ServerError('STORE_FAILED', `broadcast to ${sid} failed`, { cause }))
          }
        }),
      )
      return result
    },

    close(code = 1001, reason = 'going away') {
      for (const connection of [...open.values()]) connection.close(code, reason)
    },
  }
}
