import type { SocketSnapshot } from './events.ts'

/**
 * The socket's state as one immutable value, for `useSyncExternalStore` and friends: a
 * new frozen object only when a field really changed, and subscribers called after it.
 */
export class SnapshotStore {
  #current: SocketSnapshot
  /** Created on first subscribe: most sockets never have a subscriber. */
  #subscribers: Set<() => void> | null = null
  readonly #onSubscriberError: (error: unknown) => void

  constructor(initial: SocketSnapshot, onSubscriberError: (error: unknown) => void) {
    this.#current = Object.freeze(initial)
    this.#onSubscriberError = onSubscriberError
  }

  get current(): SocketSnapshot {
    return this.#current
  }

  subscribe(listener: () => void): () => void {
    this.#subscribers ??= new Set()
    this.#subscribers.add(listener)
    return () => {
      this.#subscribers?.delete(listener)
    }
  }

  update(patch: Partial<SocketSnapshot>): void {
    const previous = this.#current
    let changed = false
    for (const key in patch) {
      if (previous[key as keyof SocketSnapshot] !== patch[key as keyof SocketSnapshot])
        changed = true
    }
    if (!changed) return
    this.#current = Object.freeze({ ...previous, ...patch })
    if (!this.#subscribers) return
    // A copy: a subscriber that unsubscribes (or subscribes another) mid-loop changes nothing now.
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber()
      } catch (error) {
        this.#onSubscriberError(error)
      }
    }
  }
}
