import { handlerFailed, invalidOption, type SocketError } from './errors.ts'
import type { Feature, Handshake, HandshakeContext, Part, PartHost } from './part.ts'
import type { RequestsPart } from './requests.ts'
import type { QueueEntry } from './send-queue.ts'
import type { Envelope, MessageData } from './wire.ts'

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
  opened(stale: () => boolean): void {
    for (const part of this.#all) {
      try {
        part.opened?.()
      } catch (error) {
        this.lost(0)
        throw error
      }
      if (stale()) return
    }
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

type Hook = 'response' | 'wake' | 'lost' | 'ended' | 'redact'

const NONE: readonly Part[] = []
const NO_FRAMES: Record<string, Part> = {}
