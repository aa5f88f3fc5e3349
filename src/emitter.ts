import type { SocketEventName, SocketEvents } from './events.ts'

type Listener = (payload: unknown) => void

/**
 * The socket's events. Every listener is isolated when it is registered: one that throws
 * is handed to `onListenerError` and never stops the other listeners or the socket.
 *
 * Built in rather than eventemitter3, which cost 0.85 kB min+gzip for the four methods used
 * here. An event's list of listeners is replaced, never changed in place: an emit walks the
 * list as it was when the emit began without copying it, so a listener that adds or
 * removes another one changes the next emit, not this one (as eventemitter3 behaved).
 */
export class SafeEmitter {
  readonly #listeners: Partial<Record<SocketEventName, Listener[]>> = {}
  readonly #onListenerError: (event: SocketEventName, error: unknown) => void

  constructor(onListenerError: (event: SocketEventName, error: unknown) => void) {
    this.#onListenerError = onListenerError
  }

  on<E extends SocketEventName>(
    event: E,
    listener: (payload: SocketEvents[E]) => void,
  ): () => void {
    const isolated = (payload: unknown): void => {
      try {
        listener(payload as SocketEvents[E])
      } catch (error) {
        this.#onListenerError(event, error)
      }
    }
    const listeners = this.#listeners
    listeners[event] = [...(listeners[event] ?? []), isolated]
    return () => {
      listeners[event] = listeners[event]?.filter((other) => other !== isolated)
    }
  }

  once<E extends SocketEventName>(
    event: E,
    listener: (payload: SocketEvents[E]) => void,
  ): () => void {
    const off = this.on(event, (payload) => {
      off()
      listener(payload)
    })
    return off
  }

  emit<E extends SocketEventName>(event: E, payload: SocketEvents[E]): void {
    for (const listener of this.#listeners[event] ?? []) listener(payload)
  }

  /** Whether anyone listens: lets the hot path skip building a payload nobody reads. */
  has(event: SocketEventName): boolean {
    return !!this.#listeners[event]?.length
  }
}
