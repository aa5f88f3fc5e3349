import type { CloseInfo } from './close-codes.ts'
import type { ConnectionState } from './connection-state.ts'
import type { SocketError } from './errors.ts'
import type { DropReason, QueuedMessage } from './send-queue.ts'
import type { Envelope, MessageData } from './wire.ts'

/**
 * Why the socket is reconnecting:
 * - `connection-lost`: an open connection closed or dropped.
 * - `attempt-failed`: an attempt did not open (refused, timed out, token provider failed).
 * - `heartbeat-timeout`: no pong in time; the connection was cut.
 * - `auth-failure`: the server rejected the credential; the next attempt forces a refresh.
 * - `token-refresh`: the token is about to expire; a quiet reconnect with a fresh one.
 * - `page-suspended`: the page went into the back/forward cache; it reconnects on return.
 * - `protocol-error`: the reliable mode's peer broke the sequencing rules; it resumes.
 */
export type ReconnectReason =
  | 'connection-lost'
  | 'attempt-failed'
  | 'heartbeat-timeout'
  | 'auth-failure'
  | 'token-refresh'
  | 'page-suspended'
  | 'protocol-error'

/** Lifecycle events, `socket.on(name, listener)`. Application messages use `onMessage()`. */
export interface SocketEvents {
  /** Every state change. */
  state: { from: ConnectionState; to: ConnectionState }
  /**
   * A connection opened. `reconnected` is false for the first one after `connect()`.
   * `resumed` (reliable mode) is true when the server continued the session: nothing was
   * lost, and subscriptions made on an earlier connection still hold.
   */
  open: { reconnected: boolean; protocol: string; resumed: boolean }
  /** An open connection ended (also after `close()`); `willReconnect` says what comes next. */
  close: CloseInfo & { willReconnect: boolean }
  /** A retry is scheduled. `delayMs` is `null` while waiting for the network or the page. */
  reconnecting: {
    attempt: number
    delayMs: number | null
    reason: ReconnectReason
    lastClose: CloseInfo | null
  }
  /** Something failed; see `error.code`. Never thrown at you, never fatal unless the state says so. */
  error: SocketError
  /** Every inbound frame except protocol frames (`$`-types): raw data, and the envelope if decoded. */
  message: { data: MessageData; envelope: Envelope | undefined }
  /** A decoded event for which no `onMessage` handler is registered. */
  unhandled: Envelope
  /** A message left the socket without being sent. */
  drop: { message: QueuedMessage; reason: DropReason }
  /**
   * The heartbeat: a ping went out, and the connection is declared dead at `deadlineAt`
   * (epoch ms) unless a frame arrives first; or its pong arrived, `rttMs` after the ping.
   * A ping can also be answered by any other frame, without a `pong` event: follow
   * `snapshot.pongDeadlineAt` to see a ping in flight.
   */
  heartbeat: { phase: 'ping'; deadlineAt: number } | { phase: 'pong'; rttMs: number }
  /**
   * Reliable mode: the server did not continue the session, and says so before anything of
   * the new session reaches the application. See {@link SessionLost}.
   */
  sessionlost: SessionLost
}

/** What the reliable mode knows about a session the server did not continue. */
export interface SessionLost {
  /**
   * The server's word: `unknown-session`, `expired`, `forbidden`, `version` or `rollback`
   * (a server that closed with 4008, over its bounds, answers the resume with one of these);
   * `unsupported` when the resume got no usable `$session` and the socket
   * ends with `UNSUPPORTED`, `displaced` when it ends with `DISPLACED` (4010); `sid` is then
   * `null`.
   */
  reason: string
  previousSid: string
  sid: string | null
  /** Frames sent in the old session that the server never acknowledged: they may or may not have been processed. */
  inDoubt: (QueuedMessage & { seq: number })[]
  /**
   * On a rollback, frames the server had acknowledged and then lost (from a ring of recently
   * acknowledged frames); `lostBeyond` is true when the loss reaches past that ring.
   */
  rolledBack: (QueuedMessage & { seq: number })[]
  lostBeyond: boolean
  /** The last server seq delivered to the application: later server frames may be lost (resync). */
  lastSeen: number
  /** Ids of `idempotent` requests sent again in the new session, and of the others, rejected with `SESSION_LOST`. */
  resentRequests: string[]
  rejectedRequests: string[]
}

export type SocketEventName = keyof SocketEvents

/** The state of a socket as one immutable value; a new object only when something changed. */
export interface SocketSnapshot {
  readonly state: ConnectionState
  /**
   * The retry number of the current or last reconnect (0 before the first one). It is not
   * reset while a connection is open; the next drop after a connection that stayed up
   * `minUptimeMs` counts from 1 again.
   */
  readonly attempt: number
  /** When the next attempt is due (epoch milliseconds), or `null`. */
  readonly nextRetryAt: number | null
  /** `false` while the browser says it is offline. */
  readonly online: boolean
  /** The latest heartbeat round-trip time, in milliseconds. */
  readonly rttMs: number | null
  /**
   * While a heartbeat ping is unanswered: when the connection will be declared dead (epoch
   * ms) unless a frame arrives first. A probe brings it forward; a send buffer that is
   * still draining pushes it back. `null` when no ping is in flight.
   */
  readonly pongDeadlineAt: number | null
  /** Messages waiting in the send queue. */
  readonly queuedMessages: number
  readonly lastClose: CloseInfo | null
  /** The latest connection-level error (failed attempt, give-up), or `null`. */
  readonly lastError: SocketError | null
}

/** Counters since the socket was created. */
export interface SocketStats {
  /** Native sockets created. */
  connectAttempts: number
  /** Connections that opened. */
  opens: number
  /** Connections that opened after a previous one in the same `connect()` session. */
  reconnects: number
  /** Frames written to a socket (protocol frames included). */
  messagesSent: number
  messagesReceived: number
  /** Messages reported through `drop`. */
  messagesDropped: number
  queuedMessages: number
  queuedBytes: number
  pendingRequests: number
  /** The latest heartbeat round-trip time, in milliseconds. */
  rttMs: number | null
  /** The reliable mode's counters; only with `reliable()`. */
  delivery?: DeliveryStats
}

/** What the reliable mode did, counted since the socket was created. */
export interface DeliveryStats {
  /** The current session's id, or `null` before the server named one. */
  sid: string | null
  /** Application frames sequenced and written. */
  sent: number
  /** Of those, acknowledged by the server. */
  acked: number
  /** Written and not acknowledged yet (kept for replay). */
  unacked: number
  /** Frames written again after a resume. */
  replayed: number
  /** Inbound frames dropped because they had been delivered already. */
  duplicates: number
  /** Frames reported in doubt by `sessionlost` events. */
  inDoubt: number
  /** Connections that resumed the session. */
  resumes: number
  /** `sessionlost` events. */
  sessionsLost: number
}

/**
 * The snapshot of a socket that has not connected yet: `idle`, everything else empty. The one
 * definition of it: every socket starts here, and React's server render shows it.
 */
export function initialSnapshot(online = true): SocketSnapshot {
  return Object.freeze({
    state: 'idle',
    attempt: 0,
    nextRetryAt: null,
    online,
    rttMs: null,
    pongDeadlineAt: null,
    queuedMessages: 0,
    lastClose: null,
    lastError: null,
  })
}
