interface Waiter {
  ready: () => boolean
  resolve: () => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

/**
 * Promises that settle when a condition on server state becomes true. The owner calls
 * `check()` after every change instead of anyone polling, and `rejectAll()` on close
 * so that no timer outlives the server.
 */
export class Waiters {
  readonly #pending = new Set<Waiter>()

  wait(ready: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (ready()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        ready,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#pending.delete(waiter)
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`))
        }, timeoutMs),
      }
      this.#pending.add(waiter)
    })
  }

  check(): void {
    for (const waiter of this.#pending) {
      if (!waiter.ready()) continue
      clearTimeout(waiter.timer)
      this.#pending.delete(waiter)
      waiter.resolve()
    }
  }

  rejectAll(error: Error): void {
    for (const waiter of this.#pending) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
    }
    this.#pending.clear()
  }
}
