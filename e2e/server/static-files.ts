import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
}

interface Mount {
  /** Normalised: leading slash, no trailing slash ('' for the root). */
  prefix: string
  root: string
}

export type StaticHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
) => boolean

/**
 * Serves `prefix → directory` mounts read-only. Returns a handler that answers and
 * returns true when a mount matches the path, false otherwise.
 */
export function createStaticHandler(dirs: Readonly<Record<string, string>>): StaticHandler {
  // Longest prefix first, so '/dist/app' wins over '/dist'.
  const mounts: Mount[] = Object.entries(dirs)
    .map(([prefix, dir]) => ({ prefix: normalisePrefix(prefix), root: resolve(dir) }))
    .sort((a, b) => b.prefix.length - a.prefix.length)

  return (request, response, pathname) => {
    const mount = mounts.find((m) => pathname === m.prefix || pathname.startsWith(`${m.prefix}/`))
    if (mount === undefined) return false
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response
        .writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' })
        .end('method not allowed')
      return true
    }
    serve(mount, pathname.slice(mount.prefix.length), request.method === 'HEAD', response).catch(
      () => {
        if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' })
        response.end()
      },
    )
    return true
  }
}

async function serve(
  mount: Mount,
  rest: string,
  headOnly: boolean,
  response: ServerResponse,
): Promise<void> {
  const file = await resolveInside(mount.root, rest)
  if (file === null) {
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found')
    return
  }
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': file.size,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  })
  if (headOnly) {
    response.end()
    return
  }
  const stream = createReadStream(file.path)
  stream.on('error', () => response.destroy())
  stream.pipe(response)
}

/**
 * The file a URL path names, or null. Two checks, because either alone leaks: the
 * lexical one stops `..` (also percent-encoded), the realpath one stops a symlink
 * inside the root that points out of it.
 */
async function resolveInside(
  root: string,
  rest: string,
): Promise<{ path: string; size: number } | null> {
  let decoded: string
  try {
    decoded = decodeURIComponent(rest)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null
  const candidate = resolve(root, `.${decoded.startsWith('/') ? '' : '/'}${decoded}`)
  if (!isInside(root, candidate)) return null
  try {
    const realRoot = await realpath(root)
    let real = await realpath(candidate)
    let info = await stat(real)
    if (info.isDirectory()) {
      real = await realpath(join(real, 'index.html'))
      info = await stat(real)
    }
    if (!info.isFile() || !isInside(realRoot, real)) return null
    return { path: real, size: info.size }
  } catch {
    return null
  }
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
}

function normalisePrefix(prefix: string): string {
  const withSlash = prefix.startsWith('/') ? prefix : `/${prefix}`
  return withSlash.replace(/\/+$/, '')
}
