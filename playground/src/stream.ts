import { useEffect, useReducer, useRef, useState } from 'react'
import type { ReconnectingSocket, SessionLost } from 'resilient-socket'
import { useMessage, useSocketEvent } from 'resilient-socket/react'
import { SequenceCheck } from '../../e2e/server/sequence-check.ts'
import type { StreamReply } from '../../e2e/server/stream.ts'
import type { DemoSchema } from './schema.ts'

/** Frames per second the stream sends: steady, so a cut always catches some on the wire. */
export const STREAM_RATE_PER_S = 50
/** How often the panel redraws while the stream runs (one render per frame would be 100/s). */
const REFRESH_MS = 200
/** At most this many frames per tick: a throttled background tab catches up slowly, not in a burst. */
const MAX_FRAMES_PER_TICK = 10

/** One direction of the stream as the playground measured it end to end. */
export interface DirectionCounts {
  arrived: number
  /** Gaps that no `sessionlost` report accounts for: what would be lost in silence. */
  lost: number
  /** Gaps that a `sessionlost` report named (frames in doubt, server frames after `lastSeen`). */
  reported: number
  duplicated: number
  reordered: number
}

/** The latest `sessionlost`, as the panel shows it. */
export interface SessionLostReport {
  at: number
  reason: string
  /** Every frame in doubt, and how many of them were the stream's. */
  inDoubt: number
  streamInDoubt: number
  lastSeen: number
}

export interface StreamView {
  running: boolean
  /** Stream frames handed to `send()` and accepted (sent now or queued). */
  sent: number
  /** Stream frames `send()` refused (a closed socket; reported through `drop`). */
  refused: number
  /** Sent frames whose reply has not arrived yet: in flight, queued, or lost. */
  awaiting: number
  /** Client → server, from the server's own count (carried in every reply). */
  up: DirectionCounts
  /** Server → client, from the replies' numbering. */
  down: DirectionCounts
  sessionLost: SessionLostReport | null
}

const ZERO: DirectionCounts = { arrived: 0, lost: 0, reported: 0, duplicated: 0, reordered: 0 }

/**
 * The stream of one run: numbered frames out (`stream { run, n }`), numbered replies back
 * (`m`, with the server's count of what arrived upstream). Plain state, kept out of React:
 * 50 frames a second each way would be 100 renders a second.
 */
class StreamRun {
  readonly id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  readonly startedAt = Date.now()
  sent = 0
  refused = 0
  readonly down = new SequenceCheck()
  /** The server's word on upstream, from the newest reply. */
  up: StreamReply['up'] | null = null
  /** Highest `n` answered: what is no longer awaiting. */
  answered = 0
  /** Upstream numbers a `sessionlost` listed in doubt. */
  readonly inDoubt = new Set<number>()
  /** Set by a `sessionlost`: the next reply's gap is what the lost session took with it. */
  downCoverFrom: number | null = null
  downReported = 0

  reply(reply: StreamReply): void {
    if (this.downCoverFrom !== null) {
      this.downReported += Math.max(0, reply.m - this.downCoverFrom - 1)
      this.downCoverFrom = null
    }
    this.down.add(reply.m)
    this.up = reply.up
    this.answered = Math.max(this.answered, reply.n)
  }

  /** Marks what the report covers; returns how many of the frames in doubt were this run's. */
  sessionLost(event: SessionLost): number {
    let ours = 0
    for (const frame of event.inDoubt) {
      const n = streamNumber(frame.data, this.id)
      if (n !== null) {
        this.inDoubt.add(n)
        ours += 1
      }
    }
    this.downCoverFrom = this.down.counts().highest
    return ours
  }

  view(): Omit<StreamView, 'running' | 'sessionLost'> {
    const up = this.up
    let upReported = 0
    if (up !== null) for (const n of up.missingNumbers) if (this.inDoubt.has(n)) upReported += 1
    const down = this.down.counts()
    return {
      sent: this.sent,
      refused: this.refused,
      awaiting: this.sent - this.answered,
      up:
        up === null
          ? ZERO
          : {
              arrived: up.arrived,
              lost: up.missing - upReported,
              reported: upReported,
              duplicated: up.duplicates,
              reordered: up.reordered,
            },
      down: {
        arrived: down.arrived,
        lost: Math.max(0, down.missing - this.downReported),
        reported: Math.min(down.missing, this.downReported),
        duplicated: down.duplicates,
        reordered: down.reordered,
      },
    }
  }
}

/** The stream number of an encoded frame of run `run`, or `null` for any other frame. */
function streamNumber(frame: unknown, run: string): number | null {
  if (typeof frame !== 'string') return null
  try {
    const envelope = JSON.parse(frame) as { type?: unknown; data?: { run?: unknown; n?: unknown } }
    if (envelope.type !== 'stream' || envelope.data?.run !== run) return null
    return typeof envelope.data.n === 'number' ? envelope.data.n : null
  } catch {
    return null
  }
}

/**
 * The "stream" toggle: while on, sends {@link STREAM_RATE_PER_S} numbered frames a second
 * that the reference server checks and answers, so both directions can be judged. Each
 * start is a new run, counted from zero. A `sessionlost` is kept as a report.
 */
export function useStream(socket: ReconnectingSocket<DemoSchema>) {
  const [running, setRunning] = useState(false)
  const [sessionLost, setSessionLost] = useState<SessionLostReport | null>(null)
  const run = useRef<StreamRun | null>(null)
  const [, redraw] = useReducer((n: number) => n + 1, 0)

  useMessage(socket, 'stream', (reply) => {
    if (reply.run === run.current?.id) run.current.reply(reply)
  })
  useSocketEvent(socket, 'sessionlost', (event) => {
    const streamInDoubt = run.current?.sessionLost(event) ?? 0
    setSessionLost({
      at: Date.now(),
      reason: event.reason,
      inDoubt: event.inDoubt.length,
      streamInDoubt,
      lastSeen: event.lastSeen,
    })
  })

  useEffect(() => {
    if (!running) return
    const current = run.current
    if (current === null) return
    const send = () => {
      const due = Math.floor(((Date.now() - current.startedAt) * STREAM_RATE_PER_S) / 1000)
      const next = current.sent + current.refused
      for (let i = 0; i < Math.min(due - next, MAX_FRAMES_PER_TICK); i++) {
        // A refused frame does not use up its number: the stream the server sees has no gap
        // that the socket did not already report through `drop`.
        const n = current.sent + 1
        const result = socket.send('stream', { run: current.id, n })
        if (result === 'dropped') current.refused += 1
        else current.sent += 1
      }
    }
    const sender = setInterval(send, 1000 / STREAM_RATE_PER_S)
    const refresher = setInterval(redraw, REFRESH_MS)
    return () => {
      clearInterval(sender)
      clearInterval(refresher)
    }
  }, [running, socket])

  // After a stop, replies still come in for a while: keep redrawing until none are awaited.
  const view = run.current?.view()
  const settling = !running && view !== undefined && view.awaiting > 0
  useEffect(() => {
    if (!settling) return
    const refresher = setInterval(redraw, REFRESH_MS)
    return () => clearInterval(refresher)
  }, [settling])

  const setStreaming = (on: boolean) => {
    if (on === running) return
    if (on) {
      run.current = new StreamRun()
      setSessionLost(null)
    }
    setRunning(on)
  }

  const shown: StreamView = {
    running,
    sent: 0,
    refused: 0,
    awaiting: 0,
    up: ZERO,
    down: ZERO,
    ...view,
    sessionLost,
  }
  return { view: shown, setStreaming }
}
