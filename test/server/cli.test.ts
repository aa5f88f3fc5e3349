import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { rawRequest, upgradeRequest } from './helpers.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
/** npm, then Node's start-up and type stripping, on a loaded 2-core machine. */
const START_TIMEOUT_MS = 20_000

interface Started {
  child: ChildProcess
  port: number
  secret: string
  stdout: () => string
}

/**
 * `npm run server -- …` exactly as README gives it, in a process group of its own so the
 * test can stop npm and the server together. Resolves once the banner has been printed.
 */
function npmRunServer(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn('npm', ['run', '--silent', 'server', '--', ...args], {
    cwd: root,
    detached: true,
    env: { ...process.env, CONTROL_SECRET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(() => stop(child))
  let stdout = ''
  let stderr = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no banner within ${START_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`))
    }, START_TIMEOUT_MS)
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const url = /listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)
      const secret = /control secret: (\S+)/.exec(stdout)
      if (url?.[1] === undefined || secret?.[1] === undefined) return
      clearTimeout(timer)
      resolve({ child, port: Number(url[1]), secret: secret[1], stdout: () => stdout })
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`npm run server exited with ${code}:\n${stdout}\n${stderr}`))
    })
  })
}

/** SIGTERM to the whole group; resolves when npm has exited (at most 10 s, then SIGKILL). */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return Promise.resolve()
  }
  const pid = child.pid
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {}
    }, 10_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    try {
      process.kill(-pid, 'SIGTERM')
    } catch {
      clearTimeout(timer)
      resolve()
    }
  })
}

describe('npm run server', () => {
  it('starts the reference server on the pinned Node 22 and prints its URL and control secret', async () => {
    const server = await npmRunServer(['--port', '0', '--quiet'])
    expect(server.secret).toMatch(/^[A-Za-z0-9_-]{32,}$/)
    // The system node here is 20; the npm script must pick the pinned one from node_modules.
    const major = Number(/\(Node v(\d+)\./.exec(server.stdout())?.[1])
    expect(major).toBeGreaterThanOrEqual(22)
    expect(server.stdout()).toContain(`GET http://127.0.0.1:${server.port}/token`)

    expect((await upgradeRequest(server.port, '/')).status).toBe(101)
    expect((await rawRequest(server.port, '/control/status')).status).toBe(401)
    const status = await rawRequest(server.port, '/control/status', {
      headers: { Authorization: `Bearer ${server.secret}` },
    })
    expect(status.status).toBe(200)
    expect(JSON.parse(status.body)).toMatchObject({ up: true })

    const exited = new Promise((resolve) => server.child.once('exit', resolve))
    await stop(server.child)
    await exited
    await expect(rawRequest(server.port, '/control/status')).rejects.toThrow()
  })

  it('takes the secret from CONTROL_SECRET and extra origins from --allow-origin', async () => {
    const secret = 'secret-from-the-environment'
    const server = await npmRunServer(
      ['--port', '0', '--quiet', '--allow-origin', 'https://app.test'],
      {
        CONTROL_SECRET: secret,
      },
    )
    expect(server.secret).toBe(secret)
    const status = await rawRequest(server.port, '/control/status', {
      headers: { Authorization: `Bearer ${secret}` },
    })
    expect(status.status).toBe(200)

    const upgrade = (origin: string) =>
      upgradeRequest(server.port, '/', { Origin: origin }).then((r) => r.status)
    expect(await upgrade('https://app.test')).toBe(101)
    expect(await upgrade('http://localhost:5173')).toBe(101)
    expect(await upgrade('https://evil.example')).toBe(403)
  })
})
