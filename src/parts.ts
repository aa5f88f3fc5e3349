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
  /** Inbound protocol frames (`$…`) by type, to the part that handles them. */
  readonly #frames = new Map<string, (envelope: Envelope) => void>()
  readonly #report: (error: SocketError) => void
  /** The part behind `request()`, if the socket has one. */
  readonly requests: RequestsPart | undefined
  /** Some part carries credentials: the close codes that refuse them mean "refresh and retry". */
  readonly credentials: boolean
  /** Some part amends the handshake; without one an attempt starts synchronously. */
  readonly amendsHandshake: boolean

  constructor(
    features: readonly Feature[],
    host: () => PartHost,
    report: (error: SocketError) => void,
  ) {
    // The host is made only for sockets with parts: a plain socket stays small.
    const view = features.length > 0 ? host() : undefined
    const all = features.map((feature) => feature.create(view as PartHost))
    for (const part of all) {
      for (const [type, handle] of Object.entries(part.frames ?? {})) {
        if (this.#frames.has(type)) throw invalidOption(`"${type}" is handled by two parts`)
        this.#frames.set(type, handle)
      }
    }
    this.#all = all
    this.#inbound = all.filter((part) => part.inbound)
    this.#written = all.filter((part) => part.written)
    this.#report = report
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
        this.#report(handlerFailed(`a part's inbound()`, error))
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
        this.#report(handlerFailed(`a part's written()`, error))
      }
    }
  }

  /** A protocol frame: to the part that handles its type; nobody's is ignored. */
  frame(envelope: Envelope): void {
    const handle = this.#frames.get(envelope.type)
    try {
      handle?.(envelope)
    } catch (error) {
      this.#report(handlerFailed(`the part handling "${envelope.type}"`, error))
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
      this.#report(handlerFailed(`a part's ${hook}()`, error))
      return undefined
    }
  }
}

type Hook = 'response' | 'wake' | 'lost' | 'ended' | 'redact'
