// Types of harness.js, for the SPA entry and for the specs that call `window.e2e`.

/** What a spec asks for when it creates the socket under test. Plain data only. */
export interface HarnessConfig {
  /** Path on the reference server (`/secure` requires a token). @default '/' */
  path?: string
  /** Options of the library's default exponential backoff, instead of the fixed-delay policy. */
  retry?: {
    initialDelayMs?: number
    maxDelayMs?: number
    factor?: number
    jitter?: 'full' | 'equal' | 'none'
  }
  /** The delay of the fixed-delay policy used without `retry`; `setRetryDelay()` changes it. @default 200 */
  retryDelayMs?: number
  heartbeat?: { intervalMs: number; timeoutMs: number; probeTimeoutMs?: number }
  /** Options of `reliable(…)`: the reliable mode, made by the entry's own copy of the library. */
  reliable?: { maxUnackedMessages?: number; maxUnackedBytes?: number; helloTimeoutMs?: number }
  /** Fetch tokens from the server's `/token?ttlMs=…` before every attempt. */
  auth?: { ttlMs: number }
  /** Message types recorded through `onMessage()`. */
  listen?: string[]
}

/**
 * The options harness.js passes to `createSocket`: a subset of the library's `SocketOptions`,
 * in plain data. Each entry makes `heartbeat`, `auth` and `reliable` into features with its
 * own copy of the library (`heartbeat(…)`, `auth(…)`, `reliable(…)`) and adds `requests()`.
 */
export interface HarnessSocketOptions {
  retry: NonNullable<HarnessConfig['retry']> | ((context: { attempt: number }) => number | null)
  heartbeat?: NonNullable<HarnessConfig['heartbeat']>
  reliable?: NonNullable<HarnessConfig['reliable']>
  auth?: {
    getToken(context: {
      reason: string
      forceRefresh: boolean
      attempt: number
      signal: AbortSignal
    }): Promise<{ token: string; expiresAt: number }>
  }
}

/** What an entry hands over: the library as that entry loaded it. */
export interface HarnessLibrary {
  createSocket(url: string, options: HarnessSocketOptions): object
  SocketError: abstract new (...args: never[]) => Error
  RemoteError: abstract new (...args: never[]) => Error
}

/** A lifecycle event as recorded: its name, milliseconds since the harness started, a summary. */
export interface HarnessEvent {
  event:
    | 'state'
    | 'open'
    | 'close'
    | 'reconnecting'
    | 'error'
    | 'drop'
    | 'heartbeat'
    | 'sessionlost'
  at: number
  [detail: string]: unknown
}

export interface HarnessMessage {
  type: string
  data: unknown
  at: number
}

export interface TokenRequest {
  reason: string
  forceRefresh: boolean
  attempt: number
}

export interface ErrorSummary {
  name: string
  code: string | null
  remoteCode: string | null
  message: string
  isSocketError: boolean
  isRemoteError: boolean
}

export type RequestOutcome = { ok: true; data: unknown } | { ok: false; error: ErrorSummary }

export interface SnapshotSummary {
  state: string
  attempt: number
  nextRetryAt: number | null
  online: boolean
  queuedMessages: number
  lastClose: { code: number; reason: string; wasClean: boolean } | null
  lastErrorCode: string | null
}

export interface HarnessApi {
  readonly entry: 'cdn' | 'spa'
  /** Closes the previous socket, if any, and creates (and auto-connects) a new one. */
  create(config?: HarnessConfig): void
  send(type: string, data?: unknown): 'sent' | 'queued' | 'dropped'
  /** Sends `{ n: 0 }` … `{ n: count - 1 }` synchronously; returns each send's result. */
  sendSequence(type: string, count: number): ('sent' | 'queued' | 'dropped')[]
  request(type: string, data?: unknown, options?: { timeoutMs?: number }): Promise<RequestOutcome>
  /**
   * Sends `{ n: 1 }` … `{ n: count }`, one every `intervalMs`, in the background (a new call
   * replaces a running stream); `streamResults()` reports progress.
   */
  startStream(type: string, count: number, intervalMs: number): void
  /** What `send()` answered for each frame of the stream so far; `done` once all were sent. */
  streamResults(): { done: boolean; results: ('sent' | 'queued' | 'dropped')[] }
  setRetryDelay(ms: number): void
  state(): string
  snapshot(): SnapshotSummary
  stats(): Record<string, number | null>
  events(): HarnessEvent[]
  messages(): HarnessMessage[]
  tokenRequests(): TokenRequest[]
  close(code?: number, reason?: string): void
}

export function installHarness(entry: 'cdn' | 'spa', lib: HarnessLibrary): void

declare global {
  interface Window {
    e2e: HarnessApi
  }
}
