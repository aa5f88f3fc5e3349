import type { DeliveryStats, ReconnectingSocket, SocketSnapshot } from 'resilient-socket'
import { clock } from '../describe.ts'
import type { DemoSchema } from '../schema.ts'
import { type DirectionCounts, STREAM_RATE_PER_S, type StreamView } from '../stream.ts'
import { Tile } from './Tile.tsx'

interface DeliveryPanelProps {
  socket: ReconnectingSocket<DemoSchema>
  /** Passed so that the panel redraws on every snapshot change. */
  snapshot: SocketSnapshot
  stream: StreamView
  onStreamChange(on: boolean): void
}

/**
 * The reliable mode at work: what the socket counted (`socket.stats.delivery`), and what the
 * playground measured end to end with a numbered stream that the server checks and answers.
 */
export function DeliveryPanel({
  socket,
  snapshot: _snapshot,
  stream,
  onStreamChange,
}: DeliveryPanelProps) {
  // Present with `reliable: reliable()`, which connection.ts always passes.
  const d: Partial<DeliveryStats> = socket.stats.delivery ?? {}
  const { running, sent, awaiting, refused, up, down, sessionLost } = stream
  const clean = sent > 0 && up.lost + up.duplicated + down.lost + down.duplicated === 0

  return (
    <section className="card delivery" aria-labelledby="delivery-title">
      <header className="card-head">
        <h2 id="delivery-title">Delivery</h2>
        <span className="card-sub">
          <code>reliable()</code>: seqs, acks, replay after a cut
        </span>
      </header>

      <dl className="tiles">
        <Tile label="Sent" hint="sequenced" testId="delivery-sent">
          {d.sent ?? 0}
        </Tile>
        <Tile label="Acked" hint={`${d.unacked ?? 0} not yet`} testId="delivery-acked">
          {d.acked ?? 0}
        </Tile>
        <Tile label="Replayed" hint="after a resume" testId="delivery-replayed">
          {d.replayed ?? 0}
        </Tile>
        <Tile label="Duplicates" hint="suppressed" testId="delivery-duplicates">
          {d.duplicates ?? 0}
        </Tile>
        <Tile
          label="In doubt"
          hint={`${d.sessionsLost ?? 0} sessions lost`}
          testId="delivery-in-doubt"
        >
          {d.inDoubt ?? 0}
        </Tile>
        <Tile label="Resumed" hint="sessions kept" testId="delivery-resumes">
          {d.resumes ?? 0}
        </Tile>
      </dl>

      <div className="stream" data-testid="stream" data-running={running}>
        <div className="stream-head">
          <button
            type="button"
            role="switch"
            aria-checked={running}
            className={running ? 'switch switch-on' : 'switch'}
            onClick={() => onStreamChange(!running)}
          >
            <span className="switch-track" aria-hidden="true">
              <span className="switch-thumb" />
            </span>
            Stream
          </button>
          <span className="stream-figures">
            <strong className="stream-count" data-testid="stream-sent">
              {sent}
            </strong>{' '}
            sent at {STREAM_RATE_PER_S}/s ·{' '}
            <strong className="stream-count" data-testid="stream-awaiting">
              {awaiting}
            </strong>{' '}
            awaiting a reply
            {refused > 0 && (
              <>
                {' · '}
                <strong className="stream-count" data-testid="stream-refused">
                  {refused}
                </strong>{' '}
                refused while closed
              </>
            )}
          </span>
        </div>
        <table className="stream-table">
          <thead>
            <tr>
              <th scope="col">frames</th>
              <th scope="col">to server</th>
              <th scope="col">to you</th>
            </tr>
          </thead>
          <tbody>
            {COLUMNS.map((column) => (
              <tr key={column}>
                <th scope="row">{column}</th>
                <Cell testId={`stream-up-${column}`} counts={up} column={column} />
                <Cell testId={`stream-down-${column}`} counts={down} column={column} />
              </tr>
            ))}
          </tbody>
        </table>
        <p className="stream-note" data-testid="stream-verdict">
          {sent === 0
            ? 'Switch the stream on, then break the connection: every frame must arrive once, in order, both ways.'
            : !clean
              ? 'Frames went missing or arrived twice: see the counts above.'
              : up.reported + down.reported > 0
                ? 'Nothing lost in silence, nothing duplicated: every gap is one the session-lost report named.'
                : 'Nothing lost, nothing duplicated so far, in either direction.'}
        </p>
      </div>

      {sessionLost && (
        <div
          className="session-lost"
          role="status"
          data-testid="session-lost"
          data-reason={sessionLost.reason}
          data-in-doubt={sessionLost.inDoubt}
        >
          <strong className="session-lost-title">
            Session lost ({sessionLost.reason}) at {clock(sessionLost.at)}
          </strong>
          <span>
            {sessionLost.inDoubt} {sessionLost.inDoubt === 1 ? 'frame' : 'frames'} in doubt (
            {sessionLost.streamInDoubt} of the stream): written, never acknowledged, maybe
            processed, not resent. Server frames after seq {sessionLost.lastSeen} may be missing.
            Gaps these account for count as reported, not lost.
          </span>
        </div>
      )}
    </section>
  )
}

/** The rows of the stream table, each a count of both directions. */
const COLUMNS = ['arrived', 'lost', 'duplicated', 'reordered'] as const

function Cell({
  testId,
  counts,
  column,
}: {
  testId: string
  counts: DirectionCounts
  column: (typeof COLUMNS)[number]
}) {
  const value = counts[column]
  const bad = column !== 'arrived' && value > 0
  return (
    <td className={bad ? 'bad' : undefined}>
      <span data-testid={testId}>{value}</span>
      {column === 'lost' && counts.reported > 0 && (
        <span className="reported" data-testid={`${testId.replace(/-lost$/, '')}-reported`}>
          {' '}
          +{counts.reported} reported
        </span>
      )}
    </td>
  )
}
