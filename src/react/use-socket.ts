import { type DependencyList, useEffect, useRef, useState } from 'react'
import {
  ReconnectingSocket,
  type SocketOptions,
  type SocketSchema,
  type UntypedSchema,
  type UrlProvider,
} from '../index.ts'
import { useLatest } from './latest.ts'

interface Entry<S extends SocketSchema> {
  readonly socket: ReconnectingSocket<S>
  readonly key: string
  readonly deps: DependencyList
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
 * The socket is created inert (`autoConnect: false`) during render, connected by an effect
 * and closed by that effect's cleanup, each on a microtask after the commit. Under
 * `<StrictMode>` and Fast Refresh, which run effect → cleanup → effect, the second effect
 * cancels the pending close, so exactly one native socket is opened and none is opened only
 * to be closed. Listeners that other hooks (`useSocketEvent`, `useMessage`) attach in the
 * same commit see the very first state change.
 *
 * When the socket is replaced. `options` are read when the socket is created; a new
 * options object on the next render (an inline literal) changes nothing, so it is fine to
 * write them inline. A new socket is created when `url` changes (compared as a string; a URL
 * function is never compared, the latest one is called on every attempt) or when a value in
 * `deps` changes (compared like `useEffect` dependencies). List in `deps` whatever the
 * options depend on that should take effect, e.g. `[userId]`. The new socket takes over the
 * old one's queued messages (`takeQueued()` → `sendRaw()`, in order) before the old one is
 * closed, so no event waiting to be sent is lost. Requests are not moved (their response
 * would arrive on the other socket): queued ones reject with `DROPPED` (reason `taken`),
 * those waiting for a response with `CLOSED`.
 *
 * Callbacks inside `options` (`auth.getToken`, `shouldReconnect`, …) are the ones of the
 * render that created the socket: read changing values through a ref, or list them in `deps`.
 *
 * @example
 * ```tsx
 * const socket = useSocket<ChatSchema>('wss://example.com/chat', { heartbeat: true }, [room])
 * const { state } = useSocketState(socket)
 * useMessage(socket, 'chat', (data) => setLines((lines) => [...lines, data.text]))
 * ```
 */
export function useSocket<S extends SocketSchema = UntypedSchema>(
  url: UrlProvider,
  options?: SocketOptions<S>,
  deps: DependencyList = NO_DEPS,
): ReconnectingSocket<S> {
  const latestUrl = useLatest(url)
  const key = typeof url === 'function' ? URL_FUNCTION : String(url)
  const create = (): Entry<S> => ({
    socket: new ReconnectingSocket<S>(
      typeof url === 'function'
        ? () => {
            const current = latestUrl.current
            return typeof current === 'function' ? current() : current
          }
        : url,
      { ...options, autoConnect: false },
    ),
    key,
    deps,
  })
  const [entry, setEntry] = useState(create)
  let current = entry
  if (entry.key !== key || !sameDeps(entry.deps, deps)) {
    // Derived from props during render (React re-renders at once with it); the new socket is
    // inert, so a render React throws away leaves nothing behind.
    current = create()
    setEntry(current)
  }
  const { socket } = current

  // `last`: the socket whose effect ran last (to hand its queue over to a replacement).
  // `live`: the socket that should be connected now; `null` between cleanup and effect.
  const last = useRef<ReconnectingSocket<S> | null>(null)
  const live = useRef<ReconnectingSocket<S> | null>(null)

  useEffect(() => {
    const previous = last.current
    last.current = live.current = socket
    if (previous !== null && previous !== socket) {
      for (const message of previous.takeQueued()) socket.sendRaw(message.data)
      previous.close()
    }
    // Both connect and close are decided on a microtask, after React has run every effect
    // of this commit: StrictMode's effect → cleanup → effect then ends in one connect() and
    // no close, and listeners subscribed by sibling hooks or parents' effects are in place
    // before the first state change.
    queueMicrotask(() => {
      if (live.current === socket) socket.connect()
    })
    return () => {
      live.current = null
      queueMicrotask(() => {
        if (live.current !== socket) socket.close()
      })
    }
  }, [socket])

  return socket
}
