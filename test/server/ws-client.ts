/**
 * A thin recorder around Node's global WebSocket (undici), the client the SDK's users
 * have. Every wait is bounded, because on Node 22 a refused handshake fires `error`
 * and never `close`.
 */

export interface Envelope {
  type: string
  id?: string
  re?: string
  data?: unknown
  error?: { code: string; message: string }
}

export interface CloseInfo {
  code: number
  reason: string
}

export interface TestClient {
  readonly ws: WebSocket
  /** Decoded JSON text frames and raw binary frames, in arrival order. */
  readonly inbox: (Envelope | ArrayBuffer)[]
  /** Every text frame verbatim, JSON or not. */
  readonly texts: string[]
  /** Resolves on open; rejects if the socket errors or closes first. */
  readonly opened: Promise<void>
  /** Resolves on close, or with code -1 on an `error` that Node 22 never follows with a close. */
  readonly ended: Promise<CloseInfo>
  send(envelope: Envelope | Record<string, unknown>): void
  /** The first matching text message not already returned by an earlier next(). */
  next(match?: (envelope: Envelope) => boolean, timeoutMs?: number): Promise<Envelope>
  request(type: string, data?: unknown, timeoutMs?: number): Promise<Envelope>
  /** True when nothing matching arrives within `ms`. */
  quietFor(ms: number, match?: (envelope: Envelope) => boolean): Promise<boolean>
  close(): void
}

let nextRequestId = 0

export function connectClient(
  url: string,
  init?: string | string[] | { protocols?: string | string[]; headers?: Record<string, string> },
): TestClient {
  // undici accepts a WebSocketInit object with headers; the DOM typings do not know it.
  const ws = new WebSocket(url, init as string | string[] | undefined)
  ws.binaryType = 'arraybuffer'
  const inbox: (Envelope | ArrayBuffer)[] = []
  const listeners = new Set<() => void>()

  const texts: string[] = []

  ws.addEventListener('message', (event: MessageEvent) => {
    if (typeof event.data === 'string') {
      texts.push(event.data)
      const decoded = tryDecode(event.data)
      if (decoded !== undefined) inbox.push(decoded)
    } else {
      inbox.push(event.data as ArrayBuffer)
    }
    for (const listener of [...listeners]) listener()
  })

  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve())
    ws.addEventListener('error', () => reject(new Error('error before open')))
    ws.addEventListener('close', (event) => reject(new Error(`closed before open: ${event.code}`)))
  })
  opened.catch(() => {})

  const ended = new Promise<CloseInfo>((resolve) => {
    ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason }))
    ws.addEventListener('error', () => {
      // Give a close event the chance to win; Node 22 may never send one.
      setTimeout(() => resolve({ code: -1, reason: 'error' }), 50)
    })
  })

  // Each message satisfies at most one next(), so repeated waits see successive ones.
  const consumed = new Set<Envelope>()
  const envelopes = (): Envelope[] =>
    inbox.filter((m): m is Envelope => !(m instanceof ArrayBuffer))

  const next = (
    match: (envelope: Envelope) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<Envelope> => {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = envelopes().find((e) => !consumed.has(e) && match(e))
        if (found === undefined) return
        consumed.add(found)
        cleanup()
        resolve(found)
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`no matching message within ${timeoutMs} ms`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      check()
    })
  }

  return {
    ws,
    inbox,
    texts,
    opened,
    ended,
    send: (envelope) => ws.send(JSON.stringify(envelope)),
    next,
    request(type, data, timeoutMs = 2000) {
      nextRequestId += 1
      const id = `r${nextRequestId}`
      ws.send(JSON.stringify({ type, id, data }))
      return next((e) => e.re === id, timeoutMs)
    },
    async quietFor(ms, match = () => true) {
      try {
        await next(match, ms)
        return false
      } catch {
        return true
      }
    },
    close: () => {
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close()
    },
  }
}

function tryDecode(text: string): Envelope | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null ? (value as Envelope) : undefined
  } catch {
    return undefined
  }
}
