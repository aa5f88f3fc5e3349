// An application that bundles resilient-socket with Vite. The import below is the package
// name, as in any app; e2e/global-setup.ts aliases it to the built dist/index.js, so what
// runs here is the published ESM file with its real dependencies, bundled by a real bundler.
import { ReconnectingSocket, RemoteError, SocketError } from 'resilient-socket'
import { installHarness } from '../pages/harness.js'

/** The reference server's messages, from this application's side (PROTOCOL.md). */
interface ServerSchema {
  incoming: { chat: { text: string } }
  outgoing: { chat: { text: string }; note: { text: string }; seq: { n: number } }
  requests: {
    echo: { request: unknown; response: unknown }
    fail: { request: { code: string; message: string }; response: never }
  }
}

installHarness('spa', {
  createSocket: (url, options) => new ReconnectingSocket<ServerSchema>(url, options),
  RemoteError,
  SocketError,
})
