import { SequenceCheck, type SequenceCounts } from './sequence-check.ts'

/** An upstream `stream` event: number `n` (from 1) of the client's run `run`. */
export interface StreamFrame {
  run: string
  n: number
}

/** The server's answer to each `stream` event, sent back to the sender as a `stream` event. */
export interface StreamReply {
  run: string
  /** The `n` this answers. */
  n: number
  /** This reply's own number in the run (from 1): what the client checks downstream. */
  m: number
  /** What the server saw of the run's upstream so far. */
  up: SequenceCounts & {
    /** The lowest numbers still missing (at most {@link MISSING_SHOWN}). */
    missingNumbers: number[]
  }
}

/** Runs remembered at once; the oldest is forgotten first. */
const MAX_RUNS = 64
const MAX_RUN_ID_LENGTH = 64
export const MISSING_SHOWN = 100

interface Run {
  readonly up: SequenceCheck
  /** Replies numbered so far. */
  replies: number
  /** Per session, the highest client seq handled: a frame redelivered after a crash is skipped. */
  readonly handled: Map<string, number>
}

export function isStreamFrame(data: unknown): data is StreamFrame {
  if (typeof data !== 'object' || data === null) return false
  const { run, n } = data as Record<string, unknown>
  return (
    typeof run === 'string' &&
    run.length > 0 &&
    run.length <= MAX_RUN_ID_LENGTH &&
    Number.isSafeInteger(n) &&
    (n as number) > 0
  )
}

/**
 * The playground's delivery check, server side: every run's upstream numbers, and the
 * numbering of the replies. Held by the hub, so it outlives a restart of the companion the
 * way an outside observer would: a restart that loses a session shows up here as a gap.
 */
export class StreamLedger {
  readonly #runs = new Map<string, Run>()

  /**
   * Records `frame` and returns the reply to send, or `null` when it is a redelivery of a
   * frame already handled (`deliveryId` is `sid:seq`). The companion delivers a frame again
   * after a crash between its handler and its commit; an exactly-once handler skips it, as
   * this one does, so a redelivery is not a duplicate the client sent.
   */
  receive(frame: StreamFrame, deliveryId: string | undefined): StreamReply | null {
    const run = this.#run(frame.run)
    if (deliveryId !== undefined) {
      const colon = deliveryId.lastIndexOf(':')
      const sid = deliveryId.slice(0, colon)
      const seq = Number(deliveryId.slice(colon + 1))
      if (seq <= (run.handled.get(sid) ?? 0)) return null
      run.handled.set(sid, seq)
    }
    run.up.add(frame.n)
    run.replies += 1
    return {
      run: frame.run,
      n: frame.n,
      m: run.replies,
      up: { ...run.up.counts(), missingNumbers: run.up.missingNumbers(MISSING_SHOWN) },
    }
  }

  #run(id: string): Run {
    let run = this.#runs.get(id)
    if (run === undefined) {
      run = { up: new SequenceCheck(), replies: 0, handled: new Map() }
      this.#runs.set(id, run)
      if (this.#runs.size > MAX_RUNS) {
        const oldest = this.#runs.keys().next().value as string
        this.#runs.delete(oldest)
      }
    }
    return run
  }
}
