import type { StreamFrame, StreamReply } from '../../e2e/server/stream.ts'

/** The messages this demo exchanges with the reference server (which echoes events back). */
export interface DemoSchema {
  incoming: { chat: ChatMessage; stream: StreamReply }
  outgoing: { chat: ChatMessage; stream: StreamFrame }
  requests: { echo: { request: ChatMessage; response: ChatMessage } }
}

export interface ChatMessage {
  text: string
  /** `Date.now()` when sent, so the echo shows its round trip. */
  sentAt: number
}
