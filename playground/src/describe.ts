import type { CloseInfo, ConnectionState, SocketSnapshot } from 'resilient-socket'
import { HEARTBEAT } from './connection.ts'

/** The playground's heartbeat settings, for the texts that explain them. */
export const PING_AFTER_MS = HEARTBEAT.intervalMs
export const PONG_WITHIN_MS = HEARTBEAT.timeoutMs

const CLOSE_CODES: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1006: 'abnormal: no close frame',
  1008: 'policy violation',
  1011: 'server error',
  1012: 'service restart',
  1013: 'try again later',
  4000: 'heartbeat timeout',
  4001: 'unauthorized',
}

/** `1012 service restart`, with the server's reason when it adds something. */
export function describeClose(close: CloseInfo): string {
  const name = CLOSE_CODES[close.code]
  const reason = close.reason && close.reason !== name ? ` “${close.reason}”` : ''
  return `${close.code}${name ? ` ${name}` : ''}${reason}`
}

export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`
}

export function clock(at: number): string {
  const d = new Date(at)
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** One sentence under the state badge, for someone who has never read the docs. */
export function explainState(snapshot: SocketSnapshot, now: number): string {
  const { state, attempt, nextRetryAt, online, lastClose, lastError, pongDeadlineAt } = snapshot
  switch (state as ConnectionState) {
    case 'idle':
      return 'Not connected yet.'
    case 'connecting':
      return 'Opening the connection (fetching a token first)…'
    case 'open':
      if (pongDeadlineAt !== null)
        return `Connected, and a ping is out. If nothing comes back within ${seconds(pongDeadlineAt - now)}, the client cuts the link and reconnects.`
      return `Connected. Sends go straight out; a ping checks the link after ${seconds(PING_AFTER_MS)} without traffic either way.`
    case 'reconnecting':
      if (!online)
        return 'Offline: retries are paused, so none are wasted. Back online → retry at once.'
      if (nextRetryAt !== null)
        return `Connection lost. Retry #${attempt} in ${seconds(nextRetryAt - now)} (backoff with jitter).`
      return `Connection lost. Retry #${attempt} is under way…`
    case 'closing':
      return 'Closing…'
    case 'closed':
      if (lastError) return `Stopped (${lastError.code}). Press Connect to start again.`
      if (lastClose)
        return `The server closed with ${describeClose(lastClose)}, which means “do not come back”. Press Connect to start again.`
      return 'Closed. Press Connect to start again.'
  }
}
