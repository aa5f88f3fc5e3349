/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The reference server's WebSocket URL, set by `npm run demo`. */
  readonly VITE_SERVER_URL?: string
  /** The reference server's control secret, set by `npm run demo`. */
  readonly VITE_CONTROL_SECRET?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
