import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocketServer } from 'ws'
import { tokenFromRequest } from '../../server/index.ts'
import type { Connection } from './connection.ts'
import type { RequestGuard } from './guard.ts'
import { requestUrl } from './http-util.ts'
import type { Hub } from './hub.ts'
import type { Refusal } from './refusal.ts'

export interface UpgradeDeps {
  wss: WebSocketServer
  hub: Hub
  refusal: Refusal
  guard: RequestGuard
  /** Hands the accepted socket to the companion, which speaks the protocol on it. */
  accept(connection: Connection, request: IncomingMessage): void
}

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * Decides at the HTTP level whether a WebSocket may open. Auth is deliberately not
 * decided here: a browser reports any refused handshake as a bare 1006, so bad tokens
 * are accepted and then closed with 4001, which the client can tell apart.
 */
export function createUpgradeHandler({
  wss,
  hub,
  refusal,
  guard,
  accept,
}: UpgradeDeps): UpgradeHandler {
  return (request, socket, head) => {
    // A client that resets mid-handshake must not take the process down.
    socket.on('error', () => socket.destroy())

    // Browsers send an Origin with every WebSocket handshake and no CORS applies to it,
    // so this check is all that keeps another site's page off the echo server.
    if (!guard.hostAllowed(request)) {
      hub.log(`rejected an upgrade for host ${JSON.stringify(request.headers.host)}`)
      return rejectHandshake(socket, 403, {})
    }
    if (!guard.originAllowed(request)) {
      hub.log(`rejected an upgrade from origin ${JSON.stringify(request.headers.origin ?? null)}`)
      return rejectHandshake(socket, 403, {})
    }
    const retryAfterMs = refusal.remainingMs()
    if (retryAfterMs > 0) {
      hub.log('refused an upgrade (refuse fault active)')
      return rejectHandshake(socket, 503, { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) })
    }
    const { pathname } = requestUrl(request)
    // The companion's adapter finds the token itself; this is for the log line only.
    const withToken = tokenFromRequest(request) !== undefined
    wss.handleUpgrade(request, socket, head, (ws) => {
      accept(hub.accept(ws, request, pathname, withToken), request)
    })
  }
}

function rejectHandshake(socket: Duplex, status: number, headers: Record<string, string>): void {
  const body = STATUS_CODES[status] ?? 'error'
  const head = [
    `HTTP/1.1 ${status} ${body}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ]
  socket.once('finish', () => socket.destroy())
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`)
}
