import { useCallback, useRef, useState } from 'react'
import type { ReconnectingSocket, SocketError } from 'resilient-socket'
import { useSocketEvent } from 'resilient-socket/react'
import { describeClose, PONG_WITHIN_MS, seconds } from './describe.ts'
import type { DemoSchema } from './schema.ts'

export type TimelineKind =
  | 'you'
  | 'state'
  | 'open'
  | 'close'
  | 'reconnecting'
  | 'failed'
  | 'error'
  | 'drop'
  | 'heartbeat'
  | 'sessionlost'

export interface TimelineEntry {
  id: number
  at: number
  kind: TimelineKind
  text: string
}

const MAX_ENTRIES = 300
let nextId = 1

/** The heartbeat row being written: one per quiet stretch, not one per ping. */
interface HeartbeatRow {
  id: number
  answered: number
  rttMs: number | null
}

function heartbeatText(row: HeartbeatRow, waitingMs: number | null): string {
  const rtt = row.rttMs === null ? '' : `, last RTT ${Math.round(row.rttMs)} ms`
  const answered =
    row.answered === 0
      ? ''
      : `${row.answered === 1 ? 'ping' : `${row.answered} pings`} answered${rtt}`
  if (waitingMs === null) return answered
  const waiting = `ping sent, no answer yet (the link is cut after ${seconds(waitingMs)} without one)`
  return answered ? `${answered} · ${waiting}` : waiting
}

/**
 * Every lifecycle event of the socket, newest first, plus the faults the user injected.
 * Two rows are folded into one where they describe one thing: a failed attempt is its error
 * and its next retry, and pings between other events share a single row.
 */
export function useTimeline(socket: ReconnectingSocket<DemoSchema>) {
  const [entries, setEntries] = useState<TimelineEntry[]>([])
  const add = useCallback((kind: TimelineKind, text: string): number => {
    const entry = { id: nextId++, at: Date.now(), kind, text }
    setEntries((list) => [entry, ...list].slice(0, MAX_ENTRIES))
    return entry.id
  }, [])
  const change = useCallback((id: number, patch: Partial<TimelineEntry>) => {
    setEntries((list) => list.map((entry) => (entry.id === id ? { ...entry, ...patch } : entry)))
  }, [])

  // The error of a failed attempt, until its `reconnecting` (emitted right after it) arrives.
  const attemptError = useRef<{ id: number; error: SocketError } | null>(null)
  const heartbeat = useRef<HeartbeatRow | null>(null)
  // The id of the newest row, to know whether the heartbeat row is still on top.
  const newest = useRef(0)
  const push = useCallback(
    (kind: TimelineKind, text: string) => {
      newest.current = add(kind, text)
      return newest.current
    },
    [add],
  )

  useSocketEvent(socket, 'state', ({ from, to }) => push('state', `${from} → ${to}`))
  useSocketEvent(socket, 'open', ({ reconnected, resumed }) =>
    push(
      'open',
      `${reconnected ? 'reconnected' : 'connected'} · ${resumed ? 'session resumed' : 'new session'}`,
    ),
  )
  useSocketEvent(socket, 'sessionlost', ({ reason, inDoubt, lastSeen }) =>
    push(
      'sessionlost',
      `the server did not keep the session (${reason}): ${inDoubt.length} frames in doubt, server frames after seq ${lastSeen} may be missing`,
    ),
  )
  useSocketEvent(socket, 'close', (close) => {
    const row = heartbeat.current
    if (row && close.code === 4000) {
      const before = heartbeatText(row, null)
      const verdict = `no answer to the ping within ${seconds(PONG_WITHIN_MS)}: the client cut the link`
      change(row.id, { text: before ? `${before} · ${verdict}` : verdict })
    }
    heartbeat.current = null
    push('close', `${describeClose(close)} · ${close.willReconnect ? 'will reconnect' : 'stopped'}`)
  })
  useSocketEvent(socket, 'reconnecting', ({ attempt, delayMs, reason }) => {
    const next =
      delayMs === null
        ? `retry #${attempt} waits for the network`
        : `retry #${attempt} in ${seconds(delayMs)}`
    const failed = attemptError.current
    attemptError.current = null
    if (failed) {
      change(failed.id, {
        kind: 'failed',
        text: `${failed.error.code}: ${failed.error.message} · ${next}${reason === 'attempt-failed' ? '' : ` (${reason})`}`,
      })
      return
    }
    push('reconnecting', `${next} (${reason})`)
  })
  useSocketEvent(socket, 'error', (error) => {
    const id = push('error', `${error.code}: ${error.message}`)
    // A failed attempt reports its error as the latest connection-level one, then schedules
    // the next retry in the same call: fold the two rows into one.
    if (socket.getSnapshot().lastError === error && socket.state !== 'open') {
      attemptError.current = { id, error }
      queueMicrotask(() => {
        if (attemptError.current?.id === id) attemptError.current = null
      })
    }
  })
  useSocketEvent(socket, 'drop', ({ message, reason }) =>
    push('drop', `a ${message.type ?? 'raw'} message was dropped (${reason})`),
  )
  useSocketEvent(socket, 'heartbeat', (beat) => {
    let row = heartbeat.current
    if (beat.phase === 'ping') {
      if (row === null || row.id !== newest.current) {
        row = { id: push('heartbeat', ''), answered: 0, rttMs: null }
      }
      heartbeat.current = row
      change(row.id, { at: Date.now(), text: heartbeatText(row, beat.deadlineAt - Date.now()) })
    } else if (row !== null) {
      row.answered++
      row.rttMs = beat.rttMs
      change(row.id, { text: heartbeatText(row, null) })
    }
  })

  return { entries, add: push }
}
