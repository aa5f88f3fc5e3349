// Bundle sizes: exactly what `size-limit` checks (the entries and budgets in package.json),
// measured on the built files in dist/.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SIZE_LIMIT_BIN = fileURLToPath(new URL('../node_modules/size-limit/bin.js', import.meta.url))

export interface SizeEntry {
  name: string
  path: string
  /** min+gzip bytes, with dependencies, as size-limit computes it; null if the file is missing. */
  bytes: number | null
  limitBytes: number | null
  passed: boolean
}

export interface SizeReport {
  measured: boolean
  note: string
  /** When dist/index.js was built (ISO), to tell a stale build from a fresh one. */
  builtAt: string | null
  entries: SizeEntry[]
}

interface SizeLimitCheck {
  name: string
  path: string
}

interface SizeLimitResult {
  name: string
  passed: boolean
  size: number
  sizeLimit?: number
}

export function measureSizes(): SizeReport {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
    'size-limit'?: SizeLimitCheck[]
  }
  const checks = pkg['size-limit'] ?? []
  const index = `${ROOT}dist/index.js`
  if (!existsSync(index)) {
    return {
      measured: false,
      note: 'dist/ is not built: run `npm run build`, then `npm run bench` (or `npx size-limit`)',
      builtAt: null,
      entries: [],
    }
  }
  const run = spawnSync(process.execPath, [SIZE_LIMIT_BIN, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  })
  // size-limit exits non-zero when a budget is exceeded; its JSON is on stdout either way.
  const start = run.stdout.indexOf('[')
  if (start < 0) {
    return {
      measured: false,
      note: `size-limit gave no JSON: ${(run.stderr || run.error?.message || '').trim().slice(0, 300)}`,
      builtAt: statSync(index).mtime.toISOString(),
      entries: [],
    }
  }
  const results = JSON.parse(run.stdout.slice(start)) as SizeLimitResult[]
  const entries = results.map((result): SizeEntry => {
    const path = checks.find((check) => check.name === result.name)?.path ?? '?'
    const present = existsSync(`${ROOT}${path}`)
    return {
      name: result.name,
      path,
      bytes: present ? result.size : null,
      limitBytes: result.sizeLimit ?? null,
      passed: present && result.passed,
    }
  })
  const missing = entries.filter((entry) => entry.bytes === null).map((entry) => entry.path)
  return {
    measured: true,
    note:
      missing.length > 0
        ? `npx size-limit --json on dist/; missing from this build: ${missing.join(', ')}`
        : 'npx size-limit --json on dist/',
    builtAt: statSync(index).mtime.toISOString(),
    entries,
  }
}
