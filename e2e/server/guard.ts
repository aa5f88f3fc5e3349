import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/**
 * The pages the server is for: the playground on Vite, Playwright's pages, the server's
 * own static files, all on a loopback name and any port.
 */
const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/

/** True for `http(s)://localhost|127.0.0.1|[::1]` with any port: the default allow-list. */
export function isLoopbackOrigin(origin: string): boolean {
  return LOOPBACK_ORIGIN.test(origin)
}

export interface RequestGuard {
  /**
   * False when the Host header is a DNS name other than localhost or the bound host. A page
   * whose name was re-pointed at 127.0.0.1 (DNS rebinding) is same-origin with itself, so
   * only the Host header gives it away.
   */
  hostAllowed(request: IncomingMessage): boolean
  /**
   * Whether a browser page may use this request's answer: its Origin is allowed, or it
   * has none and is not a cross-site subresource load. Non-browser clients send neither
   * header and pass.
   */
  originAllowed(request: IncomingMessage): boolean
  /** The Origin to name in Access-Control-Allow-Origin, or null for no CORS at all. */
  corsOrigin(request: IncomingMessage): string | null
  /** `Authorization: Bearer <controlSecret>`, compared in constant time. */
  hasControlSecret(request: IncomingMessage): boolean
}

export interface GuardOptions {
  bindHost: string
  isOriginAllowed: (origin: string) => boolean
  controlSecret: string
}

export function createRequestGuard({
  bindHost,
  isOriginAllowed,
  controlSecret,
}: GuardOptions): RequestGuard {
  const boundName = bindHost.toLowerCase()
  const secretDigest = digest(controlSecret)

  const hostAllowed = (request: IncomingMessage): boolean => {
    const host = request.headers.host
    // HTTP/1.0 clients may omit it; browsers never do.
    if (host === undefined) return true
    const name = hostName(host)
    if (name === null) return false
    return (
      isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || name === boundName
    )
  }

  const listed = (origin: string): boolean => {
    try {
      return isOriginAllowed(origin)
    } catch {
      return false
    }
  }

  const originAllowed = (request: IncomingMessage): boolean => {
    const { origin } = request.headers
    if (origin === undefined) {
      // `<img src>` / `<script src>` from another page send no Origin; Fetch Metadata says
      // where they come from. Allowed pages use fetch(), which always sends an Origin.
      const site = request.headers['sec-fetch-site']
      return site === undefined || site === 'same-origin' || site === 'none'
    }
    // A page this server serves itself is same-origin with it, whatever the allow-list says.
    // Safe only because hostAllowed() has already ruled out a rebound name in Host.
    const own = request.headers.host
    if (own !== undefined && origin.toLowerCase() === `http://${own.toLowerCase()}`) return true
    return listed(origin)
  }

  return {
    hostAllowed,
    originAllowed,
    corsOrigin: (request) => {
      const { origin } = request.headers
      return origin !== undefined && originAllowed(request) ? origin : null
    },
    hasControlSecret: (request) => {
      const match = /^Bearer ([^\s,]+)$/i.exec(request.headers.authorization ?? '')
      if (match?.[1] === undefined) return false
      return timingSafeEqual(digest(match[1]), secretDigest)
    },
  }
}

/** Equal-length inputs for timingSafeEqual, so the secret's length does not leak either. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** The lower-case name or address in a Host header, without port and brackets; null if malformed. */
function hostName(host: string): string | null {
  const trimmed = host.trim().toLowerCase()
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']')
    if (end < 0) return null
    const address = trimmed.slice(1, end)
    return isIP(address) === 6 ? address : null
  }
  const colon = trimmed.indexOf(':')
  const name = colon === -1 ? trimmed : trimmed.slice(0, colon)
  return name === '' ? null : name
}
