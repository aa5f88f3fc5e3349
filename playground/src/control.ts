import { HTTP_URL } from './config.ts'

/** One call to the reference server's fault-control API (POST, loopback only). */
export async function control(path: string): Promise<void> {
  const response = await fetch(`${HTTP_URL}/control/${path}`, { method: 'POST' })
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
