// A loopback TCP relay in front of the echo server that can reset every connection through
// it: what a NAT rebinding, a load balancer restart or a flaky mobile link does to a
// WebSocket. Whatever the relay or the kernel still held for a connection is lost with it.
import { connect, createServer, type Socket } from 'node:net'

export interface CutProxy {
  readonly url: string
  /** Resets (TCP RST) every connection through the relay; returns how many there were. */
  cut(): number
  close(): Promise<void>
}

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  const pairs = new Set<[Socket, Socket]>()

  const server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' })
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    // pipe() honours backpressure in both directions, as a real relay would.
    client.pipe(upstream)
    upstream.pipe(client)
    for (const socket of pair) {
      socket.on('close', end)
      // Resets end in 'close'; the listener keeps them from crashing the process.
      socket.on('error', () => {})
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('proxy has no port')

  return {
    url: `ws://127.0.0.1:${address.port}`,
    cut() {
      const count = pairs.size
      for (const pair of [...pairs]) {
        pairs.delete(pair)
        for (const socket of pair) socket.resetAndDestroy()
      }
      return count
    },
    close() {
      for (const pair of pairs) for (const socket of pair) socket.destroy()
      pairs.clear()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
