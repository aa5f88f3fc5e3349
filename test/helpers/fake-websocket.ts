import type { Frame, NetworkSource, WebSocketConstructor } from '../../src/index.ts'

/**
 * A scripted stand-in for the platform WebSocket: the test decides when it opens,
 * what arrives and how it ends. Nothing happens on its own, so every unit test is exact.
 */
export class FakeWebSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3

  readonly url: string
  /** The second constructor argument as given (protocol list, or undici's init object). */
  readonly init: unknown
  readyState = 0
  bufferedAmount = 0
  protocol = ''
  binaryType = 'blob'
  readonly sent: Frame[] = []
  readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = []
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null
  onerror: ((event: { message?: string }) => void) | null = null

  constructor(url: string, init?: unknown) {
    this.url = url
    this.init = init
  }

  get protocols(): string[] {
    if (Array.isArray(this.init)) return this.init
    if (typeof this.init === 'string') return [this.init]
    const nested = (this.init as { protocols?: string[] } | undefined)?.protocols
    return nested ?? []
  }

  get headers(): Record<string, string> | undefined {
    return (this.init as { headers?: Record<string, string> } | undefined)?.headers
  }

  /** Text frames parsed as JSON envelopes (binary frames are skipped). */
  get sentEnvelopes(): { type: string; id?: string; re?: string; data?: unknown }[] {
    return this.sent.filter((f): f is string => typeof f === 'string').map((f) => JSON.parse(f))
  }

  /** How many of the four handler slots are still set (0 once the library let go). */
  get handlerCount(): number {
    return [this.onopen, this.onmessage, this.onclose, this.onerror].filter(Boolean).length
  }

  send(data: Frame): void {
    if (this.readyState !== 1)
      throw new Error(`FakeWebSocket: send() in readyState ${this.readyState}`)
    this.sent.push(data)
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason })
    if (this.readyState < 2) this.readyState = 2
  }

  // ── Scripted events ──

  open(protocol = ''): void {
    this.readyState = 1
    this.protocol = protocol
    this.onopen?.({ type: 'open' })
  }

  receive(data: unknown): void {
    this.onmessage?.({
      data:
        typeof data === 'object' && !(data instanceof ArrayBuffer) ? JSON.stringify(data) : data,
    })
  }

  /** The connection ends (server close, or a drop with 1006). */
  serverClose(code = 1006, reason = '', wasClean = code !== 1006): void {
    this.readyState = 3
    this.onclose?.({ code, reason, wasClean })
  }

  /** An `error` event; Node 22 sends only this (no close) when a connection is refused. */
  fail(message = 'connect ECONNREFUSED'): void {
    this.onerror?.({ message })
  }
}

export interface FakeWebSocketFactory {
  WebSocket: WebSocketConstructor
  sockets: FakeWebSocket[]
  /** The most recently created socket; throws if none. */
  last(): FakeWebSocket
}

/** A fresh constructor per test, recording every socket it creates. */
export function fakeWebSocketFactory(): FakeWebSocketFactory {
  const sockets: FakeWebSocket[] = []
  class Recorded extends FakeWebSocket {
    constructor(url: string, init?: unknown) {
      super(url, init)
      sockets.push(this)
    }
  }
  return {
    WebSocket: Recorded as unknown as WebSocketConstructor,
    sockets,
    last() {
      const socket = sockets.at(-1)
      if (!socket) throw new Error('no FakeWebSocket was created')
      return socket
    },
  }
}

export interface FakeNetwork {
  source: NetworkSource
  online: boolean
  visible: boolean
  /** Dispatches a page/network event; `online`/`offline` also flip `online`. */
  emit(type: string, init?: { persisted?: boolean }): void
  /** Listeners currently registered by the library (0 after `close()`). */
  listenerCount(): number
}

/** A network/page-lifecycle source the test drives by hand. */
export function fakeNetwork(): FakeNetwork {
  const target = new EventTarget()
  let listeners = 0
  const fake: FakeNetwork = {
    online: true,
    visible: true,
    source: {
      target: {
        addEventListener: (type: string, listener: (event: Event) => void) => {
          listeners++
          target.addEventListener(type, listener)
        },
        removeEventListener: (type: string, listener: (event: Event) => void) => {
          listeners--
          target.removeEventListener(type, listener)
        },
      },
      isOnline: () => fake.online,
      isVisible: () => fake.visible,
    },
    emit(type: string, init: { persisted?: boolean } = {}) {
      if (type === 'online') fake.online = true
      if (type === 'offline') fake.online = false
      const event = Object.assign(new Event(type), { persisted: init.persisted === true })
      target.dispatchEvent(event)
    },
    listenerCount: () => listeners,
  }
  return fake
}
