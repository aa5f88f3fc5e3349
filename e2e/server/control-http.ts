import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RestartOptions, ServerControl } from './control.ts'
import { booleanParam, HttpError, numberParam, readBody, sendJson } from './http-util.ts'
import { isRecord } from './routes.ts'

interface RouteArgs {
  request: IncomingMessage
  response: ServerResponse
  params: URLSearchParams
  control: ServerControl
  bodyLimitBytes: number
}

interface Route {
  method: 'GET' | 'POST'
  /** Returns the JSON body to answer 200 with, or undefined when it answered itself. */
  run(args: RouteArgs): Promise<unknown> | unknown
}

const ROUTES: Readonly<Record<string, Route>> = {
  status: { method: 'GET', run: ({ control }) => control.status() },
  drop: { method: 'POST', run: ({ control }) => ({ ok: true, count: control.dropAll() }) },
  close: {
    method: 'POST',
    run: ({ control, params }) => ({
      ok: true,
      count: control.closeAll(numberParam(params, 'code', 1000), params.get('reason') ?? ''),
    }),
  },
  silence: {
    method: 'POST',
    run: ({ control, params }) => ({
      ok: true,
      count: control.silence(booleanParam(params, 'on', true)),
    }),
  },
  refuse: {
    method: 'POST',
    run: ({ control, params }) => ({
      ok: true,
      refusingUntil: control.refuse(numberParam(params, 'ms', 5000)),
    }),
  },
  pause: {
    method: 'POST',
    run: ({ control, params }) => ({
      ok: true,
      count: control.pauseReading(booleanParam(params, 'on', true)),
    }),
  },
  'expire-tokens': {
    method: 'POST',
    run: ({ control }) => ({ ok: true, count: control.expireTokens() }),
  },
  'invalidate-tokens': {
    method: 'POST',
    run: ({ control }) => ({ ok: true, count: control.invalidateTokens() }),
  },
  restart: {
    method: 'POST',
    run: ({ control, params, response }) => {
      const downMs = numberParam(params, 'downMs', 1000)
      if (downMs < 0 || downMs > 86_400_000)
        throw new HttpError(400, 'downMs must be in 0..86400000')
      const store = params.get('store') ?? 'drop'
      if (store !== 'keep' && store !== 'drop')
        throw new HttpError(400, 'store must be keep or drop')
      const options: RestartOptions = { store }
      // Answer before going down: stop() destroys this very socket.
      response.once('finish', () => {
        control.restart(downMs, options).catch(() => {})
      })
      sendJson(response, 202, { ok: true, restarting: true, downMs })
      return undefined
    },
  },
  'send-raw': {
    method: 'POST',
    run: async ({ control, params, request, bodyLimitBytes }) => {
      const text = await readBody(request, bodyLimitBytes)
      return { ok: true, count: control.sendRaw(text, params.get('connectionId') ?? undefined) }
    },
  },
  'send-to': {
    method: 'POST',
    run: async ({ control, params, request, bodyLimitBytes }) => {
      const sid = params.get('sid')
      if (sid === null || sid === '') throw new HttpError(400, 'sid is required')
      const body = await jsonBody(request, bodyLimitBytes)
      await control.sendTo(sid, body.type, body.data)
      return { ok: true }
    },
  },
  broadcast: {
    method: 'POST',
    run: async ({ control, request, bodyLimitBytes }) => {
      const body = await jsonBody(request, bodyLimitBytes)
      return { ok: true, count: control.broadcast(body.type, body.data) }
    },
  },
}

const NOT_AN_EVENT = 'body must be JSON { "type": string, "data"?: any }'

async function jsonBody(
  request: IncomingMessage,
  limitBytes: number,
): Promise<{ type: string; data: unknown }> {
  let body: unknown
  try {
    body = JSON.parse(await readBody(request, limitBytes))
  } catch (error) {
    if (error instanceof HttpError) throw error
    throw new HttpError(400, NOT_AN_EVENT)
  }
  if (!isRecord(body) || typeof body.type !== 'string') throw new HttpError(400, NOT_AN_EVENT)
  return { type: body.type, data: body.data }
}

/** `/control/<name>`; the caller has already checked the peer is on loopback. */
export async function handleControlRequest(args: RouteArgs & { name: string }): Promise<void> {
  const { name, request, response } = args
  const route = Object.hasOwn(ROUTES, name) ? ROUTES[name] : undefined
  if (route === undefined) {
    sendJson(response, 404, {
      error: `unknown control endpoint "/control/${name}"`,
      endpoints: Object.keys(ROUTES),
    })
    return
  }
  if (request.method !== route.method) {
    sendJson(response, 405, { error: `use ${route.method}` }, { Allow: `${route.method}, OPTIONS` })
    return
  }
  try {
    const body = await route.run(args)
    if (body !== undefined) sendJson(response, 200, body)
  } catch (error) {
    const status = error instanceof HttpError ? error.status : 500
    sendJson(response, status, { error: (error as Error).message })
  }
}
