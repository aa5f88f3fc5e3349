import type { RawData, WebSocket } from 'ws'
import type { InboundEnvelope, OutboundEnvelope } from './envelope.ts'
import { decodeEnvelope, encodeEnvelope, isRecord } from './envelope.ts'
import type { TokenGrant, TokenStore } from './tokens.ts'

/** What a connection needs from the server around it. */
export interface ConnectionHost {
  readonly tokens: TokenStore
  readonly authTimeoutMs: number
  log(line: string): void
  malformed(connection: Connection): void
  /** Application messages: everything that is not binary and not a `$` type. */
  route(connection: Connection, envelope: InboundEnvelope): void
  closed(connection: Connection): void
}

export interface ConnectionInit {
  id: string
  path: string
  ws: WebSocket
  host: ConnectionHost
  /** `/secure`: no traffic is served until a valid token has been seen. */
  requireAuth: boolean
}

export interface ConnectionStatus {
  id: string
  path: string
  authenticated: boolean
  silenced: boolean
  paused: boolean
  tokenExpiresAt: number | null
}

/** 4001 is the code clients map to "refresh the token, then reconnect" (PROTOCOL.md). */
export const UNAUTHORIZED = 4001

/**
 * One accepted WebSocket: its auth state, and every timer it owns, so that a close or
 * a terminate from any direction leaves nothing scheduled.
 */
export class Connection {
  readonly id: string
  readonly path: string
  readonly #ws: WebSocket
  readonly #host: ConnectionHost
  readonly #timers = new Set<NodeJS.Timeout>()
  #grant: TokenGrant | null = null
  #awaitingAuth: boolean
  #authDeadline: NodeJS.Timeout | null = null
  #expiry: NodeJS.Timeout | null = null
  #silenced = false
  #disposed = false

  constructor(init: ConnectionInit) {
    this.id = init.id
    this.path = init.path
    this.#ws = init.ws
    this.#host = init.host
    this.#awaitingAuth = init.requireAuth

    this.#ws.on('message', (raw, isBinary) => this.#onMessage(raw, isBinary))
    // ws emits 'error' for protocol violations (e.g. a frame over maxPayload) and
    // closes the socket itself; without a listener the error would crash the process.
    this.#ws.on('error', (error) => this.#host.log(`${this.id} socket error: ${error.message}`))
    this.#ws.on('close', (code) => {
      this.#host.log(`${this.id} closed ${code}`)
      this.#dispose()
    })
  }

  /** Applies the token presented at upgrade, or starts the clock for `$auth`. */
  start(presentedToken: string | null): void {
    if (presentedToken !== null) {
      this.#authenticate(this.#host.tokens.verify(presentedToken))
    } else if (this.#awaitingAuth) {
      this.#authDeadline = this.later(this.#host.authTimeoutMs, () => {
        this.#host.log(`${this.id} did not authenticate in time`)
        this.close(UNAUTHORIZED, 'unauthorized')
      })
    }
  }

  get isOpen(): boolean {
    return this.#ws.readyState === this.#ws.OPEN
  }

  get silenced(): boolean {
    return this.#silenced
  }

  status(): ConnectionStatus {
    return {
      id: this.id,
      path: this.path,
      authenticated: this.#grant !== null,
      silenced: this.#silenced,
      paused: this.#ws.isPaused,
      tokenExpiresAt: this.#grant?.expiresAt ?? null,
    }
  }

  /** False when nothing was written: silenced, or no longer open. */
  send(envelope: OutboundEnvelope): boolean {
    return this.sendRaw(encodeEnvelope(envelope), false)
  }

  sendRaw(payload: string | Buffer, binary: boolean): boolean {
    if (this.#silenced || !this.isOpen) return false
    this.#ws.send(payload, { binary })
    return true
  }

  /** A timer that dies with the connection. */
  later(delayMs: number, run: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      run()
    }, delayMs)
    this.#timers.add(timer)
    return timer
  }

  setSilenced(on: boolean): void {
    this.#silenced = on
  }

  /** Stop reading from TCP, so the peer's writes back up into its bufferedAmount. */
  setPaused(on: boolean): void {
    if (on) this.#ws.pause()
    else this.#ws.resume()
  }

  /** Close handshake. Closing is control, not data, so it goes out even when silenced. */
  close(code: number, reason: string): void {
    this.#clearTimers()
    const { readyState } = this.#ws
    if (readyState === this.#ws.CLOSING || readyState === this.#ws.CLOSED) return
    this.#ws.close(code, reason)
  }

  /** TCP destroy without a close frame: what a crash or a dropped link looks like. */
  terminate(): void {
    this.#ws.terminate()
    this.#dispose()
  }

  /** Re-checks the grant after tokens were expired or revoked behind its back. */
  checkGrant(now = Date.now()): void {
    const grant = this.#grant
    if (grant === null) return
    if (grant.revoked) {
      this.close(UNAUTHORIZED, 'token revoked')
    } else if (grant.expiresAt <= now) {
      this.close(UNAUTHORIZED, 'token expired')
    } else {
      this.#scheduleExpiry(grant, now)
    }
  }

  #onMessage(raw: RawData, isBinary: boolean): void {
    // ws still delivers frames that were in flight when we started closing.
    if (!this.isOpen) return
    if (isBinary) {
      if (this.#awaitingAuth) this.#refuse('binary frame before $auth')
      else this.sendRaw(toBuffer(raw), true)
      return
    }
    const envelope = decodeEnvelope(toBuffer(raw).toString('utf8'))
    if (envelope === null) {
      this.#host.malformed(this)
      if (this.#awaitingAuth) this.#refuse('malformed frame before $auth')
      return
    }
    if (envelope.type === '$auth') {
      this.#onAuthMessage(envelope)
    } else if (this.#awaitingAuth) {
      this.#refuse(`"${envelope.type}" before $auth`)
    } else if (envelope.type === '$ping') {
      this.send({ type: '$pong', re: envelope.id })
    } else if (!envelope.type.startsWith('$')) {
      // Other `$` types are reserved for later protocol features (e.g. $ack) and ignored.
      this.#host.route(this, envelope)
    }
  }

  #onAuthMessage(envelope: InboundEnvelope): void {
    const token = isRecord(envelope.data) ? envelope.data.token : undefined
    const grant = this.#host.tokens.verify(token)
    this.#authenticate(grant)
    if (grant !== null && envelope.id !== undefined) {
      this.send({ type: '$auth', re: envelope.id, data: { expiresAt: grant.expiresAt } })
    }
  }

  #authenticate(grant: TokenGrant | null): void {
    if (grant === null) {
      this.#refuse('invalid token')
      return
    }
    this.#grant = grant
    this.#awaitingAuth = false
    this.#clear(this.#authDeadline)
    this.#authDeadline = null
    this.#scheduleExpiry(grant, Date.now())
  }

  #scheduleExpiry(grant: TokenGrant, now: number): void {
    this.#clear(this.#expiry)
    this.#expiry = this.later(Math.max(0, grant.expiresAt - now), () => {
      this.#expiry = null
      this.checkGrant()
    })
  }

  #refuse(why: string): void {
    this.#host.log(`${this.id} unauthorized: ${why}`)
    this.close(UNAUTHORIZED, 'unauthorized')
  }

  #clear(timer: NodeJS.Timeout | null): void {
    if (timer === null) return
    clearTimeout(timer)
    this.#timers.delete(timer)
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#authDeadline = null
    this.#expiry = null
  }

  #dispose(): void {
    this.#clearTimers()
    if (this.#disposed) return
    this.#disposed = true
    this.#host.closed(this)
  }
}

function toBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw
  if (Array.isArray(raw)) return Buffer.concat(raw)
  return Buffer.from(raw)
}
