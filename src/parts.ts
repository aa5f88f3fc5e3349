import type { CloseInfo } from './close-codes.ts'
import { handlerFailed, invalidOption, type SocketError } from './errors.ts'
import type { SocketStats } from './events.ts'
import type { Feature, Handshake, HandshakeContext, Part, PartHost } from './part.ts'
import type { RequestsPart } from './requests.ts'
import type { QueueEntry } from './send-queue.ts'
import type { Envelope, Frame, MessageData } from './wire.ts'

/**
 * The parts of one socket, behind the calls the lifecycle makes at its fixed points (see
 * `Part`). Every hook runs isolated: a part that throws is reported as `HANDLER_FAILED` and
 * the others, and the socket, carry on. A class: every socket owns one, parts or not.
 */
export class Parts {
  readonly #all: readonly Part[]
  /** The parts with a per-frame hook, apart: the hot paths loop over these only. */
  readonly #inbound: readonly Part[]
  readonly #written: readonly Part[]
  /** Inbound protocol frames (`$…`) by type, to the part that handles them (a record: lighter than a Map). */
  readonly #frames: Record<string, Part> = NO_FRAMES
  /** Where failures of the parts are reported; a socket without parts has none. */
  readonly #host: PartHost | undefined
  /** The part behind `request()`, if the socket has one. */
  readonly requests: RequestsPart | undefined
  /** Some part carries credentials: the close codes that refuse them mean "refresh and retry". */
  readonly credentials: boolean
  /** Some part amends the handshake; without one an attempt starts synchronously. */
  readonly amendsHandshake: boolean
  /** The parts that may hold the queue back (a window); usually none. */
  readonly #blockers: readonly Part[] = NONE
  /** Whether any part rewrites outbound frames, holds the queue, or hears of writes: the queue skips the calls otherwise. */
  readonly rewrites: boolean = false
  readonly holds: boolean = false
  readonly hears: boolean = false
  /** The one part that sees every envelope, the one that rewrites outbound frames (the reliable mode). */
  readonly #envelope: Part | undefined
  readonly #outbound: Part | undefined

  constructor(features: readonly Feature[], host: () => PartHost) {
    // A plain socket shares one empty list and makes no host and no table: it stays small.
    if (features.length === 0) {
      this.#all = this.#inbound = this.#written = NONE
      this.credentials = this.amendsHandshake = false
      return
    }
    const view = host()
    this.#host = view
    const all = features.map((feature) => feature.create(view))
    // A plain object: every key is a `$` name, which no Object.prototype key is.
    const frames: Record<string, Part> = {}
    for (const part of all) {
      for (const type in part.frames) {
        if (frames[type]) throw invalidOption(`"${type}" is handled by two parts`)
        frames[type] = part
      }
    }
    this.#frames = frames
    // The same list when every part has the hook (the usual case): one array fewer per socket.
    const having = (hook: 'inbound' | 'written') => {
      const some = all.filter((part) => part[hook])
      return some.length === all.length ? all : some
    }
    this.#all = all
    this.#inbound = having('inbound')
    this.#written = having('written')
    this.#blockers = all.filter((part) => part.blocked)
    this.holds = this.#blockers.length > 0
    this.#envelope = only(all, 'envelope')
    this.#outbound = only(all, 'outbound')
    this.rewrites = this.#outbound !== undefined
    this.hears = this.#written.length > 0
    this.requests = all.find((part): part is RequestsPart => 'request' in part)
    this.credentials = all.some((part) => part.credentials)
    this.amendsHandshake = all.some((part) => part.handshake)
  }

  /** Each part amends the handshake in turn; `stale()` says the attempt was abandoned meanwhile. */
  async handshake(
    handshake: Handshake,
    context: HandshakeContext,
    stale: () => boolean,
  ): Promise<Handshake> {
    for (const part of this.#all) {
      if (!part.handshake) continue
      handshake = await part.handshake(handshake, context)
      if (stale()) break
    }
    return handshake
  }

  /**
   * Each part's first frames, in option order (`$auth` first). Throws what a part threw, after
   * stopping those already started: the attempt fails, as with a throwing token provider.
   */
  opened(stale: () => boolean): 'wait' | undefined {
    let wait: 'wait' | undefined
    for (const part of this.#all) {
      try {
        if (part.opened?.() === 'wait') wait = 'wait'
      } catch (error) {
        this.lost(0)
        throw error
      }
      if (stale()) return undefined
    }
    return wait
  }

  /** Hot path. Whether the envelope goes on to be routed (`false`: a duplicate, or refused). */
  envelope(envelope: Envelope): boolean {
    const part = this.#envelope
    if (!part) return true
    try {
      return (part.envelope as (envelope: Envelope) => boolean).call(part, envelope)
    } catch (error) {
      this.#fail(handlerFailed(`a part's envelope()`, error))
      return true
    }
  }

  /** Hot path: the frame to write for an application frame. */
  outbound(frame: Frame): Frame {
    const part = this.#outbound
    // Not isolated: a part that cannot stamp a frame must not let it out unstamped. The
    // queue's write reports it and keeps the frame.
    return part ? (part.outbound as (frame: Frame) => Frame).call(part, frame) : frame
  }

  /** Whether a part holds application frames back (a full window). */
  blocked(): boolean {
    for (const part of this.#blockers) if (this.#call(part, 'blocked')) return true
    return false
  }

  /** What the parts count, for `socket.stats`. */
  stats(): Partial<SocketStats> {
    let merged: Partial<SocketStats> = {}
    for (const part of this.#all)
      if (part.stats) merged = { ...merged, ...this.#call(part, 'stats') }
    return merged
  }

  replays(): boolean {
    for (const part of this.#all) if (part.replays && this.#call(part, 'replays')) return true
    return false
  }

  /** Every part settles what the lost session held; the request ids resent and rejected. */
  sessionLost(): { resent: string[]; rejected: string[] } {
    const settled = { resent: [] as string[], rejected: [] as string[] }
    for (const part of this.#all) {
      const ids = part.sessionLost && this.#call(part, 'sessionLost')
      if (!ids) continue
      settled.resent.push(...ids.resent)
      settled.rejected.push(...ids.rejected)
    }
    return settled
  }

  /** Hot path. Whether a part consumed the frame (a custom pong). */
  inbound(data: MessageData): boolean {
    for (const part of this.#inbound) {
      try {
        if ((part.inbound as (data: MessageData) => boolean)(data)) return true
      } catch (error) {
        this.#fail(handlerFailed(`a part's inbound()`, error))
      }
    }
    return false
  }

  /** A frame that failed to decode, to the part that sees every envelope. */
  undecodable(data: MessageData): void {
    const part = this.#envelope
    if (part?.undecodable) this.#call(part, 'undecodable', data)
  }

  /** Hot path. */
  written(): void {
    for (const part of this.#written) {
      try {
        ;(part.written as () => void)()
      } catch (error) {
        this.#fail(handlerFailed(`a part's written()`, error))
      }
    }
  }

  /** A protocol frame: to the part that handles its type; nobody's is ignored. */
  frame(envelope: Envelope): void {
    const part = this.#frames[envelope.type]
    try {
      part?.frames?.[envelope.type]?.call(part, envelope)
    } catch (error) {
      this.#fail(handlerFailed(`the part handling "${envelope.type}"`, error))
    }
  }

  response(envelope: Envelope): void {
    this.#each('response', envelope)
  }

  wake(): void {
    this.#each('wake')
  }

  /** What the parts put back at the front of the queue after an open connection was lost. */
  lost(now: number): QueueEntry[] {
    const entries: QueueEntry[] = []
    for (const part of this.#all) {
      const requeued = part.lost && this.#call(part, 'lost', now)
      if (requeued) entries.push(...requeued)
    }
    return entries
  }

  /** The first error a part ends the session with for this close, if any. */
  finalClose(close: CloseInfo): SocketError | undefined {
    for (const part of this.#all) {
      const error = part.finalClose && this.#call(part, 'finalClose', close)
      if (error) return error
    }
    return undefined
  }

  ended(error: SocketError): void {
    this.#each('ended', error)
  }

  redact(text: string): string {
    for (const part of this.#all) if (part.redact) text = this.#call(part, 'redact', text) ?? text
    return text
  }

  #fail(error: SocketError): void {
    this.#host?.report(error)
  }

  #each<K extends Hook>(hook: K, ...args: Parameters<NonNullable<Part[K]>>): void {
    for (const part of this.#all) if (part[hook]) this.#call(part, hook, ...args)
  }

  #call<K extends Hook>(
    part: Part,
    hook: K,
    ...args: Parameters<NonNullable<Part[K]>>
  ): ReturnType<NonNullable<Part[K]>> | undefined {
    try {
      return (part[hook] as (...args: unknown[]) => ReturnType<NonNullable<Part[K]>>).apply(
        part,
        args,
      )
    } catch (error) {
      this.#fail(handlerFailed(`a part's ${hook}()`, error))
      return undefined
    }
  }
}

type Hook =
  | 'undecodable'
  | 'response'
  | 'wake'
  | 'lost'
  | 'ended'
  | 'redact'
  | 'blocked'
  | 'replays'
  | 'sessionLost'
  | 'stats'
  | 'finalClose'

/** The one part with `hook`; two are refused (two parts cannot both rewrite the same frame). */
function only(all: readonly Part[], hook: 'envelope' | 'outbound'): Part | undefined {
  const having = all.filter((part) => part[hook])
  if (having.length > 1) throw invalidOption(`two parts have ${hook}(): combine them into one`)
  return having[0]
}

const NONE: readonly Part[] = []
const NO_FRAMES: Record<string, Part> = {}
