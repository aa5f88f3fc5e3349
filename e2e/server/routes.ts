import type { Connection } from './connection.ts'
import type { InboundEnvelope } from './envelope.ts'
import { isRecord } from './envelope.ts'

/** The parts of the server an application message may reach. */
export interface RouteContext {
  find(connectionId: string): Connection | undefined
  open(): Iterable<Connection>
  log(line: string): void
}

export const SLOW_DEFAULT_MS = 1000
export const SLOW_MAX_MS = 60_000

/** Requests carry an `id` and get exactly one answer with `re`; events get none. */
export function routeMessage(
  context: RouteContext,
  from: Connection,
  envelope: InboundEnvelope,
): void {
  if (envelope.id === undefined) routeEvent(context, from, envelope)
  else routeRequest(from, envelope, envelope.id)
}

function routeRequest(from: Connection, { type, data }: InboundEnvelope, id: string): void {
  const reply = (body: unknown): void => {
    from.send({ type, re: id, data: body })
  }
  switch (type) {
    case 'echo':
      reply(data)
      return
    case 'slow':
      from.later(slowDelayMs(data), () => reply(data))
      return
    case 'fail': {
      const options = isRecord(data) ? data : {}
      from.send({
        type,
        re: id,
        error: {
          code: typeof options.code === 'string' ? options.code : 'FAILED',
          message: typeof options.message === 'string' ? options.message : 'failed on purpose',
        },
      })
      return
    }
    case 'whoami':
      reply({ connectionId: from.id })
      return
    default:
      from.send({
        type,
        re: id,
        error: { code: 'UNKNOWN_REQUEST', message: `no handler for request type "${type}"` },
      })
  }
}

function routeEvent(
  context: RouteContext,
  from: Connection,
  { type, data }: InboundEnvelope,
): void {
  switch (type) {
    case 'broadcast':
      for (const connection of context.open()) {
        connection.send({ type: 'broadcast', data: { from: from.id, payload: data } })
      }
      return
    case 'private': {
      const to = isRecord(data) && typeof data.to === 'string' ? data.to : undefined
      const target = to === undefined ? undefined : context.find(to)
      if (target === undefined) {
        context.log(`${from.id} private message to unknown connection dropped`)
        return
      }
      target.send({
        type: 'private',
        data: { from: from.id, payload: isRecord(data) ? data.payload : undefined },
      })
      return
    }
    default:
      from.send({ type, data })
  }
}

function slowDelayMs(data: unknown): number {
  const requested = isRecord(data) ? data.delayMs : undefined
  if (typeof requested !== 'number' || !Number.isFinite(requested) || requested < 0)
    return SLOW_DEFAULT_MS
  return Math.min(requested, SLOW_MAX_MS)
}
