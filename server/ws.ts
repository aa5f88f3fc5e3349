import type { IncomingMessage } from 'node:http'
import type { SocketServer } from './server.ts'

/**
 * The parts of a `ws` WebSocket the adapter uses, written out so that the types of this
 * entry need neither `ws` nor `@types/ws` (both stay optional).
 */
export interface WsSocket {
  readonly readyState: number
  send(data: string | Uint8Array, options?: { binary?: boolean }): void
  close(code?: number, reason?: string): void
  on(event: 'message', listener: (data: WsData, isBinary: boolean) => void): unknown
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
}

/** What `ws` hands a message listener (`Buffer`, `ArrayBuffer` or fragments, by `binaryType`). */
export type WsData = Buffer | ArrayBuffer | Buffer[]

/** The parts of a `ws` WebSocketServer the adapter uses. */
export interface WsServer {
  on(event: 'connection', listener: (socket: WsSocket, request: IncomingMessage) => void): unknown
  off(event: 'connection', listener: (socket: WsSocket, request: IncomingMessage) => void): unknown
}

export interface AttachOptions {
  /**
   * Finds a token in the upgrade request; `undefined` means none (auth then travels in
   * `$auth`). Return `undefined` always to accept tokens in messages only.
   * @default tokenFromRequest: `access_token` query parameter, `access_token.<token>` subprotocol, `Authorization: Bearer`
   */
  token?: (request: IncomingMessage) => string | undefined
}

/** The subprotocol entry a browser client puts its token in (PROTOCOL.md §6). */
const TOKEN_PROTOCOL_PREFIX = 'access_token.'

/**
 * The token a client presented in its upgrade request (PROTOCOL.md §6): the `access_token`
 * query parameter, then an `access_token.<token>` subprotocol entry, then
 * `Authorization: Bearer <token>`.
 */
export function tokenFromRequest(request: IncomingMessage): string | undefined {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const fromQuery = url.searchParams.get('access_token')
  if (fromQuery !== null && fromQuery !== '') return fromQuery
  const offered = request.headers['sec-websocket-protocol']
  if (offered !== undefined) {
    for (const entry of offered.split(',')) {
      const protocol = entry.trim()
      if (
        protocol.startsWith(TOKEN_PROTOCOL_PREFIX) &&
        protocol.length > TOKEN_PROTOCOL_PREFIX.length
      ) {
        return protocol.slice(TOKEN_PROTOCOL_PREFIX.length)
      }
    }
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
  return match?.[1]
}

/**
 * For `new WebSocketServer({ handleProtocols: selectProtocol })`. RFC 6455 §4.2.2: the server
 * picks one offered protocol, and a browser that offered some fails the handshake when none
 * is picked. An application protocol wins; when only the token entry was offered, it is
 * echoed (the token is then also in the response header, as it was in the request).
 */
export function selectProtocol(offered: ReadonlySet<string>): string | false {
  let tokenOnly: string | false = false
  for (const protocol of offered) {
    if (!protocol.startsWith(TOKEN_PROTOCOL_PREFIX)) return protocol
    if (tokenOnly === false) tokenOnly = protocol
  }
  return tokenOnly
}

const OPEN = 1

function text(data: WsData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

/**
 * Serves the protocol on every connection of a `ws` WebSocketServer. Returns the detach:
 * it stops taking new connections and closes the ones it took with 1001 (their sessions
 * stay, detached). Set the server's `maxPayload` too: `ws` then refuses a huge frame before
 * buffering it.
 */
export function attach<U>(
  wss: WsServer,
  server: SocketServer<U>,
  options: AttachOptions = {},
): () => void {
  const findToken = options.token ?? tokenFromRequest
  const taken = new Set<WsSocket>()
  const onConnection = (socket: WsSocket, request: IncomingMessage): void => {
    taken.add(socket)
    let token: string | undefined
    try {
      token = findToken(request)
    } catch {
      token = undefined
    }
    const hooks = server.opened(
      {
        send: (frame) => {
          if (socket.readyState === OPEN) socket.send(frame, { binary: typeof frame !== 'string' })
        },
        close: (code, reason) => socket.close(code, reason),
      },
      { extra: { request }, token },
    )
    socket.on('message', (data, isBinary) => {
      const bytes = text(data)
      hooks.message(
        isBinary
          ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
          : bytes.toString('utf8'),
      )
    })
    socket.on('close', (code, reason) => {
      taken.delete(socket)
      hooks.closed(code, reason.toString('utf8'))
    })
    // ws emits 'error' for protocol violations (a frame over maxPayload, bad UTF-8) and then
    // closes the socket itself; without a listener the error would crash the process.
    socket.on('error', () => {})
  }
  wss.on('connection', onConnection)
  return () => {
    wss.off('connection', onConnection)
    for (const socket of [...taken]) socket.close(1001, 'going away')
  }
}
