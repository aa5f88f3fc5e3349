import type { Clock } from './clock.ts'
import type { SocketError } from './errors.ts'
import type { SocketEventName, SocketEvents, SocketSnapshot } from './events.ts'
import type { Logger } from './logger.ts'
import type { ResolvedOptions } from './options.ts'
import type { PartHost } from './part.ts'
import type { SendResult } from './send-queue.ts'
import type { Envelope, Frame } from './wire.ts'

/**
 * How `SocketHost` reaches into its socket's private state. The socket provides it from its
 * static block, the one place where its private fields are in scope; `S` is the socket's
 * class, opaque here so that this module does not import it.
 */
export interface Reach<S> {
  options(socket: S): ResolvedOptions
  generation(socket: S): number
  active(socket: S): boolean
  buffered(socket: S): number
  encode(socket: S, envelope: Envelope): Frame
  write(socket: S, build: () => Frame): boolean
  submit(socket: S, ...args: Parameters<PartHost['submit']>): SendResult
  update(socket: S, patch: Partial<SocketSnapshot>): void
  emit(socket: S, event: SocketEventName, payload: unknown): void
  report(socket: S, error: SocketError): void
  drop(socket: S, ...args: Parameters<PartHost['drop']>): void
  reconnect(socket: S, ...args: Parameters<PartHost['reconnect']>): void
  stop(socket: S, ...args: Parameters<PartHost['stop']>): void
  ready(socket: S, resumed: boolean): void
  drain(socket: S): void
  replays(socket: S): boolean
  sessionLost(socket: S, ...args: Parameters<PartHost['sessionLost']>): void
}

let reach: Reach<object>

/** Called once by the socket class, from its static block. */
export function provideReach<S extends object>(given: Reach<S>): void {
  reach = given as unknown as Reach<object>
}

/**
 * The parts' view of one socket (see `PartHost`). A class over the socket, not an object of
 * closures: its methods live on the prototype, so a socket with parts pays one small object
 * of heap for it, not a closure per method.
 */
export class SocketHost implements PartHost {
  readonly #socket: object

  constructor(socket: object) {
    this.#socket = socket
  }

  get clock(): Clock {
    return reach.options(this.#socket).clock
  }
  get logger(): Logger {
    return reach.options(this.#socket).logger
  }
  get validators(): PartHost['validators'] {
    return reach.options(this.#socket).validate
  }
  get connection(): number {
    return reach.generation(this.#socket)
  }
  get active(): boolean {
    return reach.active(this.#socket)
  }
  get buffered(): number {
    return reach.buffered(this.#socket)
  }
  encode(envelope: Envelope): Frame {
    return reach.encode(this.#socket, envelope)
  }
  write(build: () => Frame): boolean {
    return reach.write(this.#socket, build)
  }
  submit(...args: Parameters<PartHost['submit']>): SendResult {
    return reach.submit(this.#socket, ...args)
  }
  update(patch: Partial<SocketSnapshot>): void {
    reach.update(this.#socket, patch)
  }
  emit<E extends SocketEventName>(event: E, payload: SocketEvents[E]): void {
    reach.emit(this.#socket, event, payload)
  }
  report(error: SocketError): void {
    reach.report(this.#socket, error)
  }
  drop(...args: Parameters<PartHost['drop']>): void {
    reach.drop(this.#socket, ...args)
  }
  reconnect(...args: Parameters<PartHost['reconnect']>): void {
    reach.reconnect(this.#socket, ...args)
  }
  stop(...args: Parameters<PartHost['stop']>): void {
    reach.stop(this.#socket, ...args)
  }
  ready(resumed: boolean): void {
    reach.ready(this.#socket, resumed)
  }
  drain(): void {
    reach.drain(this.#socket)
  }
  get replays(): boolean {
    return reach.replays(this.#socket)
  }
  sessionLost(...args: Parameters<PartHost['sessionLost']>): void {
    reach.sessionLost(this.#socket, ...args)
  }
}
