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
// A zero delay runs as soon as the event loop has handled pending I/O: `setImmediate` where
// there is one (Node), because `setTimeout(0)` waits at least 1 ms there, which is long next
// to a loopback socket that drains a megabyte in less.
interface ImmediateHost {
  setImmediate?: (callback: () => void) => unknown
  clearImmediate?: (handle: unknown) => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => {
    const host = globalThis as ImmediateHost
    return delayMs <= 0 && host.setImmediate && host.clearImmediate
      ? { immediate: host.setImmediate(callback) }
      : setTimeout(callback, delayMs)
  },
  clearTimeout: (handle) => {
    const { immediate } = (handle ?? {}) as { immediate?: unknown }
    if (immediate !== undefined) (globalThis as ImmediateHost).clearImmediate?.(immediate)
    else clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}

/**
 * Host timers take a signed 32-bit delay: from 2^31 ms (24.8 days) up, and for Infinity, they
 * fire after 1 ms instead (WebIDL, Node, and the fake timers that copy them).
 */
const MAX_TIMER_MS = 2 ** 31 - 1
/** The handle of a slot armed for Infinity: armed for ever, with no host timer behind it. */
const NEVER = {}

/**
 * A single-shot timer slot: arming it again replaces the previous timer. Every duration
 * means what it says: a delay too long for one host timer is a chain of them, and
 * `Infinity` never fires.
 */
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
    if (delayMs > MAX_TIMER_MS) this.#chain(callback, this.#clock.now() + delayMs)
    else
      this.#handle = this.#clock.setTimeout(() => {
        this.#handle = undefined
        callback()
      }, delayMs)
  }

  clear(): void {
    if (this.#handle !== undefined && this.#handle !== NEVER) this.#clock.clearTimeout(this.#handle)
    this.#handle = undefined
  }

  // Each link is measured against `now()` again, so a machine that slept (host timers
  // stopped, the wall clock did not) fires at the first link after the deadline.
  #chain(callback: () => void, dueAt: number): void {
    const leftMs = dueAt - this.#clock.now()
    if (leftMs === Infinity) {
      this.#handle = NEVER
      return
    }
    this.#handle = this.#clock.setTimeout(
      () => {
        if (dueAt > this.#clock.now()) this.#chain(callback, dueAt)
        else {
          this.#handle = undefined
          callback()
        }
      },
      Math.min(leftMs, MAX_TIMER_MS),
    )
  }
}
