/** One inbound application message, as tests see it when checking delivery order. */
export interface ReceivedMessage {
  connectionId: string
  type: string
  /** Present for requests, so tests can match a request to its log entry. */
  id?: string
  /** `sid:seq`, present for a frame of a reliable session. */
  deliveryId?: string
  data: unknown
  /** Epoch ms when the server decoded it. */
  at: number
}

export const RECEIVED_LOG_CAPACITY = 200_000

/**
 * A ring buffer: a long soak test must not grow memory without bound, and dropping
 * the oldest entry has to stay O(1) at capacity.
 */
export class ReceivedLog {
  readonly #capacity: number
  readonly #slots: (ReceivedMessage | undefined)[] = []
  #start = 0
  #length = 0
  /** Messages appended since the last clear, including those already dropped. */
  total = 0

  constructor(capacity = RECEIVED_LOG_CAPACITY) {
    this.#capacity = capacity
  }

  append(message: ReceivedMessage): void {
    this.total += 1
    if (this.#length < this.#capacity) {
      this.#slots[(this.#start + this.#length) % this.#capacity] = message
      this.#length += 1
      return
    }
    this.#slots[this.#start] = message
    this.#start = (this.#start + 1) % this.#capacity
  }

  toArray(): ReceivedMessage[] {
    const out: ReceivedMessage[] = []
    for (let i = 0; i < this.#length; i += 1) {
      const message = this.#slots[(this.#start + i) % this.#capacity]
      if (message !== undefined) out.push(message)
    }
    return out
  }

  clear(): void {
    this.#slots.length = 0
    this.#start = 0
    this.#length = 0
    this.total = 0
  }
}
