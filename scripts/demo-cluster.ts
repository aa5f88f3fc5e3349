#!/usr/bin/env node
// `npm run demo:cluster`: a redis-server, two server nodes on it (resilient-socket/server with
// redisStore, each its own process) and a TCP proxy in front that you switch between them,
// to watch a reliable client move from node to node without losing a message.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { startTcpProxy } from '../test/helpers/tcp-proxy.ts'

const ROOT = join(import.meta.dirname, '..')
const NODE_SCRIPT = join(ROOT, 'test/helpers/cluster-node.ts')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address !== 'object') throw new Error('no free port')
  return address.port
}

const dir = mkdtempSync(join(tmpdir(), 'resilient-socket-demo-'))
const redisPort = await freePort()
const redis = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', ''].concat([
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
  ]),
  { stdio: 'ignore' },
)
redis.once('error', (error) => {
  process.stderr.write(
    `could not start redis-server (apt-get install redis-server): ${error.message}\n`,
  )
  process.exit(1)
})
const redisUrl = `redis://127.0.0.1:${redisPort}`

interface Node {
  name: string
  port: number
  child: ChildProcess
}
const nodes = new Map<string, Node>()

async function startNode(name: string, port = 0): Promise<Node> {
  const chosen = port || (await freePort())
  // Up to 10 tries while redis-server starts.
  for (let attempt = 0; attempt < 10; attempt++) {
    const child = spawn(
      process.execPath,
      [NODE_SCRIPT, '--redis', redisUrl, '--name', name, '--port', String(chosen)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const ready = await new Promise<boolean>((resolve) => {
      child.stdout?.setEncoding('utf8').on('data', (line: string) => {
        if (line.includes('"ready"')) resolve(true)
        for (const entry of line.split('\n'))
          if (entry.includes('"up"')) process.stdout.write(`  ${entry}\n`)
      })
      child.once('exit', () => resolve(false))
    })
    if (ready) {
      const node = { name, port: chosen, child }
      nodes.set(name, node)
      return node
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  throw new Error(`node ${name} did not start`)
}

const a = await startNode('a')
const b = await startNode('b')
const proxy = await startTcpProxy(a.port)
let current = 'a'

process.stdout.write(
  [
    '',
    `redis-server (AOF, appendfsync always) on ${redisUrl}`,
    `node a on ws://127.0.0.1:${a.port}, node b on ws://127.0.0.1:${b.port}`,
    `the load balancer (a TCP proxy): ${proxy.url}  <- point a reliable client here, e.g.`,
    `  new ReconnectingSocket('${proxy.url}', { reliable: reliable() }) and send('up', { n })`,
    '',
    'commands: a | b      send new connections to that node and cut the open ones',
    '          kill a|b   SIGKILL that node (a crash); start a|b starts it again on its port',
    '          quit',
    '',
  ].join('\n'),
)

const shutdown = (): void => {
  for (const node of nodes.values()) node.child.kill('SIGKILL')
  redis.kill('SIGTERM')
  void proxy.close()
  setTimeout(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  }, 300)
}
process.once('SIGINT', shutdown)

const input = createInterface({ input: process.stdin })
input.on('line', async (line) => {
  const [command, name = ''] = line.trim().split(/\s+/)
  const node = nodes.get(command === 'a' || command === 'b' ? command : name)
  try {
    if (command === 'quit') return shutdown()
    if ((command === 'a' || command === 'b') && node !== undefined) {
      current = command
      proxy.retarget(node.port)
      proxy.cut()
      process.stdout.write(`new connections go to ${current}; open ones were cut\n`)
    } else if (command === 'kill' && node !== undefined) {
      node.child.kill('SIGKILL')
      process.stdout.write(`${name} killed; switch the proxy to the other node (a or b)\n`)
    } else if (command === 'start' && node !== undefined) {
      await startNode(name, node.port)
      process.stdout.write(`${name} started again on ${node.port}\n`)
    } else process.stdout.write('commands: a, b, kill a|b, start a|b, quit\n')
  } catch (error) {
    process.stdout.write(`${(error as Error).message}\n`)
  }
})
input.once('close', shutdown)
