import { useSyncExternalStore } from 'react'
import {
  initialSnapshot,
  type ReconnectingSocket,
  type SocketSchema,
  type SocketSnapshot,
} from '../index.ts'

// What the server renders, and what the first client render uses while hydrating, so the two
// match: a socket that has not connected yet. Module-level and frozen, so it is one constant
// object, as `useSyncExternalStore` requires of a server snapshot.
const SERVER_SNAPSHOT: SocketSnapshot = initialSnapshot()

/**
 * The socket's current {@link SocketSnapshot} — `state`, `attempt`, `nextRetryAt`, `rttMs`,
 * `queuedMessages`, `online`, `lastClose`, `lastError` — re-rendering the component whenever
 * it changes (through `useSyncExternalStore`, so it never tears in concurrent rendering).
 *
 * The snapshot is one immutable object, replaced only when something in it changed. React
 * renders the latest one: changes made in one synchronous burst are seen as their end state;
 * use {@link useSocketEvent} with `'state'` to see every transition.
 *
 * With a `selector`, the component re-renders only when the selected value changes
 * (compared with `Object.is`): `useSocketState(socket, (s) => s.state)` ignores RTT samples
 * and queue changes. The selector must return a primitive or a value taken as is from the
 * snapshot (such as `s.lastClose`), never a new object or array on each call: React would
 * see a change on every check and re-render without end.
 *
 * During server-side rendering and hydration the snapshot is that of a socket that has not
 * connected yet (`state: 'idle'`, `online: true`, everything else empty).
 */
export function useSocketState<S extends SocketSchema>(
  socket: ReconnectingSocket<S>,
): SocketSnapshot
export function useSocketState<S extends SocketSchema, T>(
  socket: ReconnectingSocket<S>,
  selector: (snapshot: SocketSnapshot) => T,
): T
export function useSocketState<S extends SocketSchema, T>(
  socket: ReconnectingSocket<S>,
  selector?: (snapshot: SocketSnapshot) => T,
): SocketSnapshot | T {
  return useSyncExternalStore<SocketSnapshot | T>(
    socket.subscribe,
    selector ? () => selector(socket.getSnapshot()) : socket.getSnapshot,
    selector ? () => selector(SERVER_SNAPSHOT) : getServerSnapshot,
  )
}

function getServerSnapshot(): SocketSnapshot {
  return SERVER_SNAPSHOT
}
