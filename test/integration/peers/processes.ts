import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach } from 'vitest'

const PEERS_DIR = import.meta.dirname

/** How long a peer may take to start on a loaded 2-core machine before the test gives up. */
const START_TIMEOUT_MS = 15_000
/** How long a peer may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000
/** Starting on a port taken between probing it and binding it is retried this many times. */
const PORT_RACE_TRIES = 3

/** A child process owned by one test: stopped after it, whatever the outcome. */
export interface Peer {
  readonly name: string
  readonly port: number
  /** What it wrote so far, for failure messages. */
  output(): string
  stop(): Promise<void>
}

/** A port that was free a moment ago on 127.0.0.1 (the peer binding it may still race). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address !== 'object') throw new Error('no port from listen(0)')
  return address.port
}

/**
 * The first of `candidates` that runs `args` successfully, or a clear failure: these
 * tests need the real programs and are never skipped (`.ci/run` installs them).
 */
export function requireProgram(
  what: string,
  candidates: readonly string[],
  args: readonly string[],
  install: string,
): string {
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, args, { stdio: 'ignore', timeout: 10_000 })
      return candidate
    } catch {
      // Not there, or not the one that works: try the next.
    }
  }
  throw new Error(
    `${what} is required by this test and was not found (tried ${candidates.join(', ')}). ` +
      `Install it with \`${install}\`; .ci/run does.`,
  )
}

/** `{{NAME}}` placeholders of a template in this directory, every one of them filled. */
export function fillTemplate(file: string, values: Record<string, string | number>): string {
  const text = readFileSync(join(PEERS_DIR, file), 'utf8').replace(
    /\{\{(\w+)\}\}/g,
    (whole, name: string) => {
      if (!(name in values)) throw new Error(`${file}: no value for ${whole}`)
      return String(values[name])
    },
  )
  return text
}

/** A fresh temporary directory, removed with the peer that uses it. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `resilient-socket-${prefix}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

const exited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit)
      resolve(false)
    }, timeoutMs)
    const onExit = (): void => {
      clearTimeout(timer)
      resolve(true)
    }
    child.once('exit', onExit)
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return
  child.kill('SIGTERM')
  if (await waitForExit(child, STOP_TIMEOUT_MS)) return
  child.kill('SIGKILL')
  if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
    throw new Error(`pid ${child.pid} survived SIGKILL for ${STOP_TIMEOUT_MS} ms`)
  }
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export interface StartOptions {
  name: string
  command: string
  args: readonly string[]
  /**
   * Ready once this returns a port: from the output (a peer that picks its own), or
   * after a TCP connect to a port it was given succeeds.
   */
  ready: { outputLine: RegExp } | { port: number }
  onStop?: () => void
}

/** Spawns a peer and resolves once it accepts connections; rejects with its output otherwise. */
export async function startPeer(options: StartOptions): Promise<Peer> {
  const { name, command, args, ready } = options
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  let spawnError: Error | undefined
  child.once('error', (error) => {
    spawnError = error
  })
  const peer = (port: number): Peer => ({
    name,
    port,
    output: () => output,
    async stop() {
      try {
        await stopChild(child)
      } finally {
        options.onStop?.()
      }
    },
  })

  const deadline = Date.now() + START_TIMEOUT_MS
  try {
    for (;;) {
      if (spawnError) throw spawnError
      if (exited(child)) {
        throw new Error(`exited with ${child.exitCode ?? child.signalCode} before it was ready`)
      }
      if ('outputLine' in ready) {
        const port = Number(ready.outputLine.exec(output)?.[1])
        if (port > 0) return peer(port)
      } else if (await tcpAccepts(ready.port)) {
        return peer(ready.port)
      }
      if (Date.now() > deadline) throw new Error(`not ready after ${START_TIMEOUT_MS} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } catch (error) {
    await peer(0).stop()
    throw new Error(
      `${name} (${command} ${args.join(' ')}) failed to start: ${(error as Error).message}\n` +
        `--- its output ---\n${output}`,
    )
  }
}

/**
 * Starts a peer on a free port chosen here, again on another port if the first was taken
 * in between (the peer then exits at once with "address in use").
 */
export async function startOnFreePort<P extends Peer>(
  start: (port: number) => Promise<P>,
): Promise<P> {
  let lastError: unknown
  for (let attempt = 0; attempt < PORT_RACE_TRIES; attempt++) {
    try {
      return await start(await freePort())
    } catch (error) {
      lastError = error
      if (!/address already in use|cannot bind|EADDRINUSE/i.test(String(error))) throw error
    }
  }
  throw lastError
}

/**
 * Peers made through this are stopped after each test (`each`) or after the file (`all`).
 * Call it before `integrationHarness()`, so that sockets are closed before their peers.
 */
export function peerHarness(scope: 'each' | 'all' = 'each'): { add<P extends Peer>(peer: P): P } {
  const peers: Peer[] = []
  const hook = scope === 'each' ? afterEach : afterAll
  hook(async () => {
    const failures: unknown[] = []
    for (const peer of peers.splice(0).reverse()) {
      try {
        await peer.stop()
      } catch (error) {
        failures.push(error)
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'stopping a peer failed')
  })
  return {
    add(peer) {
      peers.push(peer)
      return peer
    },
  }
}

// ── The peers ──────────────────────────────────────────────────────────────────────────

/** Debian's python3 first: a pyenv or venv `python3` earlier on PATH lacks the apt module. */
const PYTHONS = ['/usr/bin/python3', 'python3']

/** The Python `websockets` server of peers/python-peer.py; `url` has no trailing slash. */
export async function startPythonPeer(): Promise<Peer & { url: string }> {
  const python = requireProgram(
    'Python 3 with the websockets module',
    PYTHONS,
    ['-c', 'import websockets'],
    'apt-get install python3-websockets',
  )
  const peer = await startPeer({
    name: 'python websockets peer',
    command: python,
    args: ['-u', join(PEERS_DIR, 'python-peer.py')],
    ready: { outputLine: /^listening (\d+)$/m },
  })
  return Object.assign(peer, { url: `ws://127.0.0.1:${peer.port}` })
}

export interface ProxyOptions {
  /** The port of the WebSocket server on 127.0.0.1. */
  upstreamPort: number
  /** The proxy's idle timeout for an upgraded connection, in whole seconds. */
  idleTimeoutS: number
}

export type ProxyPeer = Peer & { url: string }

/** nginx from peers/nginx.conf.template, in the foreground, on a free port. */
export function startNginx({ upstreamPort, idleTimeoutS }: ProxyOptions): Promise<ProxyPeer> {
  const nginx = requireProgram(
    'nginx',
    ['nginx', '/usr/sbin/nginx'],
    ['-v'],
    'apt-get install nginx',
  )
  return startOnFreePort(async (port) => {
    const dir = tempDir('nginx')
    const config = join(dir.path, 'nginx.conf')
    writeFileSync(
      config,
      fillTemplate('nginx.conf.template', {
        DIR: dir.path,
        PORT: port,
        UPSTREAM_PORT: upstreamPort,
        IDLE_TIMEOUT: `${idleTimeoutS}s`,
      }),
    )
    const peer = await startPeer({
      name: 'nginx',
      command: nginx,
      // -e: nginx opens its compiled-in error log before reading the config otherwise.
      args: ['-p', dir.path, '-c', config, '-e', 'stderr'],
      ready: { port },
      onStop: dir.remove,
    })
    return Object.assign(peer, { url: `ws://127.0.0.1:${port}` })
  })
}

/** HAProxy from peers/haproxy.cfg.template, in the foreground, on a free port. */
export function startHaproxy({ upstreamPort, idleTimeoutS }: ProxyOptions): Promise<ProxyPeer> {
  const haproxy = requireProgram(
    'HAProxy',
    ['haproxy', '/usr/sbin/haproxy'],
    ['-v'],
    'apt-get install haproxy',
  )
  return startOnFreePort(async (port) => {
    const dir = tempDir('haproxy')
    const config = join(dir.path, 'haproxy.cfg')
    writeFileSync(
      config,
      fillTemplate('haproxy.cfg.template', {
        PORT: port,
        UPSTREAM_PORT: upstreamPort,
        IDLE_TIMEOUT: `${idleTimeoutS}s`,
      }),
    )
    const peer = await startPeer({
      name: 'haproxy',
      command: haproxy,
      // -db: stay in the foreground; SIGTERM then stops it at once.
      args: ['-db', '-f', config],
      ready: { port },
      onStop: dir.remove,
    })
    return Object.assign(peer, { url: `ws://127.0.0.1:${port}` })
  })
}
