import EventEmitter from 'eventemitter3'
import type { SocketEventName, SocketEvents } from './events.ts'

/**
 * eventemitter3 with every listener isolated at the moment it is registered, so that
 * emitting stays eventemitter3's fast loop: a listener that throws is handed to
 * `onListenerError` and never stops the other listeners or the socket.
 */
export class SafeEmitter {
  readonly #emitter = new EventEmitter()
  readonly #onListenerError: (event: SocketEventName, error: unknown) => void

  constructor(onListenerError: (event: SocketEventName, error: unknown) => void) {
    this.#onListenerError = onListenerError
  }

  on<E extends SocketEventName>(
    event: E,
    listener: (payload: SocketEvents[E]) => void,
  ): () => void {
    const isolated = (payload: SocketEvents[E]): void => {
      try {
        listener(payload)
      } catch (error) {
        this.#onListenerError(event, error)
      }
    }
    this.#emitter.on(event, isolated)
    return () => {
      this.#emitter.off(event, isolated)
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
    this.#emitter.emit(event, payload)
  }

  /** Whether anyone listens: lets the hot path skip building a payload nobody reads. */
  has(event: SocketEventName): boolean {
    return this.#emitter.listenerCount(event) > 0
  }
}
