import type { Frame } from './wire.ts'

/**
 * The subset of a native WebSocket the library uses. The browser's, Node's global one, `ws`
 * and mock-socket all fit. (`never` handler parameters: any handler signature fits.)
 */
export interface WebSocketLike {
  readonly readyState: number
  readonly bufferedAmount: number
  readonly protocol: string
  binaryType: string
  onopen: ((event: never) => void) | null
  onmessage: ((event: never) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
  send(data: Frame): void
  close(code?: number, reason?: string): void
}

/**
 * A WebSocket constructor. For the `header` auth placement on Node, the second argument
 * is undici's `{ protocols, headers }` init object instead of the protocol list.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike
