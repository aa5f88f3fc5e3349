import type { SocketSnapshot } from './events.ts'

/**
 * The socket's state as one immutable value, for `useSyncExternalStore` and friends: a
 * new frozen object only when a field really changed, and subscribers called after it.
 */
export class SnapshotStore {
  /** The latest snapshot; only `update` replaces it. */
  declare current: SocketSnapshot
  readonly #subscribers = new Set<() => void>()
  readonly #onSubscriberError: (error: unknown) => void

  constructor(initial: SocketSnapshot, onSubscriberError: (error: unknown) => void) {
    this.current = Object.freeze(initial)
    this.#onSubscriberError = onSubscriberError
  }

  subscribe(listener: () => void): () => void {
    this.#subscribers.add(listener)
    return () => {
      this.#subscribers.delete(listener)
    }
  }

  update(patch: Partial<SocketSnapshot>): void {
    if (this.set(patch)) this.notify()
  }

  /** Replaces the snapshot without telling anyone yet; returns whether anything changed. */
  set(patch: Partial<SocketSnapshot>): boolean {
    const previous = this.current
    const keys = Object.keys(patch) as (keyof SocketSnapshot)[]
    if (keys.every((key) => previous[key] === patch[key])) return false
    this.current = Object.freeze({ ...previous, ...patch })
    return true
  }

  /** Calls every subscriber, each isolated. */
  notify(): void {
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
