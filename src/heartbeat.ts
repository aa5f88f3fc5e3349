import { type Clock, TimerSlot } from './clock.ts'

export interface HeartbeatOptions {
  /**
   * Milliseconds of inbound silence before a ping is sent. Any inbound message counts as
   * proof of life and postpones the ping.
   * @default 25000
   */
  intervalMs?: number
  /**
   * Milliseconds to wait for the pong (or any inbound message) after a ping before the
   * connection is declared dead.
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
  ping?: () => string | ArrayBufferLike | ArrayBufferView
  /**
   * Recognises the server's pong among raw inbound frames (called before decoding). A
   * frame it accepts is consumed and not dispatched. By default a `$pong` envelope is a pong.
   */
  isPong?: (data: unknown) => boolean
}

export interface HeartbeatHooks {
  sendPing(): void
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
/** Waiting for `intervalMs` of inbound silence. */
const WAITING = 1
/** A ping is out: any inbound frame ends this phase. */
const AWAITING = 2
/** As `AWAITING`, but the ping was the late-timer probe: the next late timer is a verdict. */
const REPROBED = 3

/**
 * Ping/pong liveness for one open connection, on a single timer. The receive path only
 * records a timestamp; the timer works out on firing whether a ping is due.
 *
 * A timer that fires far too late (sleep, a frozen or throttled tab) is not trusted to
 * judge the connection: it sends a probe instead. Only one such late probe is allowed
 * in a row, so a heavily throttled tab still reaches a verdict on a dead link: a live
 * link's pong is delivered as an event, which throttling does not delay.
 */
export interface Heartbeat {
  start(): void
  stop(): void
  /** Any inbound frame: the connection is alive. Hot path: no timer work here. */
  noteInbound(): void
  /** A pong: alive, and an RTT sample if a ping was outstanding. */
  notePong(): void
  /** Ping now with the short timeout, unless the connection has just shown life. */
  probe(): void
}

// State lives in closure variables rather than private fields: they minify to single letters.
export function createHeartbeat(
  options: Required<Pick<HeartbeatOptions, 'intervalMs' | 'timeoutMs' | 'probeTimeoutMs'>>,
  clock: Clock,
  hooks: HeartbeatHooks,
): Heartbeat {
  const { intervalMs, timeoutMs, probeTimeoutMs } = options
  const timer = new TimerSlot(clock)
  let phase = OFF
  let lastInboundAt = 0
  /**
   * When the unanswered ping went out, or `null`. Kept apart from `phase`: the socket
   * records every frame as inbound before it can decode a `$pong`, which ends `AWAITING`.
   */
  let pingSentAt: number | null = null
  /** When the armed timer is due: a timer firing much later than this slept. */
  let dueAt = 0
  let bufferedAtPing = 0

  const arm = (delayMs: number): void => {
    dueAt = clock.now() + delayMs
    timer.set(tick, delayMs)
  }

  const ping = (waitMs: number, next = AWAITING): void => {
    phase = next
    pingSentAt = clock.now()
    bufferedAtPing = hooks.buffered()
    arm(waitMs)
    hooks.sendPing()
  }

  const tick = (): void => {
    const now = clock.now()
    const late = now - dueAt > LATE_TOLERANCE_MS
    const silentMs = now - lastInboundAt
    if (phase === WAITING) {
      if (silentMs < intervalMs) arm(intervalMs - silentMs)
      else ping(late ? probeTimeoutMs : timeoutMs)
    }
    // From here on a pong is awaited (`stop()` clears the timer, so the phase is not OFF).
    else if (late && phase === AWAITING) ping(probeTimeoutMs, REPROBED)
    else {
      // On a slow uplink the ping waits behind data still being written. While that
      // buffer keeps shrinking the link is moving bytes: wait for it rather than cut it.
      const buffered = hooks.buffered()
      if (buffered > 0 && buffered < bufferedAtPing) {
        bufferedAtPing = buffered
        arm(timeoutMs)
      } else {
        stop()
        hooks.onDead()
      }
    }
  }

  const start = (): void => {
    phase = WAITING
    lastInboundAt = clock.now()
    arm(intervalMs)
  }

  const stop = (): void => {
    phase = OFF
    pingSentAt = null
    timer.clear()
  }

  const noteInbound = (): void => {
    lastInboundAt = clock.now()
    if (phase >= AWAITING) phase = WAITING
  }

  const notePong = (): void => {
    const sentAt = pingSentAt
    pingSentAt = null
    noteInbound()
    if (sentAt !== null) hooks.onRtt(lastInboundAt - sentAt)
  }

  const probe = (): void => {
    const now = clock.now()
    if (phase === WAITING) {
      if (now - lastInboundAt >= FRESH_MS) ping(probeTimeoutMs)
    } else if (phase !== OFF && dueAt - now > probeTimeoutMs) {
      // Already awaiting a pong: only bring the verdict forward.
      arm(probeTimeoutMs)
    }
  }

  return { start, stop, noteInbound, notePong, probe }
}
