import { type DependencyList, useEffect, useRef, useState } from 'react'
import {
  ReconnectingSocket,
  type SocketOptions,
  type SocketSchema,
  type UntypedSchema,
  type UrlProvider,
} from '../index.ts'
import { useLatest } from './latest.ts'

/** Options of {@link useSocket}: the socket's own, plus what the hook does on a replacement. */
export type UseSocketOptions<S extends SocketSchema = UntypedSchema> = SocketOptions<S> & {
  /**
   * When `url` or `deps` change, move the old socket's queued messages to the new socket
   * (ahead of anything already queued there, keeping their type and age). Set it to `false`
   * when the change means another identity — another user, account or room — so messages
   * written for the old one are never sent as the new one: the old socket is then just
   * closed and its queued messages are reported through `drop` with reason `closed`.
   * @default true
   */
  transferQueue?: boolean
}

interface Entry<S extends SocketSchema> {
  readonly socket: ReconnectingSocket<S>
  readonly key: string
  readonly deps: DependencyList
  readonly autoConnect: boolean
  readonly transferQueue: boolean
}

const NO_DEPS: DependencyList = []
// A URL function is called before every attempt, so a new function on each render (an inline
// arrow) must not count as a new URL: the socket always calls the latest one instead.
const URL_FUNCTION = '\0function'

function sameDeps(a: DependencyList, b: DependencyList): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]))
}

/**
 * Creates a {@link ReconnectingSocket} for the lifetime of the component and returns it;
 * the same object on every render.
 *
 * The socket is created inert during render, connected by an effect and closed by that
 * effect's cleanup, each on a microtask after the commit. Under `<StrictMode>` and Fast
 * Refresh, which run effect → cleanup → effect, the second effect cancels the pending close,
 * so exactly one native socket is opened and none is opened only to be closed. Listeners that
 * other hooks (`useSocketEvent`, `useMessage`) attach in the same commit see the very first
 * state change.
 *
 * Who connects. The effect connects only a socket that is still `idle`, so a socket the app
 * closed (`socket.close(1000, 'logout')`) stays closed when the effect runs again. With
 * `autoConnect: false` it does not connect at all: call `socket.connect()` yourself.
 *
 * Hidden by `<Activity mode="hidden">`. Hiding runs the cleanup, which closes the socket: its
 * queued messages are reported through `drop` with reason `closed`, and pending requests
 * reject with `CLOSED`. Showing it again reconnects the same socket object, but only if the
 * hiding closed it (not if the app had closed it, or never connected it).
 *
 * When the socket is replaced. `options` are read when the socket is created; a new
 * options object on the next render (an inline literal) changes nothing, so it is fine to
 * write them inline. Callbacks inside them (`getToken` of `auth()`, `shouldReconnect`, …) are those
 * of the render that created the socket: read changing values through a ref, or list them in
 * `deps`. A new socket is created when `url` changes (compared as a string; a URL function is
 * never compared, the latest one is called on every attempt) or when a value in `deps`
 * changes (compared like `useEffect` dependencies), e.g. `[userId]`. By default the new socket
 * takes over the old one's queued events (`adoptQueued(takeQueued())`: first, in order, type
 * and age kept) before the old one is closed, so nothing waiting to be sent is lost; what does
 * not fit the new queue is reported through `drop` (`overflow`). Requests are not moved (their
 * response would arrive on the other socket): queued ones reject with `DROPPED` (reason
 * `taken`), those waiting for a response with `CLOSED`. Pass `transferQueue: false` when the
 * change means another user, account or room (`deps: [userId]`), so nothing written for the
 * old one is ever sent as the new one.
 *
 * @example
 * ```tsx
 * const socket = useSocket<ChatSchema>(`wss://example.com/rooms/${room}`, {
 *   heartbeat: heartbeat(),
 *   transferQueue: false, // a message typed in one room must not land in the next
 * })
 * const state = useSocketState(socket, (s) => s.state)
 * useMessage(socket, 'chat', (data) => setLines((lines) => [...lines, data.text]))
 * ```
 */
export function useSocket<S extends SocketSchema = UntypedSchema>(
  url: UrlProvider,
  options?: UseSocketOptions<S>,
  deps: DependencyList = NO_DEPS,
): ReconnectingSocket<S> {
  const latestUrl = useLatest(url)
  const key = typeof url === 'function' ? URL_FUNCTION : String(url)
  const create = (): Entry<S> => {
    const { transferQueue = true, autoConnect = true, ...socketOptions } = options ?? {}
    return {
      socket: new ReconnectingSocket<S>(
        typeof url === 'function'
          ? () => {
              const current = latestUrl.current
              return typeof current === 'function' ? current() : current
            }
          : url,
        { ...socketOptions, autoConnect: false },
      ),
      key,
      deps,
      autoConnect,
      transferQueue,
    }
  }
  const [entry, setEntry] = useState(create)
  let current = entry
  if (entry.key !== key || !sameDeps(entry.deps, deps)) {
    // Derived from props during render (React re-renders at once with it); the new socket is
    // inert, so a render React throws away leaves nothing behind.
    current = create()
    setEntry(current)
  }
  const { socket, autoConnect, transferQueue } = current

  // `last`: the socket whose effect ran last (to hand its queue over to a replacement).
  // `live`: the socket that should be connected now; `null` between cleanup and effect.
  // `closedHere`: the socket this hook's cleanup closed while it was connected, the only
  // closed socket the hook may connect again.
  const last = useRef<ReconnectingSocket<S> | null>(null)
  const live = useRef<ReconnectingSocket<S> | null>(null)
  const closedHere = useRef<ReconnectingSocket<S> | null>(null)

  useEffect(() => {
    const previous = last.current
    last.current = live.current = socket
    // Hand-over, connect and close are all decided on a microtask, after React has run every
    // effect of this commit: StrictMode's effect → cleanup → effect then ends in one connect()
    // and no close, and listeners subscribed by sibling hooks or parents' effects are in place
    // before the first state change and before any drop the hand-over reports.
    queueMicrotask(() => {
      if (previous !== null && previous !== socket) {
        // At the front: a child's effect (children run first) may have queued newer
        // messages on this socket already.
        if (transferQueue) socket.adoptQueued(previous.takeQueued())
        previous.close()
      }
      if (live.current !== socket) return
      const reopen = closedHere.current === socket
      closedHere.current = null
      if (reopen || (autoConnect && socket.state === 'idle')) socket.connect()
    })
    return () => {
      live.current = null
      queueMicrotask(() => {
        // Still wanted (StrictMode, Fast Refresh), or replaced: the replacement's effect
        // hands its queue over and closes it.
        if (live.current === socket || last.current !== socket) return
        const { state } = socket
        if (state !== 'idle' && state !== 'closed') closedHere.current = socket
        socket.close()
      })
    }
  }, [socket, autoConnect, transferQueue])

  return socket
}
