import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { type ReferenceServer, startServer } from '../../e2e/server/index.ts'

// What a user gets from the registry: `npm pack` the project, install the tarball into a
// fresh project outside this tree, and use it from there with Node 22 and tsc. Nothing here
// imports src/ or dist/ directly; only the installed copy is exercised.

const execFileAsync = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>
}
const tsc = join(root, 'node_modules/typescript/bin/tsc')

// Variables that `npm run` sets (npm_config_local_prefix among them) would point a nested
// npm back at this project; the consumer must look like a project of its own. Where the
// cache, the registry and the user's config are stays as it was.
const KEPT_NPM_VARIABLES = new Set([
  'npm_config_cache',
  'npm_config_userconfig',
  'npm_config_globalconfig',
  'npm_config_registry',
  'npm_config_cafile',
])
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => {
    const lower = name.toLowerCase()
    return !lower.startsWith('npm_') || KEPT_NPM_VARIABLES.has(lower)
  }),
)

async function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      cwd,
      env: cleanEnv,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    )
  }
}

/** Runs a consumer script on this Node (22+) and parses the JSON line it prints last. */
async function runNode(file: string, ...args: string[]): Promise<Record<string, unknown>> {
  // A generous bound: the script must also exit by itself, which it cannot while the
  // closed socket still holds a timer or a handle.
  const stdout = await run(process.execPath, [file, ...args], consumer, 30_000)
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '')
}

/** One round trip through the installed package; `FORMAT` and the import lines differ. */
const roundTripBody = `
const url = process.argv[2]
const failTimer = setTimeout(() => {
  console.error('no round trip within 15 s')
  process.exit(1)
}, 15_000)
const socket = new ReconnectingSocket(url, {
  requests: requests(),
  connectTimeoutMs: 5000,
  maxAttempts: 5,
  retry: { initialDelayMs: 100, maxDelayMs: 500 },
})
await new Promise((resolve) => socket.once('open', resolve))
const echoedEvent = new Promise((resolve) => socket.onMessage('note', (data) => resolve(data)))
const sent = socket.send('note', { from: FORMAT })
const event = await echoedEvent
const reply = await socket.request('echo', { from: FORMAT, n: 42 })
let remote = null
try {
  await socket.request('fail', { code: 'PACKED', message: 'from ' + FORMAT })
} catch (error) {
  remote = {
    isRemoteError: error instanceof RemoteError,
    isSocketError: error instanceof SocketError,
    code: error.code,
    remoteCode: error.remoteCode,
  }
}
socket.close()
clearTimeout(failTimer)
console.log(JSON.stringify({ resolved: RESOLVED, sent, event, reply, remote, state: socket.state }))
`

const consumerFiles: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),

  'round-trip.mjs': `import { ReconnectingSocket, RemoteError, requests, SocketError } from 'resilient-socket'
const FORMAT = 'esm'
const RESOLVED = import.meta.resolve('resilient-socket')
${roundTripBody}`,

  'round-trip.cjs': `const { ReconnectingSocket, RemoteError, requests, SocketError } = require('resilient-socket')
const FORMAT = 'cjs'
const RESOLVED = require.resolve('resilient-socket')
async function main() {
${roundTripBody}
}
main().catch((error) => {
  console.error(error)
  process.exit(1)
})`,

  'react.mjs': `const react = await import('resilient-socket/react')
console.log(JSON.stringify({
  resolved: import.meta.resolve('resilient-socket/react'),
  exports: Object.fromEntries(Object.entries(react).map(([name, value]) => [name, typeof value])),
}))`,

  'react.cjs': `const react = require('resilient-socket/react')
console.log(JSON.stringify({
  resolved: require.resolve('resilient-socket/react'),
  exports: Object.fromEntries(Object.entries(react).map(([name, value]) => [name, typeof value])),
}))`,

  // tsc must accept this through the shipped declarations, and must reject each line
  // marked @ts-expect-error: if the types decayed to \`any\`, those lines would pass and
  // the directives themselves would be errors.
  'typed.ts': typedConsumer(),
  'typed.cts': typedConsumer(),

  'tsconfig.nodenext.json': JSON.stringify({
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      // A Node project: Node's typings, no DOM.
      lib: ['es2022'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
    files: ['typed.ts', 'typed.cts'],
  }),

  'tsconfig.bundler.json': JSON.stringify({
    compilerOptions: {
      module: 'esnext',
      moduleResolution: 'bundler',
      target: 'es2022',
      // A browser app built by a bundler: DOM, no Node typings, no `esnext.disposable` lib,
      // and skipLibCheck off, so the shipped declarations must stand on their own.
      lib: ['es2022', 'dom', 'dom.iterable'],
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
    files: ['typed.ts'],
  }),
}

function typedConsumer(): string {
  return `import {
  type SocketSnapshot,
  ReconnectingSocket,
  RemoteError,
  auth,
  fromDelays,
  heartbeat,
  requests,
} from 'resilient-socket'
import { useMessage, useSocket, useSocketState } from 'resilient-socket/react'

interface ChatSchema {
  incoming: { chat: { from: string; text: string } }
  outgoing: { chat: { text: string }; typing: undefined }
  requests: { history: { request: { room: string }; response: { text: string }[] } }
}

export async function talk(url: string): Promise<string> {
  // @ts-expect-error: a feature is made by its factory; 0.1's \`heartbeat: true\` is refused
  void new ReconnectingSocket<ChatSchema>(url, { autoConnect: false, heartbeat: true })
  const socket = new ReconnectingSocket<ChatSchema>(url, {
    requests: requests(),
    retry: fromDelays([0, 1000, 5000]),
    heartbeat: heartbeat({ intervalMs: 25_000, timeoutMs: 10_000 }),
    auth: auth({ getToken: async () => ({ token: 't', expiresAt: Date.now() + 60_000 }) }),
  })
  socket.onMessage('chat', (data) => {
    const text: string = data.text
    void text
  })
  const result: 'sent' | 'queued' | 'dropped' = socket.send('chat', { text: 'hi' })
  socket.send('typing')
  socket.on('open', ({ reconnected }) => {
    const flag: boolean = reconnected
    void flag
  })
  const snapshot: SocketSnapshot = socket.getSnapshot()
  // @ts-expect-error: not a message type of the schema
  socket.send('nope', { text: 'hi' })
  // @ts-expect-error: the payload of "chat" has a string text
  socket.send('chat', { text: 1 })
  try {
    const history = await socket.request('history', { room: 'lobby' }, { timeoutMs: 1000 })
    // @ts-expect-error: a response item's text is a string
    const wrong: number = history[0].text
    void wrong
    return history.map((item) => item.text).join() + result + snapshot.state
  } catch (error) {
    if (error instanceof RemoteError) return error.remoteCode + error.code
    throw error
  } finally {
    socket.close()
  }
}

export function useChat(url: string): string {
  const socket = useSocket<ChatSchema>(url, { heartbeat: heartbeat() })
  useMessage(socket, 'chat', (data) => {
    const from: string = data.from
    void from
  })
  // @ts-expect-error: "presence" is not an incoming type of the schema
  useMessage(socket, 'presence', () => {})
  return useSocketState(socket).state
}
`
}

let work: string
let consumer: string
let server: ReferenceServer

beforeAll(async () => {
  for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/react.js', 'dist/index.d.ts']) {
    if (!existsSync(join(root, file))) {
      throw new Error(`${file} is missing: the package test runs after \`npm run build\`.`)
    }
  }
  work = await mkdtemp(join(tmpdir(), 'resilient-socket-package-'))
  consumer = join(work, 'consumer')
  await mkdir(consumer)

  const packed = JSON.parse(
    await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      root,
      60_000,
    ),
  ) as { filename: string }[]
  const tarball = join(work, packed[0]?.filename ?? '')

  for (const [name, text] of Object.entries(consumerFiles)) {
    await writeFile(join(consumer, name), text)
  }
  // Every package comes from npm's cache when it has it (this project's own install put
  // them there); the versions are the ones this project develops against.
  const pinned = (name: string): string => `${name}@${pkg.devDependencies[name]}`
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--ignore-scripts',
      '--loglevel=error',
      tarball,
      pinned('react'),
      pinned('@types/react'),
      pinned('@types/node'),
    ],
    consumer,
    150_000,
  )
  server = await startServer()
})

afterAll(async () => {
  await server?.close()
  if (work) await rm(work, { recursive: true, force: true })
})

describe('the packed package, installed into a fresh project', () => {
  test('installs with only its declared runtime dependencies', () => {
    const installed = JSON.parse(
      readFileSync(join(consumer, 'node_modules/resilient-socket/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> }
    expect(Object.keys(installed.dependencies).sort()).toEqual(['nanoid'])
    for (const dep of ['nanoid']) {
      expect(existsSync(join(consumer, 'node_modules', dep, 'package.json'))).toBe(true)
    }
    // Only what `files` allows: no sources, tests or configs.
    expect(existsSync(join(consumer, 'node_modules/resilient-socket/src'))).toBe(false)
    expect(existsSync(join(consumer, 'node_modules/resilient-socket/dist/index.js'))).toBe(true)
  })

  test.each([
    ['esm', 'round-trip.mjs', '/node_modules/resilient-socket/dist/index.js'],
    ['cjs', 'round-trip.cjs', '/node_modules/resilient-socket/dist/index.cjs'],
  ])('%s: a real round trip against the reference server', async (format, file, entry) => {
    server.control.clearReceived()
    const result = await runNode(file, server.url)
    expect(String(result.resolved)).toMatch(new RegExp(`${entry.replaceAll('.', '\\.')}$`))
    expect(result).toMatchObject({
      sent: 'sent',
      event: { from: format },
      reply: { from: format, n: 42 },
      remote: {
        isRemoteError: true,
        isSocketError: true,
        code: 'REMOTE_ERROR',
        remoteCode: 'PACKED',
      },
      state: 'closed',
    })
    expect(server.control.received().map((m) => [m.type, m.data])).toEqual([
      ['note', { from: format }],
      ['echo', { from: format, n: 42 }],
      ['fail', { code: 'PACKED', message: `from ${format}` }],
    ])
  })

  test.each([
    ['esm', 'react.mjs', '/node_modules/resilient-socket/dist/react.js'],
    ['cjs', 'react.cjs', '/node_modules/resilient-socket/dist/react.cjs'],
  ])('%s: resilient-socket/react resolves and exports the hooks', async (_format, file, entry) => {
    const result = await runNode(file)
    expect(String(result.resolved)).toMatch(new RegExp(`${entry.replaceAll('.', '\\.')}$`))
    expect(result.exports).toMatchObject({
      useSocket: 'function',
      useSocketState: 'function',
      useMessage: 'function',
    })
  })

  test.each([
    ['nodenext (ESM and CJS files)', 'tsconfig.nodenext.json'],
    ['bundler', 'tsconfig.bundler.json'],
  ])('tsc accepts a typed consumer with moduleResolution %s', async (_name, tsconfig) => {
    await run(process.execPath, [tsc, '-p', tsconfig], consumer, 60_000)
  })
})
