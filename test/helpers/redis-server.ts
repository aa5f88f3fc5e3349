/**
 * A real `redis-server` for a test suite: Debian's package (`.ci/run` installs it), on a free
 * loopback port with its own temporary directory, stopped (and the directory removed) by
 * `stop()`. No persistence unless asked, so a restart loses everything, like a memory store;
 * with `aof` it keeps what the fsync policy promises.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, statSync, truncateSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { freePort, requireProgram, tempDir } from '../integration/peers/processes.ts'

const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000

export interface RedisServerOptions {
  /** Append-only file with this fsync policy; none (no persistence at all) by default. */
  aof?: 'always' | 'everysec'
}

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** What it printed so far, for failure messages. */
  output(): string
  /** Stops it: SIGTERM (a clean shutdown) or SIGKILL (a crash), then starts it again on the same port and directory. */
  restart(how?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  /** Stops it (SIGKILL, as a crash) and leaves it down until `start()`. */
  kill(): Promise<void>
  /** Starts it again after `kill()`. */
  start(): Promise<void>
  stop(): Promise<void>
  /** With `aof`: the size in bytes of the append-only file's newest part now, a mark for `crashLosingAofAfter`. */
  aofMark(): number
  /**
   * With `aof`: a crash that loses every write after `mark`: SIGKILL, the newest AOF part cut
   * back to `mark` bytes, then started again. This is what a power loss does to the writes
   * `everysec` had not fsynced yet; a SIGKILL alone loses none of them (they are in the
   * kernel's page cache), so a test that wants the loss makes it here, at a known point.
   */
  crashLosingAofAfter(mark: number): Promise<void>
}

const exited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/** A PING answered with PONG: up, and done loading its AOF. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.once('error', () => done(false))
  })
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const program = requireProgram(
    'redis-server',
    ['redis-server', '/usr/bin/redis-server'],
    ['--version'],
    'apt-get install -y redis-server',
  )
  const dir = tempDir('redis')
  const port = await freePort()
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir.path,
    '--save',
    '',
    '--daemonize',
    'no',
    ...(options.aof === undefined
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', options.aof]),
  ]
  let output = ''
  let child: ChildProcess | undefined

  const launch = async (): Promise<void> => {
    const started = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    started.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    const deadline = Date.now() + START_TIMEOUT_MS
    for (let attempt = 0; attempt < 1000; attempt++) {
      if (exited(started)) throw new Error(`redis-server exited before it was ready:\n${output}`)
      if (await pong(port)) return
      if (Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    started.kill('SIGKILL')
    throw new Error(`redis-server not ready after ${START_TIMEOUT_MS} ms:\n${output}`)
  }

  const halt = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const running = child
    if (running === undefined || exited(running)) return
    running.kill(signal)
    if (await waitForExit(running, STOP_TIMEOUT_MS)) return
    running.kill('SIGKILL')
    if (!(await waitForExit(running, STOP_TIMEOUT_MS))) {
      throw new Error(`redis-server pid ${running.pid} survived SIGKILL`)
    }
  }

  /** The part Redis appends to (multi-part AOF, Redis >= 7): the highest-numbered `.incr.aof`. */
  const incrFile = (): string => {
    if (options.aof === undefined) throw new Error('this redis-server has no AOF')
    const aofDir = join(dir.path, 'appendonlydir')
    const parts = readdirSync(aofDir)
      .filter((name) => name.endsWith('.incr.aof'))
      .sort((x, y) => Number(x.split('.').at(-3)) - Number(y.split('.').at(-3)))
    const newest = parts.at(-1)
    if (newest === undefined) throw new Error(`no .incr.aof in ${aofDir}`)
    return join(aofDir, newest)
  }

  await launch()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    output: () => output,
    async restart(how = 'SIGTERM') {
      await halt(how)
      await launch()
    },
    kill: () => halt('SIGKILL'),
    aofMark: () => statSync(incrFile()).size,
    async crashLosingAofAfter(mark) {
      await halt('SIGKILL')
      const file = incrFile()
      if (statSync(file).size < mark) throw new Error(`${file} is shorter than the mark ${mark}`)
      truncateSync(file, mark)
      await launch()
    },
    start: launch,
    async stop() {
      try {
        await halt('SIGTERM')
      } finally {
        dir.remove()
      }
    },
  }
}
