import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CompanionCommand, CompanionMessage, PushCount } from './companion-server.ts'
import type { RecoveryCount } from './echo-server.ts'

type ServerCommand = CompanionCommand
type ServerMessage = CompanionMessage

const ECHO_SCRIPT = fileURLToPath(new URL('./echo-server.ts', import.meta.url))
const COMPANION_SCRIPT = fileURLToPath(new URL('./companion-server.ts', import.meta.url))
const START_TIMEOUT_MS = 15_000
const REPLY_TIMEOUT_MS = 10_000

/** What the companion counted: the client → server stream, and its own push stream. */
export interface CompanionCount {
  count: RecoveryCount
  push: PushCount
  /** The first server errors since the last reset. */
  errors: string[]
}

/**
 * The echo server (or the companion, `EchoServer.companion()`) in a child process, and the
 * few things the scenarios ask of it.
 */
export class EchoServer {
  readonly port: number
  /** When the server started listening (epoch ms, sub-millisecond, from the child's clock). */
  readonly upAt: number
  readonly #child: ChildProcess

  private constructor(child: ChildProcess, port: number, upAt: number) {
    this.#child = child
    this.port = port
    this.upAt = upAt
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  /** Forks the server (on `port`, or a free one) and resolves once it listens. */
  static start(port = 0): Promise<EchoServer> {
    return EchoServer.#start(forkServer(port, false), port)
  }

  /** `resilient-socket/server` (bench/companion-server.ts) instead of the thin echo server. */
  static companion(): Promise<EchoServer> {
    return EchoServer.#start(forkServer(0, false, COMPANION_SCRIPT), 0)
  }

  static #start(child: ChildProcess, port: number): Promise<EchoServer> {
    return until(child, 'ready', port).then((ready) => {
      if (ready.event !== 'ready') throw new Error('unexpected reply')
      return new EchoServer(child, ready.port, ready.upAt)
    })
  }

  /**
   * Forks a server that is started but not yet listening on `port`: `listen()` then takes
   * a few milliseconds instead of a process start-up, so an outage lasts what it should.
   */
  static async standby(port: number): Promise<{ listen(): Promise<EchoServer> }> {
    const child = forkServer(port, true)
    await until(child, 'standby', port)
    return {
      listen() {
        const ready = until(child, 'ready', port)
        child.send({ cmd: 'listen' } satisfies ServerCommand)
        return ready.then((message) => {
          if (message.event !== 'ready') throw new Error('unexpected reply')
          return new EchoServer(child, message.port, message.upAt)
        })
      },
    }
  }

  async connections(): Promise<number> {
    const reply = await this.#ask({ cmd: 'connections' }, 'connections')
    return reply.event === 'connections' ? reply.count : 0
  }

  async recovery(): Promise<RecoveryCount> {
    const reply = await this.#ask({ cmd: 'recovery' }, ['recovery', 'companion'])
    if (reply.event !== 'recovery' && reply.event !== 'companion') {
      throw new Error('unexpected reply')
    }
    return reply.count
  }

  /** The companion's counts in both directions (the echo server has no push stream). */
  async companionCount(): Promise<CompanionCount> {
    const reply = await this.#ask({ cmd: 'recovery' }, ['recovery', 'companion'])
    if (reply.event !== 'companion') throw new Error('not the companion server')
    return { count: reply.count, push: reply.push, errors: reply.errors }
  }

  /** Starts the companion's server → client stream: `count` frames at `perMs` per ms. */
  async push(count: number, perMs: number): Promise<void> {
    await this.#ask({ cmd: 'push', count, perMs }, 'pushing')
  }

  /** When each connection was accepted since the last call (epoch ms, the clock of `upAt`). */
  async acceptLog(): Promise<number[]> {
    const reply = await this.#ask({ cmd: 'acceptLog' }, 'acceptLog')
    return reply.event === 'acceptLog' ? reply.times : []
  }

  async reset(): Promise<void> {
    await this.#ask({ cmd: 'reset' }, 'reset')
  }

  /** Polls until the server holds `count` connections (or fewer, with `atMost`). */
  async waitForConnections(count: number, atMost = false, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const n = await this.connections()
      if (atMost ? n <= count : n >= count) return
      if (Date.now() > deadline)
        throw new Error(`server has ${n} connections, waited for ${atMost ? '≤' : '≥'} ${count}`)
      await sleep(20)
    }
  }

  /** The crash: SIGKILL, no close frames, every TCP connection reset by the kernel. */
  kill(): Promise<void> {
    return this.#end('SIGKILL')
  }

  stop(): Promise<void> {
    return this.#end('SIGTERM')
  }

  #end(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      child.once('exit', () => resolve())
      child.kill(signal)
    })
  }

  #ask(
    command: ServerCommand,
    event: ServerMessage['event'] | ServerMessage['event'][],
  ): Promise<ServerMessage> {
    const events: string[] = Array.isArray(event) ? event : [event]
    const child = this.#child
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage)
        reject(new Error(`echo server did not answer "${command.cmd}"`))
      }, REPLY_TIMEOUT_MS)
      const onMessage = (message: ServerMessage): void => {
        if (!events.includes(message.event)) return
        clearTimeout(timer)
        child.off('message', onMessage)
        resolve(message)
      }
      child.on('message', onMessage)
      child.send(command)
    })
  }
}

function forkServer(port: number, standby: boolean, script = ECHO_SCRIPT): ChildProcess {
  return fork(script, ['--port', String(port), ...(standby ? ['--standby'] : [])], {
    execPath: process.execPath,
    // No inherited --cpu-prof / --expose-gc: the server is not what is measured.
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
}

/** The child's next `event` message; rejects if it exits first or takes too long. */
function until(
  child: ChildProcess,
  event: 'ready' | 'standby',
  port: number,
): Promise<ServerMessage> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer)
      child.off('exit', onExit)
      child.off('error', onError)
      child.off('message', onMessage)
    }
    const timer = setTimeout(() => {
      done()
      child.kill('SIGKILL')
      reject(new Error(`echo server: no "${event}" within ${START_TIMEOUT_MS} ms`))
    }, START_TIMEOUT_MS)
    const onExit = (code: number | null): void => {
      done()
      reject(new Error(`echo server exited with ${code} before listening (port ${port} taken?)`))
    }
    const onMessage = (message: ServerMessage): void => {
      if (message.event !== event) return
      done()
      resolve(message)
    }
    const onError = (error: Error): void => {
      done()
      reject(error)
    }
    child.on('error', onError)
    child.on('exit', onExit)
    child.on('message', onMessage)
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
