import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig, type Plugin } from 'vite'

const fromRoot = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url))

/**
 * The served modules carry the reference server's control secret (VITE_CONTROL_SECRET, set
 * by `npm run demo`). Vite answers CORS for loopback pages only, so another site can neither
 * fetch() them nor load them as module scripts; a classic `<script>` or `<link>` needs no
 * CORS, though, so every cross-site request other than opening the page is refused here.
 */
function refuseCrossSiteLoads(): Plugin {
  return {
    name: 'playground:refuse-cross-site-loads',
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const site = request.headers['sec-fetch-site']
        if (site === 'cross-site' && request.headers['sec-fetch-mode'] !== 'navigate') {
          response
            .writeHead(403, { 'Content-Type': 'text/plain' })
            .end('cross-site request refused')
          return
        }
        next()
      })
    },
  }
}

// The playground runs the library from source, imported by its package names exactly as an
// application would: edits in src/ show up at once, no build needed.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react(), refuseCrossSiteLoads()],
  resolve: {
    alias: [
      { find: /^resilient-socket\/react$/, replacement: fromRoot('src/react/index.ts') },
      { find: /^resilient-socket$/, replacement: fromRoot('src/index.ts') },
    ],
  },
  // Pre-bundled up front, so the first page load never triggers Vite's "new dependencies
  // found, reloading" (which would cut the demo connection right after it opened).
  optimizeDeps: {
    include: [
      'react',
      'react-dom',
      'react-dom/client',
      'react/jsx-runtime',
      'react/jsx-dev-runtime',
      'nanoid/non-secure',
    ],
  },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { outDir: 'dist', emptyOutDir: true },
})
