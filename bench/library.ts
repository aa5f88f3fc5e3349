// Which build of resilient-socket the bench measures. Shared by the in-process scenarios
// (contenders.ts) and the herd (herd.ts), which imports a fresh copy per client.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const DIST_ENTRY = new URL('../dist/index.js', import.meta.url)
const SRC_ENTRY = new URL('../src/index.ts', import.meta.url)
const SRC_DIR = new URL('../src/', import.meta.url)

/** The newest modification time under src/, to tell whether dist/ was built from it. */
function newestSource(dir: URL): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, dir)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(url) : statSync(url).mtimeMs)
  }
  return newest
}

export interface LibraryEntry {
  /** The module to import. */
  url: URL
  /** Where it came from and why, for the output. */
  from: string
}

/**
 * resilient-socket as users get it (dist/index.js) when that build is newer than every file
 * in src/; otherwise straight from src/ through Node's type stripping, so that the figures
 * are never those of a stale build. `BENCH_FROM=src` or `BENCH_FROM=dist` forces one;
 * `BENCH_FROM=<path>` measures another copy's entry file (e.g. an older commit's
 * `src/index.ts`, extracted with `git archive`), to compare before and after.
 */
export function libraryEntry(): LibraryEntry {
  const wanted = process.env.BENCH_FROM
  if (wanted && wanted !== 'src' && wanted !== 'dist') {
    const path = isAbsolute(wanted) ? wanted : resolve(wanted)
    if (!existsSync(path)) throw new Error(`BENCH_FROM: no such file ${path}`)
    return { url: pathToFileURL(path), from: `${path} (BENCH_FROM)` }
  }
  const built = existsSync(DIST_ENTRY)
  const fresh = built && statSync(DIST_ENTRY).mtimeMs >= newestSource(SRC_DIR)
  if (wanted === 'dist' || (wanted !== 'src' && fresh)) {
    return { url: DIST_ENTRY, from: fresh ? 'dist/index.js' : 'dist/index.js (older than src/)' }
  }
  const why =
    wanted === 'src' ? 'BENCH_FROM=src' : built ? 'dist/ is older than src/' : 'dist/ not built'
  return { url: SRC_ENTRY, from: `src/index.ts (${why})` }
}
