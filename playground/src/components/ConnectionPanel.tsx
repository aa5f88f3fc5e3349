import type { ReconnectingSocket, SocketSnapshot } from 'resilient-socket'
import { SOCKET_URL } from '../config.ts'
import { describeClose, explainState, seconds } from '../describe.ts'
import type { DemoSchema } from '../schema.ts'
import type { Session } from '../session.ts'
import { useNow } from '../use-now.ts'
import { HeartbeatPanel } from './HeartbeatPanel.tsx'
import { Tile } from './Tile.tsx'

interface ConnectionPanelProps {
  socket: ReconnectingSocket<DemoSchema>
  snapshot: SocketSnapshot
  session: Session
}

/** The socket's state at a glance: `useSocketState(socket)` plus what the page counted. */
export function ConnectionPanel({ socket, snapshot, session }: ConnectionPanelProps) {
  const { state, nextRetryAt, online, queuedMessages, lastClose, lastError, pongDeadlineAt } =
    snapshot
  const { outageStartedAt, lastOutageMs } = session
  const now = useNow(nextRetryAt !== null || outageStartedAt !== null || pongDeadlineAt !== null)
  const stopped = state === 'idle' || state === 'closed'

  let nextRetry = '—'
  if (nextRetryAt !== null) nextRetry = seconds(nextRetryAt - now)
  else if (state === 'reconnecting' && !online) nextRetry = 'paused'

  let outage = '—'
  let outageHint = 'none yet'
  if (outageStartedAt !== null) {
    outage = seconds(now - outageStartedAt)
    outageHint = 'so far'
  } else if (lastOutageMs !== null) {
    outage = seconds(lastOutageMs)
    outageHint = 'the last one'
  }

  return (
    <section className="card connection" aria-labelledby="connection-title">
      <header className="card-head">
        <h2 id="connection-title">Connection</h2>
        <code className="endpoint" title="the WebSocket URL (the token goes in the first message)">
          {SOCKET_URL}
        </code>
      </header>

      <div className="status">
        <div className="status-side">
          <span className={`badge badge-${state}`} data-testid="state-badge">
            <span className="badge-dot" aria-hidden="true" />
            {state}
          </span>
          <span
            className={online ? 'net net-online' : 'net net-offline'}
            data-testid="network"
            title="what the browser says about the network"
          >
            {online ? 'online' : 'offline'}
          </span>
        </div>
        <p className="explain" data-testid="state-explain">
          {explainState(snapshot, now)}
        </p>
      </div>

      <dl className="tiles">
        <Tile label="Failed tries" hint="in a row" testId="failed-attempts">
          {session.failedInARow}
        </Tile>
        <Tile label="Next retry in" hint="jittered" testId="next-retry">
          {nextRetry}
        </Tile>
        <Tile label="Outage" hint={outageHint} testId="outage">
          {outage}
        </Tile>
        <Tile label="Drops" hint="links lost" testId="drops">
          {session.drops}
        </Tile>
        <Tile label="Reconnects" hint="opened again" testId="reconnects">
          {session.reconnects}
        </Tile>
        <Tile label="Queued" hint="to send" testId="queued">
          {queuedMessages}
        </Tile>
      </dl>

      <HeartbeatPanel snapshot={snapshot} session={session} />

      <p className="last" data-testid="last-close">
        <span>
          Last close: <strong>{lastClose ? describeClose(lastClose) : 'none'}</strong>
        </span>
        {lastError && (
          <span>
            Last error: <strong>{lastError.code}</strong>
          </span>
        )}
      </p>

      <div className="actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!stopped}
          onClick={() => socket.connect()}
        >
          Connect
        </button>
        <button
          type="button"
          className="btn"
          disabled={stopped || state === 'closing'}
          onClick={() => socket.close(1000, 'closed from the playground')}
        >
          Close
        </button>
        <span className="actions-hint">
          {stopped ? 'The client stays closed until you connect.' : 'Close stops retrying.'}
        </span>
      </div>
    </section>
  )
}
