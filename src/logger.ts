/**
 * Where the library writes its diagnostics. Silent by default. Tokens are never passed
 * to a logger, URLs are passed with their token redacted, and message payloads only
 * ever appear when the caller put them into a log line of their own.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

const noop = (): void => {}

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }

/** A logger that writes to `console` with a prefix. `debug` lines are included only if asked. */
export function consoleLogger(prefix = '[resilient-socket]', { debug = false } = {}): Logger {
  return {
    debug: debug ? (m, f) => console.debug(prefix, m, f ?? '') : noop,
    info: (m, f) => console.info(prefix, m, f ?? ''),
    warn: (m, f) => console.warn(prefix, m, f ?? ''),
    error: (m, f) => console.error(prefix, m, f ?? ''),
  }
}
