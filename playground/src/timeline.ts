import { useCallback, useState } from 'react'
import type { ReconnectingSocket } from 'resilient-socket'
import { useSocketEvent } from 'resilient-socket/react'
import { describeClose, seconds } from './describe.ts'
import type { DemoSchema } from './schema.ts'

export type TimelineKind = 'you' | 'state' | 'open' | 'close' | 'reconnecting' | 'error' | 'drop'

export interface TimelineEntry {
  id: number
  at: number
  kind: TimelineKind
  text: string
}

const MAX_ENTRIES = 300
let nextId = 1

/** Every lifecycle event of the socket, newest first, plus the faults the user injected. */
export function useTimeline(socket: ReconnectingSocket<DemoSchema>) {
  const [entries, setEntries] = useState<TimelineEntry[]>([])
  const add = useCallback((kind: TimelineKind, text: string) => {
    const entry = { id: nextId++, at: Date.now(), kind, text }
    setEntries((list) => [entry, ...list].slice(0, MAX_ENTRIES))
  }, [])

  useSocketEvent(socket, 'state', ({ from, to }) => add('state', `${from} → ${to}`))
  useSocketEvent(socket, 'open', ({ reconnected }) =>
    add('open', reconnected ? 'reconnected' : 'connected'),
  )
  useSocketEvent(socket, 'close', (close) =>
    add('close', `${describeClose(close)} · ${close.willReconnect ? 'will reconnect' : 'stopped'}`),
  )
  useSocketEvent(socket, 'reconnecting', ({ attempt, delayMs, reason }) =>
    add(
      'reconnecting',
      delayMs === null
        ? `retry #${attempt} waits for the network (${reason})`
        : `retry #${attempt} in ${seconds(delayMs)} (${reason})`,
    ),
  )
  useSocketEvent(socket, 'error', (error) => add('error', `${error.code}: ${error.message}`))
  useSocketEvent(socket, 'drop', ({ message, reason }) =>
    add('drop', `a ${message.type ?? 'raw'} message was dropped (${reason})`),
  )

  return { entries, add }
}
