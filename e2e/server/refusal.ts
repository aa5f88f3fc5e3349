/**
 * The "refuse new connections for N ms" fault. A deadline instead of a timer, so
 * there is nothing to clear on shutdown.
 */
export class Refusal {
  #until = 0

  refuse(ms: number, now = Date.now()): void {
    this.#until = ms > 0 ? now + ms : 0
  }

  remainingMs(now = Date.now()): number {
    return Math.max(0, this.#until - now)
  }

  /** Epoch ms when refusing ends, or null when not refusing. */
  until(now = Date.now()): number | null {
    return this.#until > now ? this.#until : null
  }
}
