import { nanoid } from 'nanoid/non-secure'
import { checkFunction, checkNumbers } from './check.ts'
import { TimerSlot } from './clock.ts'
import { HEARTBEAT_TIMEOUT_CODE } from './close-codes.ts'
import { withDefaults } from './defaults.ts'
import { checkKeys, handlerFailed, invalidOption } from './errors.ts'
import type { Feature, Part, PartHost } from './part.ts'
import type { MessageData } from './wire.ts'

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

type ResolvedHeartbeat = Required<Omit<HeartbeatOptions, 'ping' | 'isPong'>> &
  Pick<HeartbeatOptions, 'ping' | 'isPong'>

const DEFAULTS = { intervalMs: 25_000, timeoutMs: 10_000, probeTimeoutMs: 3000 }

/**
 * Ping/pong liveness checks, for the `heartbeat` option: `heartbeat: heartbeat({ intervalMs })`.
 * Needs a server that answers (`$ping` → `$pong` by default, or `ping`/`isPong` for its own
 * format). Throws `INVALID_OPTIONS` for options it cannot use.
 */
export function heartbeat(options: HeartbeatOptions = {}): Feature {
  checkKeys('heartbeat.', options, [...Object.keys(DEFAULTS), 'ping', 'isPong'])
  const o = withDefaults<ResolvedHeartbeat>(DEFAULTS, options)
  checkNumbers('heartbeat.', o, DEFAULTS, 'to turn the heartbeat off, leave the option out')
  checkFunction('heartbeat.ping', o.ping)
  checkFunction('heartbeat.isPong', o.isPong)
  // A custom ping needs its own way to recognise the pong.
  if (!o.ping !== !o.isPong)
    throw invalidOption('heartbeat: pass both ping and isPong (to recognise its pong), or neither')
  return { feature: 'heartbeat', create: (host) => new Heartbeat(o, host) }
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
const PONG = {
  $pong(this: Part) {
    ;(this as Heartbeat).pong()
  },
}

class Heartbeat implements Part {
  readonly #o: ResolvedHeartbeat
  readonly #host: PartHost
  /** The host's clock, kept: every frame reads it. */
  readonly #clock: PartHost['clock']
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

  // On the prototype: one table for every heartbeat, called with the heartbeat as `this`.
  get frames(): Part['frames'] {
    return PONG
  }

  // A class rather than closures over local state: every socket with a heartbeat owns one,
  // and methods on the prototype keep an idle socket's heap small.
  constructor(options: ResolvedHeartbeat, host: PartHost) {
    this.#o = options
    this.#host = host
    this.#clock = host.clock
    this.#timer = new TimerSlot(this.#clock)
  }

  opened(): void {
    this.#phase = WAITING
    this.#lastInboundAt = this.#lastOutboundAt = this.#now()
    this.#arm(this.#o.intervalMs)
  }

  lost(): undefined {
    this.ended()
  }

  ended(): void {
    this.#phase = OFF
    this.#pingSentAt = null
    this.#timer.clear()
  }

  /**
   * Any inbound frame: the connection is alive, and a custom pong is consumed. Hot path:
   * timer work only once per ping.
   */
  inbound(data: MessageData): boolean {
    if (this.#o.isPong && this.#isPong(data)) {
      this.pong()
      return true
    }
    this.#lastInboundAt = this.#now()
    if (this.#phase >= AWAITING) {
      this.#answered()
      // The socket is still handling this frame: the update reaches snapshot subscribers, and
      // one that closed or reconnected the socket now would pull the frame from under it.
      queueMicrotask(() => this.#deadline(this.#phase >= AWAITING ? this.#dueAt : null))
    }
    return false
  }

  /** Any outbound frame. Hot path: a timestamp only; the timer works out the rest. */
  written(): void {
    this.#lastOutboundAt = this.#now()
  }

  /** Ping now with the short timeout, unless the connection has just shown life. */
  wake(): void {
    const now = this.#now()
    if (this.#phase === WAITING) {
      if (now - this.#lastInboundAt >= FRESH_MS) this.#ping(this.#o.probeTimeoutMs)
    } else if (this.#phase !== OFF && this.#dueAt - now > this.#o.probeTimeoutMs) {
      // Already awaiting a pong: only bring the verdict forward.
      this.#arm(this.#o.probeTimeoutMs)
      this.#deadline(this.#dueAt)
    }
  }

  /** A pong: alive, and an RTT sample if a ping was outstanding. */
  pong(): void {
    const sentAt = this.#pingSentAt
    this.#pingSentAt = null
    this.#lastInboundAt = this.#now()
    if (this.#phase >= AWAITING) this.#answered()
    if (sentAt === null) return
    const rttMs = this.#lastInboundAt - sentAt
    const connection = this.#host.connection
    this.#host.update({ rttMs, pongDeadlineAt: null })
    // A subscriber may have closed the socket.
    if (connection === this.#host.connection) this.#host.emit('heartbeat', { phase: 'pong', rttMs })
  }

  #isPong(data: MessageData): boolean {
    try {
      return (this.#o.isPong as (data: unknown) => boolean)(data)
    } catch (error) {
      this.#host.report(handlerFailed('heartbeat.isPong', error))
      return false
    }
  }

  /** The unanswered ping's deadline moved, or (`null`) the ping was answered. */
  #deadline(pongDeadlineAt: number | null): void {
    this.#host.update({ pongDeadlineAt })
  }

  #now(): number {
    return this.#clock.now()
  }

  /**
   * The ping in flight was answered: the next one is due `intervalMs` into the silence in
   * either direction. Re-armed here, not left to the ping's deadline, so that an interval
   * shorter than `timeoutMs` is kept.
   */
  #answered(): void {
    this.#phase = WAITING
    const quietMs = this.#now() - Math.min(this.#lastInboundAt, this.#lastOutboundAt)
    this.#arm(Math.max(0, this.#o.intervalMs - quietMs))
  }

  #arm(delayMs: number): void {
    this.#dueAt = this.#now() + delayMs
    this.#timer.set(() => this.#tick(), delayMs)
  }

  #ping(waitMs: number, next = AWAITING): void {
    this.#phase = next
    this.#pingSentAt = this.#lastOutboundAt = this.#now()
    this.#bufferedAtPing = this.#host.buffered
    this.#arm(waitMs)
    // Last: this runs user code (a custom ping, `error` listeners), which may stop the heartbeat.
    const host = this.#host
    const connection = host.connection
    const { ping } = this.#o
    if (!host.write(() => (ping ? ping() : host.encode({ type: '$ping', id: nanoid() })))) return
    if (connection !== host.connection) return
    const deadlineAt = this.#dueAt
    host.update({ pongDeadlineAt: deadlineAt })
    if (connection === host.connection) host.emit('heartbeat', { phase: 'ping', deadlineAt })
  }

  #tick(): void {
    const now = this.#now()
    const late = now - this.#dueAt > LATE_TOLERANCE_MS
    if (this.#phase === WAITING) {
      const quietMs = now - Math.min(this.#lastInboundAt, this.#lastOutboundAt)
      if (quietMs < this.#o.intervalMs) this.#arm(this.#o.intervalMs - quietMs)
      else this.#ping(late ? this.#o.probeTimeoutMs : this.#o.timeoutMs)
    }
    // From here on a pong is awaited (`stop()` clears the timer, so the phase is not OFF).
    else if (late && this.#phase === AWAITING) this.#ping(this.#o.probeTimeoutMs, REPROBED)
    else {
      // On a slow uplink the ping waits behind data still being written. While that
      // buffer keeps shrinking the link is moving bytes: wait for it rather than cut it.
      const buffered = this.#host.buffered
      if (buffered > 0 && buffered < this.#bufferedAtPing) {
        this.#bufferedAtPing = buffered
        this.#arm(this.#o.timeoutMs)
        this.#deadline(this.#dueAt)
      } else {
        this.ended()
        const close = { code: HEARTBEAT_TIMEOUT_CODE, reason: 'heartbeat timeout', wasClean: false }
        this.#host.drop(close, 'heartbeat-timeout')
      }
    }
  }
}
