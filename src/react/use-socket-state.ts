import { useSyncExternalStore } from 'react'
import type { ReconnectingSocket, SocketSchema, SocketSnapshot } from '../index.ts'

/**
 * The socket's current {@link SocketSnapshot} — `state`, `attempt`, `nextRetryAt`, `rttMs`,
 * `queuedMessages`, `online`, `lastClose`, `lastError` — re-rendering the component whenever
 * it changes (through `useSyncExternalStore`, so it never tears in concurrent rendering).
 *
 * The snapshot is one immutable object, replaced only when something in it changed. React
 * renders the latest one: changes made in one synchronous burst are seen as their end state;
 * use {@link useSocketEvent} with `'state'` to see every transition.
 */
export function useSocketState<S extends SocketSchema>(
  socket: ReconnectingSocket<S>,
): SocketSnapshot {
  return useSyncExternalStore(socket.subscribe, socket.getSnapshot, socket.getSnapshot)
}
