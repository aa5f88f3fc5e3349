import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { RecoveryCount, ServerCommand, ServerMessage } from './echo-server.ts'

const SCRIPT = fileURLToPath(new URL('./echo-server.ts', import.meta.url))
const START_TIMEOUT_MS = 15_000
const REPLY_TIMEOUT_MS = 10_000

/** The echo server in a child process, and the few things the scenarios ask of it. */
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
    const child = fork(SCRIPT, ['--port', String(port)], {
      execPath: process.execPath,
      // No inherited --cpu-prof / --expose-gc: the server is not what is measured.
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`echo server did not start within ${START_TIMEOUT_MS} ms`))
      }, START_TIMEOUT_MS)
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`echo server exited with ${code} before listening (port ${port} taken?)`))
      })
      child.on('message', (message: ServerMessage) => {
        if (message.event !== 'ready') return
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve(new EchoServer(child, message.port, message.upAt))
      })
    })
  }

  async connections(): Promise<number> {
    const reply = await this.#ask({ cmd: 'connections' }, 'connections')
    return reply.event === 'connections' ? reply.count : 0
  }

  async recovery(): Promise<RecoveryCount> {
    const reply = await this.#ask({ cmd: 'recovery' }, 'recovery')
    if (reply.event !== 'recovery') throw new Error('unexpected reply')
    return reply.count
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

  #ask(command: ServerCommand, event: ServerMessage['event']): Promise<ServerMessage> {
    const child = this.#child
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage)
        reject(new Error(`echo server did not answer "${command.cmd}"`))
      }, REPLY_TIMEOUT_MS)
      const onMessage = (message: ServerMessage): void => {
        if (message.event !== event) return
        clearTimeout(timer)
        child.off('message', onMessage)
        resolve(message)
      }
      child.on('message', onMessage)
      child.send(command)
    })
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
