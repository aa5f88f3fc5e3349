/**
 * A companion on a real `ws` server on 127.0.0.1, and a tiny protocol client over raw `ws`
 * (the client's reliable mode is not written yet, so the tests speak the wire themselves).
 * Every wait is bounded in time.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { onTestFinished } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import {
  attach,
  createSocketServer,
  type ServerError,
  type SocketServer,
  type SocketServerOptions,
} from '../../server/index.ts'

export interface Companion<U = unknown> {
  readonly url: string
  readonly server: SocketServer<U>
  /** Everything `onError` got, in order. */
  readonly errors: ServerError[]
  /** Stops listening and drops every socket abruptly (a crash, as far as clients can tell). */
  crash(): Promise<void>
}

/** A companion closed when the current test ends; `onError` is recorded, not printed. */
export async function startCompanion<U = unknown>(
  options: SocketServerOptions<U> = {},
  { maxPayload = 1024 * 1024 }: { maxPayload?: number } = {},
): Promise<Companion<U>> {
  const errors: ServerError[] = []
  const server = createSocketServer<U>({
    onError: (error) => errors.push(error),
    ...options,
  })
  const http: Server = createServer()
  const wss = new WebSocketServer({ server: http, maxPayload })
  const detach = attach(wss, server)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  let down = false
  const crash = async (): Promise<void> => {
    if (down) return
    down = true
    detach()
    for (const socket of wss.clients) socket.terminate()
    wss.close()
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }
  onTestFinished(crash)
  return { url: `ws://127.0.0.1:${port}`, server, errors, crash }
}

export interface Frame {
  type: string
  id?: string
  re?: string
  seq?: number
  ack?: number
  data?: unknown
  error?: { code: string; message: string }
}

export interface CloseInfo {
  code: number
  reason: string
}

export interface SessionInfo {
  sid: string
  resumed: boolean
  in: number
  out: number
  reason?: string
}

const DEFAULT_WAIT_MS = 3000

/**
 * One raw connection. It records every text frame it gets (parsed), and never acknowledges
 * or answers on its own: each test says what the client does.
 */
export class RawClient {
  readonly ws: WebSocket
  readonly frames: Frame[] = []
  readonly opened: Promise<void>
  readonly closed: Promise<CloseInfo>
  readonly #taken = new Set<Frame>()
  #wake: (() => void) | undefined
  /** Next client seq to send. */
  out = 0

  constructor(
    url: string,
    options: { protocols?: string[]; headers?: Record<string, string> } = {},
  ) {
    this.ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers })
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as Frame)
      this.#wake?.()
    })
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
    this.opened.catch(() => {})
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        this.#wake?.()
      })
    })
    this.ws.on('error', () => {})
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame))
  }

  sendText(text: string): void {
    this.ws.send(text)
  }

  /** Sends an application frame with the next seq. */
  sendSeq(frame: Record<string, unknown>): number {
    this.out += 1
    this.send({ ...frame, seq: this.out })
    return this.out
  }

  /** The first matching frame that no earlier next() returned; fails after `timeoutMs`. */
  async next(
    match: (frame: Frame) => boolean = () => true,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      // Each frame satisfies at most one next(), so repeated waits see successive ones.
      const found = this.frames.find((frame) => !this.#taken.has(frame) && match(frame))
      if (found !== undefined) {
        this.#taken.add(found)
        return found
      }
      const left = deadline - Date.now()
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(
          `no matching frame within ${timeoutMs} ms (got ${JSON.stringify(this.frames)})`,
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  /** The next frame of `type`. */
  nextOf(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((frame) => frame.type === type, timeoutMs)
  }

  /** True when nothing matching arrives within `ms` (a bound, not a timing assertion). */
  async quietFor(ms: number, match: (frame: Frame) => boolean = () => true): Promise<boolean> {
    try {
      await this.next(match, ms)
      return false
    } catch {
      return true
    }
  }

  /** Resolves with the close, or fails after `timeoutMs`. */
  async closeInfo(timeoutMs = DEFAULT_WAIT_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`not closed within ${timeoutMs} ms`)),
            timeoutMs,
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  /** `$hello`, then the `$session` answer. */
  async hello(): Promise<SessionInfo> {
    this.send({ type: '$hello', data: { v: 1 } })
    return (await this.nextOf('$session')).data as SessionInfo
  }

  /** `$resume`, then the `$session` answer; client seqs continue after the server's `in`. */
  async resume(sid: string, seen: number, acked: number): Promise<SessionInfo> {
    this.send({ type: '$resume', data: { v: 1, sid, seen, acked } })
    const session = (await this.nextOf('$session')).data as SessionInfo
    this.out = session.in
    return session
  }

  /** Application frames with a seq, in arrival order, seen so far. */
  sequenced(): Frame[] {
    return this.frames.filter((frame) => frame.seq !== undefined)
  }

  /** The highest ack the server sent (on `$ack` or piggybacked), or 0. */
  highestAck(): number {
    return this.frames.reduce((max, frame) => Math.max(max, frame.ack ?? 0), 0)
  }

  terminate(): void {
    this.ws.terminate()
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code)
    }
  }
}

/** A client closed (abruptly) when the current test ends. */
export async function connect(
  url: string,
  options?: ConstructorParameters<typeof RawClient>[1],
): Promise<RawClient> {
  const client = new RawClient(url, options)
  onTestFinished(() => client.terminate())
  await client.opened
  return client
}

/** Polls `predicate` with a hard deadline. */
export async function until(
  predicate: () => boolean,
  timeoutMs = DEFAULT_WAIT_MS,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
