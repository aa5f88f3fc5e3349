/**
 * The one state value of a socket.
 *
 * - `idle`: created, never connected (`autoConnect: false`, or before the first microtask).
 * - `connecting`: the first attempt after `connect()` is under way.
 * - `open`: a native socket is open; sends go straight out.
 * - `reconnecting`: the connection was lost (or the first attempt failed); waiting for the
 *   retry delay, for the network to come back, or attempting again.
 * - `closing`: `close()` is tearing everything down (transient).
 * - `closed`: stopped by the user, by the server, or by giving up. `connect()` starts again.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed'

// The states each state may move to, space-separated.
const TRANSITIONS: Readonly<Record<ConnectionState, string>> = {
  idle: 'connecting closed',
  connecting: 'open reconnecting closing closed',
  open: 'reconnecting closing closed',
  reconnecting: 'open closing closed',
  closing: 'closed',
  closed: 'connecting',
}

export function canTransition(from: ConnectionState, to: ConnectionState): boolean {
  return TRANSITIONS[from].split(' ').includes(to)
}
