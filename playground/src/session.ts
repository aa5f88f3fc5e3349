import { useReducer } from 'react'
import type { ConnectionState, ReconnectingSocket, ReconnectReason } from 'resilient-socket'
import { useSocketEvent } from 'resilient-socket/react'
import type { DemoSchema } from './schema.ts'

const RTT_SAMPLES = 40

/** What the dashboard counts over the page's lifetime, from the socket's lifecycle events. */
export interface Session {
  /** Connections that opened after a lost one. */
  readonly reconnects: number
  /** Open connections lost without the user asking (server closes, cuts, heartbeat verdicts). */
  readonly drops: number
  /** Attempts since the last open that did not open. A drop followed by a good retry is 0. */
  readonly failedInARow: number
  /** When the client started trying to get back (epoch ms), while it still is; else `null`. */
  readonly outageStartedAt: number | null
  /** How long the last finished outage lasted, from the loss to the next open. */
  readonly lastOutageMs: number | null
  /** The latest heartbeat round-trip times, oldest first. */
  readonly rtts: readonly number[]
  /** When the latest ping went out (epoch ms). */
  readonly pingSentAt: number | null
  /** Pongs received. */
  readonly pongs: number
  /** A `close` came and its `reconnecting` has not yet: the two describe one loss. */
  readonly lostOpen: boolean
}

type SessionEvent =
  | { type: 'connect' }
  | { type: 'open'; reconnected: boolean; at: number }
  | { type: 'close'; byUser: boolean; willReconnect: boolean }
  | { type: 'reconnecting'; reason: ReconnectReason; at: number }
  | { type: 'stopped'; from: ConnectionState }
  | { type: 'ping'; at: number }
  | { type: 'pong'; rttMs: number }

const INITIAL: Session = {
  reconnects: 0,
  drops: 0,
  failedInARow: 0,
  outageStartedAt: null,
  lastOutageMs: null,
  rtts: [],
  pingSentAt: null,
  pongs: 0,
  lostOpen: false,
}

/** Planned reconnects: the client chose them, nothing was lost. */
const PLANNED: readonly ReconnectReason[] = ['token-refresh', 'page-suspended']

function reduce(session: Session, event: SessionEvent): Session {
  switch (event.type) {
    case 'connect':
      return { ...session, failedInARow: 0, lostOpen: false }
    case 'open': {
      const { outageStartedAt } = session
      return {
        ...session,
        reconnects: session.reconnects + (event.reconnected ? 1 : 0),
        failedInARow: 0,
        outageStartedAt: null,
        lastOutageMs: outageStartedAt === null ? session.lastOutageMs : event.at - outageStartedAt,
        lostOpen: false,
      }
    }
    case 'close':
      if (event.byUser) return session
      // A close the server meant as final is a loss too; it has no `reconnecting` to follow.
      if (!event.willReconnect) return { ...session, drops: session.drops + 1 }
      return { ...session, lostOpen: true }
    case 'reconnecting': {
      const planned = PLANNED.includes(event.reason)
      // After a lost connection this is the first retry; otherwise the last attempt failed.
      const failed = !session.lostOpen && !planned
      return {
        ...session,
        drops: session.drops + (session.lostOpen && !planned ? 1 : 0),
        failedInARow: session.failedInARow + (failed ? 1 : 0),
        outageStartedAt: session.outageStartedAt ?? (planned ? null : event.at),
        lostOpen: false,
      }
    }
    case 'stopped':
      // Straight from an attempt to `closed` (a final close code, or giving up): it failed.
      return {
        ...session,
        failedInARow:
          session.failedInARow +
          (event.from === 'connecting' || event.from === 'reconnecting' ? 1 : 0),
        outageStartedAt: null,
        lostOpen: false,
      }
    case 'ping':
      return { ...session, pingSentAt: event.at }
    case 'pong':
      return {
        ...session,
        rtts: [...session.rtts, event.rttMs].slice(-RTT_SAMPLES),
        pongs: session.pongs + 1,
      }
  }
}

/** Counts drops, failed attempts, outages and heartbeat samples of one socket. */
export function useSession(socket: ReconnectingSocket<DemoSchema>): Session {
  const [session, dispatch] = useReducer(reduce, INITIAL)
  useSocketEvent(socket, 'state', ({ from, to }) => {
    if (to === 'connecting') dispatch({ type: 'connect' })
    else if (to === 'closed') dispatch({ type: 'stopped', from })
  })
  useSocketEvent(socket, 'open', ({ reconnected }) =>
    dispatch({ type: 'open', reconnected, at: Date.now() }),
  )
  useSocketEvent(socket, 'close', ({ willReconnect }) =>
    // close() moves to `closing` before it reports the close.
    dispatch({ type: 'close', byUser: socket.state === 'closing', willReconnect }),
  )
  useSocketEvent(socket, 'reconnecting', ({ reason }) =>
    dispatch({ type: 'reconnecting', reason, at: Date.now() }),
  )
  useSocketEvent(socket, 'heartbeat', (beat) =>
    dispatch(
      beat.phase === 'ping'
        ? { type: 'ping', at: Date.now() }
        : { type: 'pong', rttMs: beat.rttMs },
    ),
  )
  return session
}
