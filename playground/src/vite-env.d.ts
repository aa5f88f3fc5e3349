/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The reference server's WebSocket URL, set by `npm run demo`. */
  readonly VITE_SERVER_URL?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
