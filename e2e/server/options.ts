import { randomBytes } from 'node:crypto'
import { isLoopbackOrigin } from './guard.ts'
import type { ReliableOptions } from './routes.ts'

/** Options of the reference server. Every field is optional; `null` means the default too. */
export interface ServerOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number
  /** Interface to bind. Keep it on loopback: the server has no real security. @default '127.0.0.1' */
  host?: string
  /**
   * Origins whose pages may open a WebSocket, fetch `/token` and call `/control/*`
   * (CORS is answered for these only). Checked when the request carries an Origin header:
   * browsers always send one, Node clients do not. A disallowed origin gets HTTP 403,
   * before anything happens. The server's own origin (pages it serves) is always allowed.
   * To add origins, keep the default in: `(o) => isLoopbackOrigin(o) || o === 'https://app.test'`.
   * Allowing every origin (`() => true`) lets any web page drive the server.
   * @default isLoopbackOrigin: http(s)://localhost, 127.0.0.1 or [::1], any port
   */
  allowedOrigins?: readonly string[] | ((origin: string) => boolean) | null
  /**
   * The secret the HTTP control API requires, as `Authorization: Bearer <secret>`; read it
   * back from `server.controlSecret`. At least 16 characters. The in-process
   * `server.control` needs none.
   * @default 32 random bytes, base64url, new for every startServer()
   */
  controlSecret?: string | null
  /** Largest accepted frame; bigger ones close the socket with 1009. @default 1_048_576 */
  maxPayloadBytes?: number
  /** Lifetime of tokens issued without an explicit ttl. @default 60_000 */
  tokenTtlMs?: number
  /** How long a `/secure` connection may stay open without authenticating. @default 5000 */
  authTimeoutMs?: number
  /**
   * Reliable sessions (a client whose first frame is `$hello` or `$resume`), kept in a memory
   * store: the companion's session settings, or `false` to treat those frames as plain.
   * @default {} (on, with the companion's defaults)
   */
  reliable?: ReliableOptions | false
  /** URL prefix → directory, served read-only over HTTP GET/HEAD. @default {} */
  static?: Readonly<Record<string, string>>
  /** Receives one line per connection event or fault. Never given tokens. @default silent */
  log?: (line: string) => void
}

export interface ResolvedOptions {
  port: number
  host: string
  isOriginAllowed: (origin: string) => boolean
  controlSecret: string
  maxPayloadBytes: number
  tokenTtlMs: number
  authTimeoutMs: number
  reliable: ReliableOptions | false
  staticDirs: Readonly<Record<string, string>>
  log: (line: string) => void
}

const silent = (): void => {}

export function resolveServerOptions(options: ServerOptions = {}): ResolvedOptions {
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${String(options.port)}`)
  }
  return {
    port,
    host: options.host ?? '127.0.0.1',
    isOriginAllowed: originPredicate(options.allowedOrigins ?? null),
    controlSecret: controlSecret(options.controlSecret ?? null),
    maxPayloadBytes: positiveInt('maxPayloadBytes', options.maxPayloadBytes, 1024 * 1024),
    tokenTtlMs: positiveInt('tokenTtlMs', options.tokenTtlMs, 60_000),
    authTimeoutMs: positiveInt('authTimeoutMs', options.authTimeoutMs, 5000),
    reliable: options.reliable ?? {},
    staticDirs: options.static ?? {},
    log: options.log ?? silent,
  }
}

function originPredicate(allowed: ServerOptions['allowedOrigins']): (origin: string) => boolean {
  if (allowed == null) return isLoopbackOrigin
  if (typeof allowed === 'function') return allowed
  const set = new Set(allowed)
  return (origin) => set.has(origin)
}

/** Short enough to guess is as good as none: a page can try thousands per second. */
const MIN_SECRET_LENGTH = 16

function controlSecret(given: string | null): string {
  if (given === null) return randomBytes(32).toString('base64url')
  if (typeof given !== 'string' || given.length < MIN_SECRET_LENGTH) {
    throw new RangeError(
      `controlSecret must be a string of at least ${MIN_SECRET_LENGTH} characters`,
    )
  }
  return given
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}
