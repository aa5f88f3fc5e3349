// An application that bundles resilient-socket with Vite. The import below is the package
// name, as in any app; e2e/global-setup.ts aliases it to the built dist/index.js, so what
// runs here is the published ESM file with its real dependencies, bundled by a real bundler.
import {
  auth,
  heartbeat,
  ReconnectingSocket,
  RemoteError,
  reliable,
  requests,
  SocketError,
} from 'resilient-socket'
import { installHarness } from '../pages/harness.js'

/** The reference server's messages, from this application's side (PROTOCOL.md). */
interface ServerSchema {
  incoming: { chat: { text: string }; seq: { n: number }; push: { n: number } }
  outgoing: { chat: { text: string }; note: { text: string }; seq: { n: number } }
  requests: {
    echo: { request: unknown; response: unknown }
    fail: { request: { code: string; message: string }; response: never }
  }
}

installHarness('spa', {
  // The harness speaks plain data (what a spec can pass into the page); the features are
  // made here, by the factories of the bundle under test.
  createSocket: (url, { heartbeat: beat, auth: tokens, reliable: session, ...options }) =>
    new ReconnectingSocket<ServerSchema>(url, {
      ...options,
      heartbeat: beat && heartbeat(beat),
      auth: tokens && auth(tokens),
      reliable: session && reliable(session),
      requests: requests(),
    }),
  RemoteError,
  SocketError,
})
