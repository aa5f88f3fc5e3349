import { type Clock, TimerSlot } from './clock.ts'

export interface HeartbeatOptions {
  /**
   * Milliseconds of silence, in either direction, after which a ping is sent: when nothing
   * was received for this long (is the peer still there?), and when nothing was sent for
   * this long (so that servers and proxies that drop quiet clients hear from this one).
   * Any frame postpones the ping, inbound or outbound. While pings are answered, the
   * client therefore writes a frame at least this often: shorten it to stay under an idle
   * timeout. Only one ping is in flight at a time.
   * @default 25000
   */
  intervalMs?: number
  /**
   * Milliseconds to wait for the pong (or any inbound message) after a ping before the
   * connection is declared dead. Independent of `intervalMs`: the next ping is due
   * `intervalMs` after this one, as soon as it is answered.
   * @default 10000
   */
  timeoutMs?: number
  /**
   * The shorter timeout of a probe: the ping sent at once when the page becomes visible,
   * the network comes back, or a timer fired so late that the machine probably slept.
   * @default 3000
   */
  probeTimeoutMs?: number
  /**
   * Builds the ping frame, for servers with their own format (e.g. `() => 'ping'`). By
   * default a `{ "type": "$ping", "id": … }` envelope is sent through the codec.
   */
  ping?: () => string | ArrayBuffer | ArrayBufferView<ArrayBuffer>
  /**
   * Recognises the server's pong among raw inbound frames (called before decoding). A
   * frame it accepts is consumed and not dispatched. By default a `$pong` envelope is a pong.
   */
  isPong?: (data: unknown) => boolean
}

export interface HeartbeatHooks {
  /** Writes a ping; unless a frame arrives by `deadlineAt` (epoch ms), the connection is dead. */
  sendPing(deadlineAt: number): void
  /** The unanswered ping's deadline moved, or (`null`) the ping was answered. */
  deadline(deadlineAt: number | null): void
  onDead(): void
  onRtt(rttMs: number): void
  /** The socket's `bufferedAmount`: a ping queued behind outgoing data waits with it. */
  buffered(): number
}

/** A timer that fires this much later than scheduled probably slept or was throttled. */
const LATE_TOLERANCE_MS = 1000
/** An inbound message this recent makes a probe pointless. */
const FRESH_MS = 1000

// The phases of one connection's heartbeat, in order. Numbers, so that "a ping is
// outstanding" is `phase >= AWAITING`.
const OFF = 0
/** Waiting for `intervalMs` of silence in either direction. */
const WAITING = 1
/** A ping is out: any inbound frame ends this phase. */
const AWAITING = 2
/** As `AWAITING`, but the ping was the late-timer probe: the next late timer is a verdict. */
const REPROBED = 3

/**
 * Ping/pong liveness for one open connection, on a single timer. The receive and send
 * paths only record timestamps; the timer works out on firing whether a ping is due.
 *
 * A timer that fires far too late (sleep, a frozen or throttled tab) is not trusted to
 * judge the connection: it sends a probe instead. Only one such late probe is allowed
 * in a row, so a heavily throttled tab still reaches a verdict on a dead link: a live
 * link's pong is delivered as an event, which throttling does not delay.
 */
export class Heartbeat {
  readonly #intervalMs: number
  readonly #timeoutMs: number
  readonly #probeTimeoutMs: number
  readonly #clock: Clock
  readonly #hooks: HeartbeatHooks
  readonly #timer: TimerSlot
  #phase = OFF
  #lastInboundAt = 0
  #lastOutboundAt = 0
  /**
   * When the unanswered ping went out, or `null`. Kept apart from `#phase`: the socket
   * records every frame as inbound before it can decode a `$pong`, which ends `AWAITING`.
   */
  #pingSentAt: number | null = null
  /** When the armed timer is due: a timer firing much later than this slept. */
  #dueAt = 0
  #bufferedAtPing = 0

  // A class rather than closures over local state: every socket with a heartbeat owns one,
  // and methods on the prototype keep an idle socket's heap small.
  constructor(
    options: Required<Pick<HeartbeatOptions, 'intervalMs' | 'timeoutMs' | 'probeTimeoutMs'>>,
    clock: Clock,
    hooks: HeartbeatHooks,
  ) {
    this.#intervalMs = options.intervalMs
    this.#timeoutMs = options.timeoutMs
    this.#probeTimeoutMs = options.probeTimeoutMs
    this.#clock = clock
    this.#hooks = hooks
    this.#timer = new TimerSlot(clock)
  }

  start(): void {
    this.#phase = WAITING
    this.#lastInboundAt = this.#lastOutboundAt = this.#clock.now()
    this.#arm(this.#intervalMs)
  }

  stop(): void {
    this.#phase = OFF
    this.#pingSentAt = null
    this.#timer.clear()
  }

  /** Any inbound frame: the connection is alive. Hot path: timer work only once per ping. */
  noteInbound(): void {
    this.#lastInboundAt = this.#clock.now()
    if (this.#phase >= AWAITING) {
      this.#answered()
      // The socket is still handling this frame: the hook reaches snapshot subscribers, and
      // one that closed or reconnected the socket now would pull the frame from under it.
      queueMicrotask(() => this.#hooks.deadline(this.#phase >= AWAITING ? this.#dueAt : null))
    }
  }

  /** Any outbound frame. Hot path: a timestamp only; the timer works out the rest. */
  noteOutbound(): void {
    this.#lastOutboundAt = this.#clock.now()
  }

  /** A pong: alive, and an RTT sample if a ping was outstanding (the hook clears the deadline). */
  notePong(): void {
    const sentAt = this.#pingSentAt
    this.#pingSentAt = null
    this.#lastInboundAt = this.#clock.now()
    if (this.#phase >= AWAITING) this.#answered()
    if (sentAt !== null) this.#hooks.onRtt(this.#lastInboundAt - sentAt)
  }

  /** Ping now with the short timeout, unless the connection has just shown life. */
  probe(): void {
    const now = this.#clock.now()
    if (this.#phase === WAITING) {
      if (now - this.#lastInboundAt >= FRESH_MS) this.#ping(this.#probeTimeoutMs)
    } else if (this.#phase !== OFF && this.#dueAt - now > this.#probeTimeoutMs) {
      // Already awaiting a pong: only bring the verdict forward.
      this.#arm(this.#probeTimeoutMs)
      this.#hooks.deadline(this.#dueAt)
    }
  }

  /**
   * The ping in flight was answered: the next one is due `intervalMs` into the silence in
   * either direction. Re-armed here, not left to the ping's deadline, so that an interval
   * shorter than `timeoutMs` is kept.
   */
  #answered(): void {
    this.#phase = WAITING
    const quietMs = this.#clock.now() - Math.min(this.#lastInboundAt, this.#lastOutboundAt)
    this.#arm(Math.max(0, this.#intervalMs - quietMs))
  }

  #arm(delayMs: number): void {
    this.#dueAt = this.#clock.now() + delayMs
    this.#timer.set(() => this.#tick(), delayMs)
  }

  #ping(waitMs: number, next = AWAITING): void {
    this.#phase = next
    this.#pingSentAt = this.#lastOutboundAt = this.#clock.now()
    this.#bufferedAtPing = this.#hooks.buffered()
    this.#arm(waitMs)
    // Last: the hook runs user code, which may stop this heartbeat.
    this.#hooks.sendPing(this.#dueAt)
  }

  #tick(): void {
    const now = this.#clock.now()
    const late = now - this.#dueAt > LATE_TOLERANCE_MS
    if (this.#phase === WAITING) {
      const quietMs = now - Math.min(this.#lastInboundAt, this.#lastOutboundAt)
      if (quietMs < this.#intervalMs) this.#arm(this.#intervalMs - quietMs)
      else this.#ping(late ? this.#probeTimeoutMs : this.#timeoutMs)
    }
    // From here on a pong is awaited (`stop()` clears the timer, so the phase is not OFF).
    else if (late && this.#phase === AWAITING) this.#ping(this.#probeTimeoutMs, REPROBED)
    else {
      // On a slow uplink the ping waits behind data still being written. While that
      // buffer keeps shrinking the link is moving bytes: wait for it rather than cut it.
      const buffered = this.#hooks.buffered()
      if (buffered > 0 && buffered < this.#bufferedAtPing) {
        this.#bufferedAtPing = buffered
        this.#arm(this.#timeoutMs)
        this.#hooks.deadline(this.#dueAt)
      } else {
        this.stop()
        this.#hooks.onDead()
      }
    }
  }
}
