import { checkNumbers } from './check.ts'
import { TimerSlot } from './clock.ts'
import type { CloseInfo } from './close-codes.ts'
import { withDefaults } from './defaults.ts'
import { checkKeys, invalidOption, SocketError } from './errors.ts'
import type { SessionLost } from './events.ts'
import { heartbeat } from './heartbeat.ts'
import type { Feature, Part, PartHost } from './part.ts'
import type { QueuedMessage } from './send-queue.ts'
import { type Envelope, type Frame, frameBytes, isProtocolType } from './wire.ts'

export interface ReliableOptions {
  /**
   * Frames sent but not yet acknowledged that the client keeps for replay. When the window
   * is full, new sends wait in the queue (under its bounds); a sequenced frame is never
   * dropped, only an ack or a lost session removes it.
   * @default 1000
   */
  maxUnackedMessages?: number
  /**
   * Bytes of such frames.
   * @default 1048576 (1 MiB)
   */
  maxUnackedBytes?: number
  /**
   * Milliseconds to wait for the server's `$session` after `$hello` / `$resume`. A server
   * that does not answer in time, or answers something else first, does not speak the mode:
   * the socket closes with `UNSUPPORTED` rather than fall back silently.
   * @default 10000
   */
  helloTimeoutMs?: number
  /**
   * Acknowledged frames kept, so that a server that rolls back (acknowledged, then lost
   * them) can be told exactly what it lost.
   * @default 100
   */
  keepAckedMessages?: number
  /**
   * The heartbeat that finds half-open links. The mode's server answers pings, so it is on
   * unless you pass your own, or `false`.
   * @default heartbeat()
   */
  heartbeat?: Feature | false
}

type Resolved = Required<Omit<ReliableOptions, 'heartbeat'>>

const DEFAULTS: Resolved = {
  maxUnackedMessages: 1000,
  maxUnackedBytes: 1024 * 1024,
  helloTimeoutMs: 10_000,
  keepAckedMessages: 100,
}

/** Acks go out after this many frames, or this long after the first unacknowledged one. */
const ACK_EVERY = 32
const ACK_DELAY_MS = 200
/** Close codes of the mode (PROTOCOL.md §10): a broken rule, and displaced by another instance. */
const PROTOCOL_VIOLATION = 4009
const DISPLACED = 4010

/** A frame sent in the session and not known to be processed yet. */
interface Logged extends QueuedMessage {
  readonly seq: number
}

/**
 * Reliable delivery, for the `reliable` option: `reliable: reliable()`. Every application
 * frame gets a sequence number, the server acknowledges what it processed, and after a cut
 * the socket resumes the session: both sides replay what the other has not seen, and drop
 * what it has. Nothing is lost, duplicated or reordered while the server keeps the session;
 * when it did not, `sessionlost` says exactly what is in doubt. Needs a server that speaks
 * the mode (`resilient-socket/server`, PROTOCOL.md §10) and the JSON envelope codec.
 */
export function reliable(options: ReliableOptions = {}): Feature {
  checkKeys('reliable.', options, [...Object.keys(DEFAULTS), 'heartbeat'])
  const o = withDefaults(DEFAULTS, options as Resolved)
  checkNumbers('reliable.', o, DEFAULTS)
  const beat = options.heartbeat === undefined ? heartbeat() : options.heartbeat
  if (beat !== false && beat?.feature !== 'heartbeat') {
    throw invalidOption('reliable.heartbeat must be made by heartbeat(), or false')
  }
  return {
    feature: 'reliable',
    implies: beat ? { heartbeat: beat } : {},
    create: (host) => reliablePart(o, host),
  } as Feature
}

// A closure: only sockets in the reliable mode create one.
function reliablePart(o: Resolved, host: PartHost): Part {
  // Seqs are written into JSON objects: a codec that writes anything else cannot carry them.
  // The probe is an application envelope, since codecs (rawCodec) may write `$` frames as
  // JSON and the application's frames as something else.
  let probe: Frame | undefined
  try {
    probe = host.encode({ type: 'probe', data: 0 })
  } catch {}
  if (typeof probe !== 'string' || probe[0] !== '{' || !probe.includes('"probe"')) {
    throw invalidOption(
      'reliable() needs a codec that writes envelopes as JSON objects (jsonCodec)',
    )
  }
  /** The session, once the server named it; kept across connections until it is lost. */
  let sid: string | null = null
  /** The last seq this client assigned, and the highest the server acknowledged. */
  let sent = 0
  let acked = 0
  /** Sent and not acknowledged, in seq order: replayed after a resume. */
  let log: Logged[] = []
  /** Entries before this index are acknowledged and gone. */
  let head = 0
  /** The frames in the log, in seq order (a copy). */
  const pending = (): Logged[] => log.slice(head)
  let logBytes = 0
  /** Acknowledged recently: what a rollback may have lost. */
  let recent: Logged[] = []
  /** The last server seq handed to the application, and how many of them are not acked yet. */
  let seen = 0
  let unackedIn = 0
  /** `sid:out:seen` of the last loss of server frames reported: the same answer again is not a second loss. */
  let reported: string | null = null
  /** `hello`: waiting for `$session`; `ready`: sequencing; `off`: no connection. */
  let phase: 'off' | 'hello' | 'ready' = 'off'
  /** Since the socket was created: what `stats.delivery` shows. */
  const count = {
    sent: 0,
    acked: 0,
    replayed: 0,
    duplicates: 0,
    inDoubt: 0,
    resumes: 0,
    sessionsLost: 0,
  }
  /** Frames sent while sequencing; the stats of the mode. */
  const clock = host.clock
  const helloTimer = new TimerSlot(clock)
  const ackTimer = new TimerSlot(host.clock)

  const sendAck = (): void => {
    ackTimer.clear()
    if (unackedIn === 0 || phase !== 'ready') return
    if (host.write(() => host.encode({ type: '$ack', ack: seen }))) unackedIn = 0
  }

  /** A rule of §10.2 broken by the server: cut with 4009 and resume. */
  const violation = (what: string): false => {
    host.report(new SocketError('PROTOCOL_ERROR', `reliable mode: the server sent ${what}`))
    const close = { code: PROTOCOL_VIOLATION, reason: 'protocol violation', wasClean: false }
    if (phase === 'hello') unsupported(what)
    else host.drop(close, 'protocol-error')
    return false
  }

  /**
   * The session ends with the socket, with frames the server never acknowledged: said, not
   * dropped in silence. Requests are not settled as after a lost session (nothing can be
   * resent): they reject with the socket's last error.
   */
  const lose = (reason: string): void => {
    count.sessionsLost++
    count.inDoubt += log.length - head
    host.emit('sessionlost', {
      reason,
      previousSid: sid as string,
      sid: null,
      inDoubt: pending(),
      rolledBack: [],
      lostBeyond: false,
      lastSeen: seen,
      resentRequests: [],
      rejectedRequests: [],
    })
  }

  const unsupported = (what: string): void => {
    const close: CloseInfo = { code: 1000, reason: 'reliable mode unsupported', wasClean: true }
    // On a resume, what the session held is reported before the socket ends.
    if (sid !== null) lose('unsupported')
    host.stop(
      close,
      new SocketError('UNSUPPORTED', `the server does not speak the reliable mode: ${what}`),
    )
  }

  /** The window is full: new frames wait in the queue. */
  /**
   * The queue found the window full and waits. It is released once a batch fits again (a
   * quarter of the window, at most 32 frames): one drain per ack, when the server acks nearly
   * every frame, would be a queue pass per message.
   */
  let stalled = false
  const roomy = (): boolean =>
    o.maxUnackedMessages - (log.length - head) >= Math.min(32, o.maxUnackedMessages / 4) &&
    logBytes <= o.maxUnackedBytes * 0.75
  const full = (): boolean =>
    log.length - head >= o.maxUnackedMessages || logBytes >= o.maxUnackedBytes

  /** Everything up to `upTo` is processed by the server: out of the log, into the ring. */
  const trim = (upTo: number): boolean => {
    if (!Number.isSafeInteger(upTo) || upTo < 0 || upTo > sent) return false
    if (upTo <= acked) return true
    acked = upTo
    // The log's head moves instead of the array shifting: an ack comes with nearly every
    // inbound frame, and a splice per ack is O(log) work per message.
    const from = head
    while (head < log.length && (log[head] as Logged).seq <= upTo) {
      const done = log[head++] as Logged
      logBytes -= done.bytes
      recent.push(done)
    }
    // Counted before the log is compacted, which moves the head back to 0.
    const freed = head > from
    count.acked += head - from
    if (head > 512 && head * 2 > log.length) {
      log = log.slice(head)
      head = 0
    }
    if (recent.length > 2 * o.keepAckedMessages) recent = recent.slice(-o.keepAckedMessages)
    // Room in the window again: what waits in the queue may go, a batch at a time.
    if (freed && stalled && roomy()) {
      stalled = false
      host.drain()
    }
    return true
  }

  const onSession = (envelope: Envelope): void => {
    // One `$session` per connection: another one would restart numbering mid-stream.
    if (phase !== 'hello') {
      violation('a second $session')
      return
    }
    helloTimer.clear()
    const data = (envelope.data ?? {}) as Partial<{
      sid: unknown
      resumed: unknown
      in: unknown
      out: unknown
      reason: unknown
    }>
    const given = data.sid
    const committed = data.in
    const assigned = data.out
    if (
      typeof given !== 'string' ||
      !given ||
      typeof data.resumed !== 'boolean' ||
      !isCount(committed) ||
      !isCount(assigned)
    ) {
      unsupported('a malformed $session')
      return
    }
    const previous = sid
    // `in < acked` or `out < seen`: the server lost what it had acknowledged or sent.
    const rollback = data.resumed && ((committed as number) < acked || (assigned as number) < seen)
    // A server repeats a rollback's `out` until the client has seen a frame after it (the
    // first answer may have been lost): heard once already, it is an ordinary resume.
    const repeat =
      rollback && (committed as number) >= acked && reported === `${given}:${assigned}:${seen}`
    if (data.resumed && given === previous && (!rollback || repeat)) {
      if ((committed as number) > sent) {
        violation(`"in": ${committed} beyond the last seq sent (${sent})`)
        return
      }
      trim(committed as number)
      phase = 'ready'
      // Frames the server has not committed, under their original seqs, ahead of the queue.
      for (const frame of pending()) host.write(() => frame.data)
      count.replayed += log.length - head
      count.resumes++
      host.ready(true)
      return
    }
    sid = given
    phase = 'ready'
    if (previous !== null) {
      const inDoubt = pending()
      const ring = recent.slice(-o.keepAckedMessages)
      const rolledBack = rollback ? ring.filter((f) => f.seq > (committed as number)) : []
      const oldest = ring[0]?.seq ?? acked + 1
      const report: Omit<SessionLost, 'resentRequests' | 'rejectedRequests'> = {
        reason: rollback ? 'rollback' : typeof data.reason === 'string' ? data.reason : 'unknown',
        previousSid: previous,
        sid: given,
        inDoubt,
        rolledBack,
        lostBeyond: rollback && (committed as number) < oldest - 1,
        lastSeen: seen,
      }
      count.sessionsLost++
      count.inDoubt += inDoubt.length
      reset()
      if (rollback) {
        // Only a loss of server frames is answered again the same way (`in` is not held back).
        const { lastSeen } = report
        reported = (assigned as number) < lastSeen ? `${given}:${assigned}:${lastSeen}` : null
        // The server numbers its frames after the ones delivered here, lost or not, so no
        // seq is ever used twice: those above `out` it forgot are not replayed.
        adopt(committed as number, lastSeen)
      } else {
        adopt(committed as number, assigned as number)
      }
      host.sessionLost(report)
    } else {
      reset()
      adopt(committed as number, assigned as number)
    }
    host.ready(false)
  }

  /**
   * Numbering goes on from where the server is: 0 and 0 in a new session, but after a
   * rollback the server kept the session at `in`, and a client that started over at 1
   * would have its next frames dropped there as duplicates.
   */
  const adopt = (committed: number, assigned: number): void => {
    sent = acked = committed
    seen = assigned
  }

  /** A new session: nothing sent, nothing seen. */
  const reset = (): void => {
    sent = acked = seen = unackedIn = logBytes = 0
    log = []
    head = 0
    stalled = false
    recent = []
  }

  return {
    frames: {
      $session: onSession,
      // Acks ride on any frame, and are read in envelope(); a bare `$ack` needs no more.
      $ack: () => {},
    },

    opened() {
      phase = 'hello'
      const first =
        sid === null
          ? host.encode({ type: '$hello', data: { v: 1 } })
          : host.encode({ type: '$resume', data: { v: 1, sid, seen, acked } })
      host.write(() => first)
      helloTimer.set(
        () => unsupported(`no $session within ${o.helloTimeoutMs} ms`),
        o.helloTimeoutMs,
      )
      return 'wait'
    },

    // A frame the codec could not read (or over maxMessageBytes) still took its seq, when the
    // server put it first as PROTOCOL.md writes it: reported, then consumed, so the replay of
    // a frame this client will never read cannot stall the session in a loop of resumes.
    undecodable(data) {
      if (phase !== 'ready' || typeof data !== 'string') return
      // The ack a server put on it counts too: it sends no other for what it carried.
      const lead = /^\{"seq":(\d{1,16})(?:,"ack":(\d{1,16}))?[,}]/.exec(data)
      if (lead === null) return
      const ack = lead[2] === undefined ? undefined : Number(lead[2])
      this.envelope?.({ type: '', seq: Number(lead[1]), ack })
    },

    envelope(envelope) {
      const { type, seq, ack } = envelope
      if (phase === 'hello') {
        if (type === '$session') return true
        // Before `$session` only the other parts' frames may come (a `$pong`); anything of
        // the application means a server that does not know the mode.
        if (isProtocolType(type)) return true
        unsupported(`"${type}" before $session`)
        return false
      }
      if (phase !== 'ready') return true
      if (ack !== undefined && !trim(ack)) {
        return violation(`an ack of ${String(ack)} (the last seq sent is ${sent})`)
      }
      if (isProtocolType(type)) return seq === undefined || violation(`a seq on "${type}"`)
      if (!Number.isSafeInteger(seq) || (seq as number) < 1) {
        return violation(`"${type}" with seq ${String(seq)}`)
      }
      if ((seq as number) <= seen) {
        // Seen already (a replay that crossed an ack): drop it, and say so at once.
        unackedIn++
        count.duplicates++
        sendAck()
        return false
      }
      if (seq !== seen + 1) return violation(`seq ${seq} after ${seen} (a gap)`)
      seen = seq
      if (++unackedIn >= ACK_EVERY) sendAck()
      else if (!ackTimer.armed) ackTimer.set(sendAck, ACK_DELAY_MS)
      return true
    },

    outbound(frame: Frame): Frame {
      // Binary frames are not sequenced (v1), nor is text that is not an envelope.
      if (phase !== 'ready' || typeof frame !== 'string' || frame[0] !== '{') return frame
      const seq = ++sent
      count.sent++
      const ackField = unackedIn > 0 ? `,"ack":${seen}` : ''
      // The ack timer stays armed: when it fires with nothing owed it does nothing, which is
      // cheaper than clearing and arming a host timer around every echo.
      unackedIn = 0
      const data = `{"seq":${seq}${ackField},${frame.slice(1)}`
      // `{}` has no field to follow the comma.
      const stamped = frame === '{}' ? `{"seq":${seq}${ackField}}` : data
      const bytes = frameBytes(stamped)
      log.push({ data: stamped, type: undefined, bytes, queuedAt: clock.now(), seq })
      logBytes += bytes
      return stamped
    },

    // Another instance of this client took the session over: resuming would take it back,
    // and the two would displace each other for ever.
    finalClose(close) {
      if (close.code !== DISPLACED) return undefined
      if (sid !== null) lose('displaced')
      return new SocketError('DISPLACED', 'another instance of this client took the session over')
    },

    blocked() {
      if (phase === 'ready' && full()) stalled = true
      return stalled
    },

    replays: () => sid !== null,

    stats: () => ({ delivery: { sid, ...count, unacked: log.length - head } }),

    lost() {
      phase = 'off'
      helloTimer.clear()
      ackTimer.clear()
      return undefined
    },

    ended() {
      phase = 'off'
      helloTimer.clear()
      ackTimer.clear()
      sid = null
      reset()
    },
  }
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}
