import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { Clock } from './clock.ts'
import type { CloseInfo } from './close-codes.ts'
import type { SocketError } from './errors.ts'
import type {
  ReconnectReason,
  SessionLost,
  SocketEvents,
  SocketSnapshot,
  SocketStats,
} from './events.ts'
import type { Logger } from './logger.ts'
import type { EntryOwner, QueueEntry, SendResult } from './send-queue.ts'
import type { Envelope, Frame, MessageData } from './wire.ts'

/**
 * The seam between the lifecycle and the features that ride on it (heartbeat, auth,
 * request/response, and later the reliable mode). A feature is an option value built by its
 * own factory (`heartbeat({ intervalMs })`); the socket calls `create(host)` once, and from
 * then on knows the result only as a `Part`. So an application bundles the features it
 * imports and no others, and the lifecycle never names one.
 */
export interface Feature<P extends Part = Part> {
  /** The option key this value belongs under, checked when the socket is created. */
  readonly feature: string
  /** Features this one brings along unless the option is given (the reliable mode's heartbeat). */
  readonly implies?: Readonly<Record<string, Feature>>
  create(host: PartHost): P
}

/** Why a handshake is being prepared: the first attempt, a retry, or a renewal's quiet reconnect. */
export type AttemptReason = 'connect' | 'reconnect' | 'auth-failure' | 'renew'

export interface Handshake {
  url: string
  protocols: string[]
  /** Handshake headers: Node's WebSocket only (browsers cannot set them). */
  headers?: Record<string, string>
}

export interface HandshakeContext {
  reason: AttemptReason
  /** The server refused the last credential (or it is being renewed): do not reuse it. */
  forceRefresh: boolean
  /** Failed attempts in a row before this one. */
  attempt: number
  /** Aborted when the attempt is abandoned (`close()`, connect timeout). */
  signal: AbortSignal
}

/**
 * Hooks, all optional, each called at one fixed point of the lifecycle. A hook that throws
 * is reported as `HANDLER_FAILED` and the socket carries on, except in `handshake` and
 * `opened`, where it fails the attempt (which is retried like any other).
 *
 * Order at every open: each part's `opened()` in option order (so `$auth` is the first frame),
 * then `open` listeners, then the queue.
 */
export interface Part {
  /**
   * The protocol frames (`$…` types) this part handles, each called with the part as `this`
   * (so the table can be one object on the prototype); a `$` type nobody handles is ignored.
   */
  readonly frames?: Readonly<Record<string, (this: Part, envelope: Envelope) => void>>
  /** Carries credentials, so the close codes that refuse them (4001, 4003…) mean "refresh and retry". */
  readonly credentials?: boolean
  /** Amends the handshake of every attempt (a token in the URL, a subprotocol, a header). */
  handshake?(handshake: Handshake, context: HandshakeContext): Handshake | Promise<Handshake>
  /**
   * The connection opened: write its first frames, start its timers. Returning `'wait'`
   * holds the open (no `open` event, no queue) until the part calls `host.ready()`; the
   * connect timeout still runs. At most one part may wait.
   */
  opened?(): unknown
  /** Every inbound frame, before decoding. Returning `true` consumes it (e.g. a custom pong). */
  inbound?(data: MessageData): boolean
  /** A frame went from the queue to the socket. Hot path: record, do not work. */
  written?(): void
  /**
   * Every decoded envelope, protocol or application, before it is routed. Returning `false`
   * drops it (a duplicate). Hot path. At most one part may have it.
   */
  envelope?(envelope: Envelope): boolean
  /**
   * A frame that could not be decoded (reported as `DECODE_FAILED`), for the part that has
   * `envelope`: one that numbers frames accounts for it, so a frame it will never read
   * cannot stall what comes after.
   */
  undecodable?(data: MessageData): void
  /**
   * An application frame on its way from the queue to the socket: returns the frame to write
   * (the reliable mode adds `seq` and `ack`, and keeps it until acknowledged). Hot path. At
   * most one part may have it.
   */
  outbound?(frame: Frame): Frame
  /** While `true`, application frames wait in the queue (a full window); `host.drain()` resumes. */
  blocked?(): boolean
  /** Counters of the part, merged into `socket.stats`. */
  stats?(): Partial<SocketStats>
  /** Whether frames written on a lost connection will be replayed, so nothing in flight is lost. */
  replays?(): boolean
  /**
   * The session was lost (reliable mode): requests sent in it are settled here. Returns
   * the ids resent and rejected, for the `sessionlost` event.
   */
  sessionLost?(): { resent: string[]; rejected: string[] } | undefined
  /** A response (an envelope with `re`). */
  response?(envelope: Envelope): void
  /** While open, the network or the page says the link may have changed: check it now. */
  wake?(): void
  /**
   * An open connection was lost and the socket will reconnect: stop per-connection timers,
   * and return what goes back to the front of the queue.
   */
  lost?(now: number): readonly QueueEntry[] | undefined
  /**
   * The server closed the connection (open, or still held by `opened()`): return an error to
   * end the session with it instead of reconnecting (the reliable mode's 4010, displaced),
   * or nothing to let the close-code table decide.
   */
  finalClose?(close: CloseInfo): SocketError | undefined
  /** The session is over (`close()`, a final close code, giving up): release everything. */
  ended?(error: SocketError): void
  /** Removes secrets this part knows from a text about to be logged or reported. */
  redact?(text: string): string
}

/** What the lifecycle offers its parts. */
export interface PartHost {
  readonly clock: Clock
  readonly logger: Logger
  /** The `validate` option: Standard Schema validators by message type. */
  readonly validators: {
    readonly incoming?: Readonly<Record<string, StandardSchemaV1 | undefined>>
    readonly responses?: Readonly<Record<string, StandardSchemaV1 | undefined>>
  }
  /**
   * The current connection's number: it changes whenever a connection or an attempt ends, so
   * a part that ran user code (which may close the socket) can tell whether it still applies.
   */
  readonly connection: number
  /** `false` once `close()` has started or the session ended. */
  readonly active: boolean
  /** The open socket's `bufferedAmount`, 0 when none is open. */
  readonly buffered: number
  encode(envelope: Envelope): Frame
  /**
   * Writes a protocol frame straight to the open socket, ahead of the queue. `build` runs only
   * if one is open; a throwing builder is reported. Returns whether the frame was written.
   */
  write(build: () => Frame): boolean
  /** Hands an application frame to the queue, as `send()` does. */
  submit(frame: Frame, type: string | undefined, owner?: EntryOwner): SendResult
  update(patch: Partial<SocketSnapshot>): void
  emit<E extends keyof SocketEvents>(event: E, payload: SocketEvents[E]): void
  report(error: SocketError): void
  /** Ends the current connection abnormally (a dead link) and reconnects as after any loss. */
  drop(close: CloseInfo, reason: ReconnectReason): void
  /** Ends the open connection cleanly and connects again at once (a renewed handshake token). */
  reconnect(close: CloseInfo, reason: ReconnectReason): void
  /** Ends the session: `closed`, with `error` as its last error. */
  stop(close: CloseInfo, error: SocketError): void
  /** Releases an open held by `opened()` returning `'wait'`: `open` is announced, then the queue drains. */
  ready(resumed: boolean): void
  /** Writes what waits in the queue, as far as the socket's buffer and the parts allow. */
  drain(): void
  /** Whether a part replays frames written on a lost connection (see `Part.replays`). */
  readonly replays: boolean
  /** Lets every part settle what the lost session held, then emits `sessionlost`. */
  sessionLost(report: Omit<SessionLost, 'resentRequests' | 'rejectedRequests'>): void
}
