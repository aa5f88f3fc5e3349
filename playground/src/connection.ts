import {
  auth,
  type HeartbeatOptions,
  heartbeat,
  reliable,
  requests,
  type SocketOptions,
} from 'resilient-socket'
import { TOKEN_TTL_MS } from './config.ts'
import { fetchToken } from './control.ts'
import type { DemoSchema } from './schema.ts'
import { createSimulatedNetwork, type SimulatedNetwork } from './simulated-network.ts'

// Kept out of App.tsx on purpose: a component module is a Fast Refresh boundary, so an edit
// to it re-runs its top level. The socket survives a refresh (useSocket keeps it), but it
// would keep listening to the old network object while the offline switch drove a new one.
// This module is not a component module, so an edit to App.tsx leaves these objects alone.

/** The page's network signals plus the playground's offline switch. */
export const network: SimulatedNetwork =
  (import.meta.hot?.data.network as SimulatedNetwork | undefined) ?? createSimulatedNetwork()
// An edit to this module itself re-runs it too: hand the same object to the next version.
if (import.meta.hot) import.meta.hot.data.network = network

// Tuned to make recovery visible within seconds: a ping after 5 s of silence, 3 s for the
// pong, and retries capped at 5 s (the defaults are 25 s, 10 s and 30 s). The heartbeat's
// settings are kept apart because the texts that explain them read them (describe.ts), and
// the feature heartbeat() makes of them does not show them.
export const HEARTBEAT = { intervalMs: 5000, timeoutMs: 3000 } as const satisfies HeartbeatOptions

export const SOCKET_OPTIONS: SocketOptions<DemoSchema> = {
  heartbeat: heartbeat(HEARTBEAT),
  retry: { initialDelayMs: 500, maxDelayMs: 5000 },
  // The default placement, a `$auth` first message, keeps the token out of the URL: the
  // browser prints a failed socket's URL in the console on every attempt, and proxies log it.
  auth: auth({
    getToken: ({ signal }) => fetchToken(TOKEN_TTL_MS, signal),
  }),
  // The message panel's echo request.
  requests: requests(),
  // Sequenced frames, acks and resume after a cut: the delivery panel shows what it counts.
  // reliable() turns a default heartbeat on; the one above, tuned for the demo, wins.
  reliable: reliable(),
  network: network.source,
}
