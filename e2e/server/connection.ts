import type { WebSocket } from 'ws'
import type { ConnectionContext } from '../../server/index.ts'
import type { WsSocket } from '../../server/ws.ts'
import type { TokenGrant } from './tokens.ts'

export interface ConnectionStatus {
  id: string
  path: string
  authenticated: boolean
  silenced: boolean
  paused: boolean
  tokenExpiresAt: number | null
}

/** 4001 is the code clients map to "refresh the token, then reconnect" (PROTOCOL.md §6). */
export const UNAUTHORIZED = 4001

/**
 * What the reference server keeps about one accepted WebSocket, next to the companion that
 * speaks the protocol on it: the raw socket (for the faults: drop, pause, raw frames), the
 * socket the companion writes through (muted by `silence`), and the token grant it was let
 * in with (so that expiring or revoking tokens reaches it).
 */
export class Connection {
  readonly id: string
  readonly path: string
  readonly ws: WebSocket
  /** Handed to the companion's `ws` adapter instead of `ws`: its writes stop while silenced. */
  readonly socket: WsSocket
  /** The companion's view of this connection, set as soon as it opened it. */
  context: ConnectionContext | undefined
  grant: TokenGrant | null = null
  #silenced = false

  constructor(id: string, path: string, ws: WebSocket) {
    this.id = id
    this.path = path
    this.ws = ws
    this.socket = {
      get readyState() {
        return ws.readyState
      },
      send: (data, options) => {
        if (!this.#silenced) ws.send(data, options ?? {})
      },
      // Closing is control, not data, so it goes out even when silenced.
      close: (code, reason) => ws.close(code, reason),
      on: ((event: string, listener: (...args: unknown[]) => void) =>
        ws.on(event, listener)) as unknown as WsSocket['on'],
    }
  }

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN
  }

  get silenced(): boolean {
    return this.#silenced
  }

  setSilenced(on: boolean): void {
    this.#silenced = on
  }

  /** Stop reading from TCP, so the peer's writes back up into its bufferedAmount. */
  setPaused(on: boolean): void {
    if (on) this.ws.pause()
    else this.ws.resume()
  }

  /** A frame written as is, past the protocol. False when nothing was written: silenced, or not open. */
  sendRaw(payload: string | Uint8Array): boolean {
    if (this.#silenced || !this.isOpen) return false
    this.ws.send(payload, { binary: typeof payload !== 'string' })
    return true
  }

  /** Close handshake, through the companion (which acks what it committed first, in a session). */
  close(code: number, reason: string): void {
    if (this.context !== undefined) this.context.close(code, reason)
    else this.ws.close(code, reason)
  }

  /** TCP destroy without a close frame: what a crash or a dropped link looks like. */
  terminate(): void {
    this.ws.terminate()
  }

  /** Closes with 4001 when the grant it was let in with was expired or revoked behind its back. */
  checkGrant(now = Date.now()): void {
    const grant = this.grant
    if (grant === null || !this.isOpen) return
    if (grant.revoked) this.close(UNAUTHORIZED, 'token revoked')
    else if (grant.expiresAt <= now) this.close(UNAUTHORIZED, 'token expired')
  }

  status(): ConnectionStatus {
    return {
      id: this.id,
      path: this.path,
      authenticated: this.grant !== null,
      silenced: this.#silenced,
      paused: this.ws.isPaused,
      tokenExpiresAt: this.grant?.expiresAt ?? null,
    }
  }
}
