import type { SocketSnapshot } from 'resilient-socket'
import { PING_AFTER_MS, PONG_WITHIN_MS, seconds } from '../describe.ts'
import type { Session } from '../session.ts'
import { useNow } from '../use-now.ts'
import { Sparkline } from './Sparkline.tsx'

interface HeartbeatPanelProps {
  snapshot: SocketSnapshot
  session: Session
}

/**
 * The heartbeat at work: quiet, or a ping in flight with the time left for its answer
 * (`snapshot.pongDeadlineAt`), and the round-trip times of the pongs so far.
 */
export function HeartbeatPanel({ snapshot, session }: HeartbeatPanelProps) {
  const { state, pongDeadlineAt, rttMs } = snapshot
  const waiting = pongDeadlineAt !== null
  const now = useNow(waiting)
  const phase = state !== 'open' ? 'off' : waiting ? 'waiting' : 'quiet'

  let status: string
  let left = 0
  if (phase === 'off') status = 'Off while not connected: each connection runs its own.'
  else if (pongDeadlineAt === null)
    status = `Quiet. The next ping goes out after ${seconds(PING_AFTER_MS)} without traffic either way.`
  else {
    const leftMs = Math.max(0, pongDeadlineAt - now)
    const sentAt = session.pingSentAt ?? pongDeadlineAt - PONG_WITHIN_MS
    left = Math.min(1, leftMs / Math.max(1, pongDeadlineAt - sentAt))
    status = `Ping sent ${seconds(now - sentAt)} ago, waiting for the answer: ${seconds(leftMs)} left before the link is cut.`
  }

  return (
    <section className={`heartbeat heartbeat-${phase}`} data-testid="heartbeat" data-phase={phase}>
      <header className="heartbeat-head">
        <span className="heartbeat-title">
          <span className="heartbeat-dot" aria-hidden="true" />
          Heartbeat
        </span>
        <span className="heartbeat-figures">
          RTT <strong data-testid="rtt">{rttMs === null ? '—' : `${Math.round(rttMs)} ms`}</strong>
          {' · '}
          <strong data-testid="pongs">{session.pongs}</strong>{' '}
          {session.pongs === 1 ? 'pong' : 'pongs'}
        </span>
      </header>
      <p className="heartbeat-status" data-testid="heartbeat-status">
        {status}
      </p>
      <div className="heartbeat-bar" aria-hidden="true">
        <span className="heartbeat-fill" style={{ transform: `scaleX(${left})` }} />
      </div>
      <Sparkline
        values={session.rtts}
        label="round-trip times"
        unit="ms"
        placeholder={`Round-trip times appear here: a ping goes out after ${seconds(PING_AFTER_MS)} without traffic.`}
      />
    </section>
  )
}
