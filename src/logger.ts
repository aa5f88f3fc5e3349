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
  // `console[level]` is looked up per line, so a console patched later still receives it.
  const to =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void =>
      console[level](prefix, message, fields ?? '')
  return {
    debug: debug ? to('debug') : noop,
    info: to('info'),
    warn: to('warn'),
    error: to('error'),
  }
}
