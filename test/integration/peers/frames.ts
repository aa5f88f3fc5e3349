import type { MessageData } from '../../../src/index.ts'

/** Text as is, binary as a byte list, so frames compare with toEqual. */
export const plain = (data: MessageData): string | number[] =>
  typeof data === 'string' ? data : [...new Uint8Array(data as ArrayBuffer)]

/** A global WebSocket that keeps every frame the library writes, protocol frames included. */
export function spyingWebSocket(written: unknown[]): typeof WebSocket {
  return class extends WebSocket {
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      written.push(data)
      super.send(data)
    }
  }
}
