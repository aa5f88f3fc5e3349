import { useEffect } from 'react'
import type {
  AppMessageType,
  Envelope,
  IncomingOf,
  IncomingType,
  ReconnectingSocket,
  SocketEventName,
  SocketEvents,
  SocketSchema,
} from '../index.ts'
import { useLatest } from './latest.ts'

/**
 * Calls `handler` for every message of `type` the socket receives, typed by the socket's
 * schema. Every message reaches the handler, synchronously and in order: nothing is
 * coalesced into a "last message", so a burst is never lost between renders.
 *
 * `handler` may be a new function on every render: the subscription is made once per
 * socket and type, and always calls the handler of the latest render.
 *
 * @example
 * ```tsx
 * useMessage(socket, 'chat', (data) => setLines((lines) => [...lines, data]))
 * ```
 */
export function useMessage<S extends SocketSchema, K extends IncomingType<S>>(
  socket: ReconnectingSocket<S>,
  type: AppMessageType<K, IncomingType<S>>,
  handler: (data: IncomingOf<S>[K], envelope: Envelope) => void,
): void {
  const latest = useLatest(handler)
  useEffect(
    () => socket.onMessage(type, (data, envelope) => latest.current(data, envelope)),
    [socket, type, latest],
  )
}

/**
 * Listens to a lifecycle event of the socket (`state`, `open`, `close`, `reconnecting`,
 * `error`, `drop`, `heartbeat`, `message`, `unhandled`) for as long as the component is
 * mounted. Like {@link useMessage}, every event is delivered and `listener` may change on
 * every render without resubscribing.
 */
export function useSocketEvent<S extends SocketSchema, E extends SocketEventName>(
  socket: ReconnectingSocket<S>,
  event: E,
  listener: (payload: SocketEvents[E]) => void,
): void {
  const latest = useLatest(listener)
  useEffect(() => socket.on(event, (payload) => latest.current(payload)), [socket, event, latest])
}
