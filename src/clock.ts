/**
 * The seam through which all time enters the library. Tests inject a fake; production
 * uses the host timers. `now()` is wall-clock time: heartbeat and retry deadlines are
 * compared against it so that a machine that slept, or a tab whose timers were frozen,
 * is noticed instead of being mistaken for a dead connection.
 */
export interface Clock {
  now(): number
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
}

/** A source of uniform random numbers in [0, 1). Injected to make jitter reproducible. */
export type RandomSource = () => number

// Looked up on every call (not captured at import) so fake timers installed later apply.
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** A single-shot timer slot: arming it again replaces the previous timer. */
export class TimerSlot {
  #handle: unknown
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  get armed(): boolean {
    return this.#handle !== undefined
  }

  set(callback: () => void, delayMs: number): void {
    this.clear()
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = undefined
      callback()
    }, delayMs)
  }

  clear(): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle)
    this.#handle = undefined
  }
}
