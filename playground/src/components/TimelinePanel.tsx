import { clock } from '../describe.ts'
import type { TimelineEntry, TimelineKind } from '../timeline.ts'

/** The tag of a row, where the kind's own name would not say it. */
const TAGS: Partial<Record<TimelineKind, string>> = { failed: 'attempt' }

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
            <span className="tag">{TAGS[entry.kind] ?? entry.kind}</span>
            <span className="event-text">{entry.text}</span>
          </li>
        ))}
      </ol>
    </section>
  )
}
