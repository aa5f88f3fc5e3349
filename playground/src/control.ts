import { CONTROL_SECRET, HTTP_URL } from './config.ts'

/** One call to the reference server's fault-control API (POST, loopback only, secret). */
export async function control(path: string): Promise<void> {
  if (CONTROL_SECRET === '') {
    throw new Error(
      'no control secret: start the playground with `npm run demo`, or set VITE_CONTROL_SECRET to the secret `npm run server` prints',
    )
  }
  const response = await fetch(`${HTTP_URL}/control/${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${CONTROL_SECRET}` },
  })
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string }
    throw new Error(body.error ?? `HTTP ${response.status}`)
  }
}

/** A fresh token from the server, valid for `ttlMs`. */
export async function fetchToken(
  ttlMs: number,
  signal: AbortSignal,
): Promise<{ token: string; expiresAt: number }> {
  const response = await fetch(`${HTTP_URL}/token?ttlMs=${ttlMs}`, { signal })
  if (!response.ok) throw new Error(`token endpoint answered HTTP ${response.status}`)
  return (await response.json()) as { token: string; expiresAt: number }
}
