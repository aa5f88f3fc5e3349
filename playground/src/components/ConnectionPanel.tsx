import type { ReactNode } from 'react'
import type { ReconnectingSocket, SocketSnapshot } from 'resilient-socket'
import { SOCKET_URL } from '../config.ts'
import { describeClose, explainState, seconds } from '../describe.ts'
import type { DemoSchema } from '../schema.ts'
import { useNow } from '../use-now.ts'
import { Sparkline } from './Sparkline.tsx'

interface ConnectionPanelProps {
  socket: ReconnectingSocket<DemoSchema>
  snapshot: SocketSnapshot
  reconnects: number
  rtts: readonly number[]
}

/** The socket's state at a glance: everything here comes from `useSocketState(socket)`. */
export function ConnectionPanel({ socket, snapshot, reconnects, rtts }: ConnectionPanelProps) {
  const { state, attempt, nextRetryAt, online, queuedMessages, rttMs, lastClose, lastError } =
    snapshot
  const now = useNow(nextRetryAt !== null)
  const stopped = state === 'idle' || state === 'closed'

  let nextRetry = '—'
  if (nextRetryAt !== null) nextRetry = seconds(nextRetryAt - now)
  else if (state === 'reconnecting' && !online) nextRetry = 'paused'

  return (
    <section className="card connection" aria-labelledby="connection-title">
      <header className="card-head">
        <h2 id="connection-title">Connection</h2>
        <code className="endpoint" title="the WebSocket URL (token added per attempt)">
          {SOCKET_URL}
        </code>
      </header>

      <div className="status">
        <span className={`badge badge-${state}`} data-testid="state-badge">
          <span className="badge-dot" aria-hidden="true" />
          {state}
        </span>
        <p className="explain" data-testid="state-explain">
          {explainState(snapshot, now)}
        </p>
      </div>

      <dl className="tiles">
        <Tile
          label="Retries"
          hint={state === 'open' ? 'before this link' : 'failed in a row'}
          testId="attempt"
        >
          {attempt}
        </Tile>
        <Tile label="Next retry in" hint="jittered" testId="next-retry">
          {nextRetry}
        </Tile>
        <Tile label="Reconnects" hint="this session" testId="reconnects">
          {reconnects}
        </Tile>
        <Tile label="Queued" hint="to send" testId="queued">
          {queuedMessages}
        </Tile>
        <Tile label="Network" hint="browser signal" testId="network">
          <span className={online ? 'net net-online' : 'net net-offline'}>
            {online ? 'online' : 'offline'}
          </span>
        </Tile>
        <Tile label="Heartbeat RTT" hint="ping → pong" testId="rtt">
          {rttMs === null ? '—' : `${Math.round(rttMs)} ms`}
        </Tile>
      </dl>

      <Sparkline
        values={rtts}
        placeholder="Round-trip times appear here: the client pings after 5 s without traffic."
      />

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

function Tile({
  label,
  hint,
  testId,
  children,
}: {
  label: string
  hint: string
  testId: string
  children: ReactNode
}) {
  return (
    <div className="tile">
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
      <dd className="tile-hint">{hint}</dd>
    </div>
  )
}
