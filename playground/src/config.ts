/**
 * Where the reference server is: `?server=ws://…` in the page URL, else VITE_SERVER_URL
 * (set by `npm run demo`), else the CLI's default port.
 */
function serverUrl(): string {
  const fromQuery = new URLSearchParams(window.location.search).get('server')
  const url = fromQuery || import.meta.env.VITE_SERVER_URL || 'ws://127.0.0.1:8787'
  return url.replace(/\/+$/, '')
}

export const SERVER_URL = serverUrl()
/** The same server over HTTP: tokens and the fault-control API. */
export const HTTP_URL = SERVER_URL.replace(/^ws/, 'http')
/** `/secure` requires a token, so the "expire token" fault has something to expire. */
export const SOCKET_URL = `${SERVER_URL}/secure`
/** Long enough that no renewal happens during a demo; the expire button ends it early. */
export const TOKEN_TTL_MS = 10 * 60_000
/**
 * What the control API requires as `Authorization: Bearer …`, set by `npm run demo`
 * (VITE_CONTROL_SECRET). Never taken from the page URL: a link could then carry someone
 * else's secret, and URLs end up in history and logs.
 */
export const CONTROL_SECRET = import.meta.env.VITE_CONTROL_SECRET ?? ''
