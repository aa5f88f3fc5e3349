import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServerControl } from './control.ts'
import { handleControlRequest } from './control-http.ts'
import { requestUrl } from './credentials.ts'
import { CORS_HEADERS, HttpError, isLoopback, numberParam, sendJson } from './http-util.ts'
import type { StaticHandler } from './static-files.ts'

export interface HttpDeps {
  control: ServerControl
  serveStatic: StaticHandler
  bodyLimitBytes: number
  log: (line: string) => void
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void

/** Plain HTTP on the WebSocket port: token issuing, the control API, static files. */
export function createRequestHandler({
  control,
  serveStatic,
  bodyLimitBytes,
  log,
}: HttpDeps): RequestHandler {
  return (request, response) => {
    const url = requestUrl(request)
    const { pathname } = url

    if (request.method === 'OPTIONS') {
      // Chrome's Private Network Access preflight asks this before a public page
      // may call a loopback address; the e2e pages are local anyway.
      const extra: Record<string, string> =
        request.headers['access-control-request-private-network'] === 'true'
          ? { 'Access-Control-Allow-Private-Network': 'true' }
          : {}
      response.writeHead(204, { ...CORS_HEADERS, ...extra }).end()
      return
    }

    if (pathname === '/token') return issueToken(request, response, url.searchParams, control)

    if (pathname === '/control' || pathname.startsWith('/control/')) {
      if (!isLoopback(request.socket.remoteAddress)) {
        log(`control request from ${request.socket.remoteAddress ?? 'unknown'} refused`)
        sendJson(response, 403, { error: 'the control API only answers loopback clients' })
        return
      }
      const name = pathname.slice('/control/'.length)
      handleControlRequest({
        name,
        request,
        response,
        params: url.searchParams,
        control,
        bodyLimitBytes,
      }).catch((error: unknown) => {
        log(`control request failed: ${(error as Error).message}`)
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' })
      })
      return
    }

    if (serveStatic(request, response, pathname)) return
    sendJson(response, 404, { error: 'not found' })
  }
}

function issueToken(
  request: IncomingMessage,
  response: ServerResponse,
  params: URLSearchParams,
  control: ServerControl,
): void {
  if (request.method !== 'GET' && request.method !== 'POST') {
    sendJson(response, 405, { error: 'use GET or POST' }, { Allow: 'GET, POST, OPTIONS' })
    return
  }
  try {
    const ttlMs = params.has('ttlMs') ? numberParam(params, 'ttlMs', 0) : undefined
    sendJson(response, 200, control.issueToken(ttlMs))
  } catch (error) {
    const status = error instanceof HttpError ? error.status : 400
    sendJson(response, status, { error: (error as Error).message })
  }
  // A POST body is not used; drain it so keep-alive connections stay usable.
  request.resume()
}
