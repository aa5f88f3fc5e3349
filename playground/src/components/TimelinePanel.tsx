import { clock } from '../describe.ts'
import type { TimelineEntry } from '../timeline.ts'

/** Every lifecycle event, newest first: what `socket.on(…)` reports. */
export function TimelinePanel({ entries }: { entries: readonly TimelineEntry[] }) {
  return (
    <section className="card timeline" aria-labelledby="timeline-title">
      <header className="card-head">
        <h2 id="timeline-title">Event timeline</h2>
        <span className="card-sub">newest first</span>
      </header>
      <ol className="events" data-testid="timeline">
        {entries.map((entry) => (
          <li key={entry.id} data-kind={entry.kind} className={`event event-${entry.kind}`}>
            <time>{clock(entry.at)}</time>
            <span className="tag">{entry.kind}</span>
            <span className="event-text">{entry.text}</span>
          </li>
        ))}
      </ol>
    </section>
  )
}
