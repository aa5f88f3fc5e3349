import { frameBytes } from '../src/wire.ts'
import { newLineage } from './lineage.ts'
import type {
  AcceptResult,
  AckResult,
  AppendLimits,
  AppendResult,
  AttachResult,
  LoggedFrame,
  SessionState,
  SessionStore,
  StoreEvent,
} from './store.ts'

export interface MemoryStoreOptions {
  /**
   * How many request results (`remember`) are kept at most; past it the oldest go first.
   * Each holds one encoded response for its TTL.
   * @default 10_000
   */
  maxResults?: number
  /**
   * How many dead sids are remembered, so that a late `$resume` hears `expired` rather than
   * `unknown-session`. Past it the oldest are forgotten (and then answered `unknown-session`).
   * @default 10_000
   */
  maxTombstones?: number
  /** The clock that TTLs are measured by, in ms. For tests. @default Date.now */
  now?: () => number
}

interface Session extends Omit<SessionState, 'epoch'> {
  principal: string
  log: LoggedFrame[]
  logBytes: number
  /** When a detached session expires; null while attached. */
  expiresAt: number | null
  /** The `kept` reported to a client that resumed with `seen` beyond `out`, until it sees more. */
  reported: { kept: number; seen: number } | undefined
}

/**
 * A session store in this process's memory: sessions survive cuts and reconnects to this
 * process, and die with it (a resume after a restart hears `unknown-session`). Expiry is
 * lazy (checked on access, swept in amortised passes), so it owns no timers and needs no
 * close.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const now = options.now ?? Date.now
  const maxResults = options.maxResults ?? 10_000
  const maxTombstones = options.maxTombstones ?? 10_000
  const sessions = new Map<string, Session>()
  const tombstones = new Set<string>()
  const results = new Map<string, { response: string; expiresAt: number }>()
  const watchers = new Map<string, Set<(event: StoreEvent) => void>>()
  const groups = new Map<string, Set<string>>()
  let sweepAtSize = 1024

  const bury = (sid: string): void => {
    sessions.delete(sid)
    tombstones.add(sid)
    if (tombstones.size > maxTombstones) {
      tombstones.delete(tombstones.values().next().value as string)
    }
  }

  /** The live session, or undefined (expired ones are buried on the way). */
  const live = (sid: string): Session | undefined => {
    const session = sessions.get(sid)
    if (session?.expiresAt != null && session.expiresAt <= now()) {
      bury(sid)
      return undefined
    }
    return session
  }

  const sweep = (): void => {
    if (sessions.size < sweepAtSize) return
    for (const sid of [...sessions.keys()]) live(sid)
    sweepAtSize = Math.max(1024, sessions.size * 2)
  }

  const notify = (sid: string, event: StoreEvent): void => {
    const set = watchers.get(sid)
    if (set === undefined) return
    // The listener set may change while it is notified.
    for (const listener of [...set]) {
      try {
        listener(event)
      } catch {
        // A watcher is the companion's own code; one failing must not starve the others.
      }
    }
  }

  const state = (s: Session): SessionState => ({
    sid: s.sid,
    generation: s.generation,
    in: s.in,
    out: s.out,
    acked: s.acked,
    epoch: 0,
    lineage: s.lineage,
  })

  /** The client has every frame up to `upTo`: out of the log. */
  const trim = (session: Session, upTo: number): void => {
    if (upTo <= session.acked) return
    session.acked = upTo
    let drop = 0
    while (drop < session.log.length && (session.log[drop] as LoggedFrame).seq <= upTo) {
      session.logBytes -= frameBytes((session.log[drop] as LoggedFrame).body)
      drop += 1
    }
    session.log.splice(0, drop)
  }

  const resultKey = (principal: string, requestId: string): string =>
    `${principal.length}:${principal}${requestId}`

  return {
    async create(sid, principal) {
      if (sessions.has(sid) || tombstones.has(sid)) {
        throw new Error(`session ${sid} exists or existed: sids are never reused`)
      }
      sweep()
      const session: Session = {
        sid,
        principal,
        generation: 1,
        in: 0,
        out: 0,
        acked: 0,
        lineage: '',
        log: [],
        logBytes: 0,
        expiresAt: null,
        reported: undefined,
      }
      sessions.set(sid, session)
      return state(session)
    },

    async attach(sid, principal, seen, acked): Promise<AttachResult> {
      const session = live(sid)
      if (session === undefined) {
        return { status: tombstones.has(sid) ? 'expired' : 'unknown-session' }
      }
      if (session.principal !== principal) return { status: 'forbidden' }
      session.generation += 1
      session.expiresAt = null
      // Told once the attach is done: a watcher that reads at once sees the reconciled log.
      const attached = (kept: number): AttachResult => {
        notify(sid, { type: 'attached', sid, generation: session.generation })
        return { status: 'attached', kept, ...state(session) }
      }
      if (seen < session.acked) return attached(session.out)
      // This store loses nothing, so `seen` above `out` is a client's mistake; it is answered
      // as a store that lost data would answer it, and numbering goes on above `seen`.
      let kept = session.out
      if (seen > session.out) {
        session.reported = { kept, seen }
        session.out = seen
      } else if (session.reported?.seen === seen) {
        kept = session.reported.kept
      } else {
        session.reported = undefined
      }
      trim(session, seen)
      if (acked > session.in) session.lineage = newLineage()
      return attached(kept)
    },

    async accept(sid, generation, seq): Promise<AcceptResult> {
      const session = live(sid)
      if (session === undefined) return 'gone'
      if (session.generation !== generation) return 'fenced'
      if (seq <= session.in) return 'duplicate'
      if (seq !== session.in + 1) return 'gap'
      session.in = seq
      return 'committed'
    },

    async append(sid, body, limits: AppendLimits, generation?: number): Promise<AppendResult> {
      const session = live(sid)
      if (session === undefined) return { status: 'gone' }
      if (generation !== undefined && session.generation !== generation) {
        return { status: 'fenced' }
      }
      const bytes = frameBytes(body)
      if (session.log.length + 1 > limits.maxFrames || session.logBytes + bytes > limits.maxBytes) {
        return { status: 'full' }
      }
      session.out += 1
      const seq = session.out
      session.log.push({ seq, body })
      session.logBytes += bytes
      notify(sid, { type: 'appended', sid, seq, epoch: 0 })
      return { status: 'appended', seq, epoch: 0 }
    },

    async ack(sid, generation, upTo, epoch): Promise<AckResult> {
      const session = live(sid)
      if (session === undefined) return 'gone'
      if (session.generation !== generation) return 'fenced'
      if (epoch !== 0) return 'restarted'
      if (upTo > session.out) return 'beyond'
      trim(session, upTo)
      return 'ok'
    },

    async read(sid, after, limit, epoch) {
      const session = live(sid)
      if (session === undefined) return 'gone'
      if (epoch !== undefined && epoch !== 0) return 'restarted'
      // The log is contiguous from acked + 1, so the start is an index, not a search.
      const start = Math.max(0, after - session.acked)
      return session.log.slice(start, start + limit)
    },

    async detach(sid, generation, ttlMs) {
      const session = live(sid)
      if (session === undefined || session.generation !== generation) return
      session.expiresAt = now() + ttlMs
    },

    async end(sid, generation) {
      const session = live(sid)
      if (session === undefined || session.generation !== generation) return
      // Not a tombstone: the client ended it, so a later $resume hears `unknown-session`.
      sessions.delete(sid)
    },

    async remember(principal, requestId, response, ttlMs) {
      const key = resultKey(principal, requestId)
      results.delete(key)
      results.set(key, { response, expiresAt: now() + ttlMs })
      while (results.size > maxResults) {
        results.delete(results.keys().next().value as string)
      }
    },

    async lookup(principal, requestId) {
      const key = resultKey(principal, requestId)
      const entry = results.get(key)
      if (entry === undefined) return undefined
      if (entry.expiresAt <= now()) {
        results.delete(key)
        return undefined
      }
      return entry.response
    },

    watch(sid, listener) {
      let set = watchers.get(sid)
      if (set === undefined) {
        set = new Set()
        watchers.set(sid, set)
      }
      set.add(listener)
      return () => {
        const current = watchers.get(sid)
        if (current === undefined) return
        current.delete(listener)
        if (current.size === 0) watchers.delete(sid)
      }
    },

    async join(group, sid) {
      let set = groups.get(group)
      if (set === undefined) {
        set = new Set()
        groups.set(group, set)
      }
      set.add(sid)
    },

    async leave(group, sid) {
      const set = groups.get(group)
      if (set === undefined) return
      set.delete(sid)
      if (set.size === 0) groups.delete(group)
    },

    async members(group) {
      return [...(groups.get(group) ?? [])]
    },
  }
}
