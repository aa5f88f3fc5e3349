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
   * Closes every connection (default 1001 `going away`; use 1012 with `retry-after=<s>` for
   * a restart). Sessions stay in the store, detached, for a `$resume` elsewhere or later.
   */
  close(code?: number, reason?: string): void
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
      if (typeof type !== 'string' || type === '' || type.startsWith('$')) {
        throw new ServerError(
          'INVALID_OPTIONS',
          'sendTo(sid, type): a non-empty type not starting with $',
        )
      }
      const result = await resolved.store.append(sid, JSON.stringify({ type, data }), {
        maxFrames: resolved.maxUnackedFrames,
        maxBytes: resolved.maxUnackedBytes,
      })
      if (result.status === 'gone') throw new ServerError('SESSION_GONE', `no session ${sid}`)
      if (result.status === 'full') {
        throw new ServerError('UNACKED_LIMIT', 'the client has not acknowledged enough frames')
      }
    },

    close(code = 1001, reason = 'going away') {
      for (const connection of [...open.values()]) connection.close(code, reason)
    },
  }
}
