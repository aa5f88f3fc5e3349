import type { IncomingMessage } from 'node:http'

/**
 * Browsers cannot set headers on a WebSocket, so a token rides in a subprotocol
 * entry `access_token.<token>` (base64url is valid in a protocol token).
 */
export const AUTH_PROTOCOL_PREFIX = 'access_token.'
export const AUTH_QUERY_PARAM = 'access_token'

/**
 * RFC 6455 §4.2.2: the server picks one offered protocol. Pick a real one when there
 * is one; when only the auth entry was offered, echo it, because a browser that
 * offered protocols fails the handshake if the server selects none.
 */
export function selectProtocol(offered: ReadonlySet<string>): string | false {
  let authOnly: string | false = false
  for (const protocol of offered) {
    if (!protocol.startsWith(AUTH_PROTOCOL_PREFIX)) return protocol
    if (authOnly === false) authOnly = protocol
  }
  return authOnly
}

/** The token presented at upgrade (query, then subprotocol, then header), or null. */
export function presentedToken(request: IncomingMessage, url: URL): string | null {
  const fromQuery = url.searchParams.get(AUTH_QUERY_PARAM)
  if (fromQuery !== null) return fromQuery

  const offered = request.headers['sec-websocket-protocol']
  if (offered !== undefined) {
    for (const entry of offered.split(',')) {
      const protocol = entry.trim()
      if (protocol.startsWith(AUTH_PROTOCOL_PREFIX))
        return protocol.slice(AUTH_PROTOCOL_PREFIX.length)
    }
  }

  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
  return match?.[1] ?? null
}

/** The request URL without trusting the Host header (it only ever names us). */
export function requestUrl(request: IncomingMessage): URL {
  return new URL(request.url ?? '/', 'http://localhost')
}
