import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServerControl } from './control.ts'
import { handleControlRequest } from './control-http.ts'
import type { RequestGuard } from './guard.ts'
import {
  CORS_PREFLIGHT_HEADERS,
  HttpError,
  isLoopback,
  numberParam,
  requestUrl,
  sendJson,
} from './http-util.ts'
import type { StaticHandler } from './static-files.ts'

export interface HttpDeps {
  control: ServerControl
  guard: RequestGuard
  serveStatic: StaticHandler
  bodyLimitBytes: number
  log: (line: string) => void
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void

/** Plain HTTP on the WebSocket port: token issuing, the control API, static files. */
export function createRequestHandler({
  control,
  guard,
  serveStatic,
  bodyLimitBytes,
  log,
}: HttpDeps): RequestHandler {
  return (request, response) => {
    const url = requestUrl(request)
    const { pathname } = url

    if (!guard.hostAllowed(request)) {
      log(`request for host ${JSON.stringify(request.headers.host)} refused`)
      sendJson(response, 403, {
        error: 'this server answers requests addressed to localhost or an IP address only',
      })
      return
    }

    const isControl = pathname === '/control' || pathname.startsWith('/control/')
    // Refused before anything runs: a cross-origin POST without custom headers is sent
    // with no preflight, so CORS alone would only hide the answer, not stop the effect.
    if (request.method === 'OPTIONS' || pathname === '/token' || isControl) {
      // Caches must not hand one origin's answer to another.
      response.setHeader('Vary', 'Origin')
      if (!guard.originAllowed(request)) {
        log(`request from origin ${JSON.stringify(request.headers.origin ?? null)} refused`)
        sendJson(response, 403, { error: 'origin not allowed' })
        request.resume()
        return
      }
      const corsOrigin = guard.corsOrigin(request)
      if (corsOrigin !== null) response.setHeader('Access-Control-Allow-Origin', corsOrigin)
    }

    if (request.method === 'OPTIONS') {
      // Private Network Access: Chrome asks this before a public page may call a loopback
      // address. Only an allowed origin gets this far.
      const extra: Record<string, string> =
        request.headers['access-control-request-private-network'] === 'true'
          ? { 'Access-Control-Allow-Private-Network': 'true' }
          : {}
      response.writeHead(204, { ...CORS_PREFLIGHT_HEADERS, ...extra }).end()
      return
    }

    if (pathname === '/token') return issueToken(request, response, url.searchParams, control)

    if (isControl) {
      if (!isLoopback(request.socket.remoteAddress)) {
        log(`control request from ${request.socket.remoteAddress ?? 'unknown'} refused`)
        sendJson(response, 403, { error: 'the control API only answers loopback clients' })
        return
      }
      if (!guard.hasControlSecret(request)) {
        log('control request without the control secret refused')
        sendJson(
          response,
          401,
          {
            error:
              'the control API needs "Authorization: Bearer <control secret>"; the server prints the secret when it starts (server.controlSecret in process)',
          },
          { 'WWW-Authenticate': 'Bearer' },
        )
        request.resume()
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
