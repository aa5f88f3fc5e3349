import type { IncomingHttpHeaders } from 'node:http'
import { request } from 'node:http'
import { onTestFinished } from 'vitest'
import type { ReferenceServer, ServerOptions } from '../../e2e/server/index.ts'
import { startServer } from '../../e2e/server/index.ts'
import type { TestClient } from './ws-client.ts'
import { connectClient } from './ws-client.ts'

/** A server closed automatically when the current test ends. */
export async function serverForTest(options?: ServerOptions): Promise<ReferenceServer> {
  const server = await startServer(options)
  onTestFinished(() => server.close())
  return server
}

/** A client closed automatically when the current test ends. */
export function clientForTest(...args: Parameters<typeof connectClient>): TestClient {
  const client = connectClient(...args)
  onTestFinished(() => client.close())
  return client
}

export async function openClient(...args: Parameters<typeof connectClient>): Promise<TestClient> {
  const client = clientForTest(...args)
  await client.opened
  return client
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/**
 * HTTP without fetch's URL normalisation (fetch would resolve `..` before sending),
 * and able to send an upgrade request: a 101 comes back as status 101.
 */
export function rawRequest(
  port: number,
  path: string,
  { method = 'GET', headers = {} }: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, timeout: 2000 })
    req.on('timeout', () => req.destroy(new Error('raw request timed out')))
    req.on('error', reject)
    req.on('upgrade', (response, socket) => {
      socket.destroy()
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' })
    })
    req.on('response', (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      )
    })
    req.end()
  })
}

export function upgradeRequest(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return rawRequest(port, path, {
    headers: {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      ...headers,
    },
  })
}

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))

/** Polls a condition with a hard deadline. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  stepMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await delay(stepMs)
  }
}

export async function fetchToken(server: ReferenceServer, ttlMs?: number): Promise<string> {
  const query = ttlMs === undefined ? '' : `?ttlMs=${ttlMs}`
  const response = await fetch(`${server.httpUrl}/token${query}`)
  const body = (await response.json()) as { token: string }
  return body.token
}
