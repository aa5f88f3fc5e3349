import type { Socket } from 'node:net'
import { connect, createServer } from 'node:net'

export interface TcpProxy {
  readonly port: number
  /** `ws://127.0.0.1:PORT`; append the path the target expects. */
  readonly url: string
  /**
   * While on, bytes in both directions are read and discarded, and no FIN or reset is
   * passed on either: both peers keep an open socket that goes nowhere, which is what
   * a dead NAT mapping or a pulled cable looks like. Applies to existing and new
   * connections. Turning it off resumes forwarding, but a stream that lost bytes
   * mid-frame stays corrupt, so it mostly matters for new connections; pairs where
   * either side closed or sent FIN meanwhile are destroyed then.
   */
  blackhole(on?: boolean): void
  /**
   * The connections open now go dark for good, as `blackhole()` does, while new ones are
   * forwarded: a node left with a half-open socket (a zombie) after its client moved on.
   * A FIN or close from either side is swallowed too, until `cut()` or `close()`.
   * Returns how many connections it took.
   */
  hold(): number
  /** Resets every connection in both directions at once (a TCP RST each way), as a crashing middlebox does. */
  cut(): void
  /**
   * Points new connections at another backend (a load balancer moving a client to another
   * node). Connections already open stay with the backend they were opened to: cut or
   * blackhole them to move their clients.
   */
  retarget(port: number, host?: string): void
  /** The backend new connections go to now. */
  target(): { port: number; host: string }
  /** Client connections currently open through the proxy. */
  connections(): number
  /** Calls `listener` for every new client connection; returns the unsubscribe function. */
  onConnection(listener: () => void): () => void
  /** Destroys every socket and stops listening. */
  close(): Promise<void>
}

interface Pair {
  client: Socket
  upstream: Socket
  /** Dark for good (`hold()`). */
  held: boolean
}

/**
 * A loopback TCP relay to `targetHost:targetPort` that can turn into a black hole, and be
 * pointed at another backend for the connections that open after.
 */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  let backend = { port: targetPort, host: targetHost }
  const pairs = new Set<Pair>()
  const connectionListeners = new Set<() => void>()
  let blackholed = false

  const destroy = (pair: Pair): void => {
    pairs.delete(pair)
    pair.client.destroy()
    pair.upstream.destroy()
  }

  const relay = (pair: Pair, from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (blackholed || pair.held || to.destroyed) return
      // Honour backpressure so a paused reader really fills the sender's buffers.
      if (!to.write(chunk)) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    })
    from.on('end', () => {
      if (!blackholed && !pair.held) to.end()
    })
    from.on('close', () => {
      if (!blackholed && !pair.held) destroy(pair)
    })
    // Errors end in 'close'; the listener only keeps them from crashing the process.
    from.on('error', () => {})
  }

  // allowHalfOpen: a FIN is forwarded as a FIN, not turned into a full close.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ ...backend, allowHalfOpen: true })
    const pair: Pair = { client, upstream, held: false }
    pairs.add(pair)
    relay(pair, client, upstream)
    relay(pair, upstream, client)
    for (const listener of connectionListeners) listener()
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('proxy has no port')
  const { port } = address

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    blackhole(on = true) {
      blackholed = on
      if (on) return
      for (const pair of pairs) {
        if (pair.held) continue
        if (isGone(pair.client) || isGone(pair.upstream)) destroy(pair)
      }
    },
    hold() {
      for (const pair of pairs) pair.held = true
      return pairs.size
    },
    cut() {
      for (const pair of pairs) {
        pairs.delete(pair)
        pair.client.resetAndDestroy()
        pair.upstream.resetAndDestroy()
      }
    },
    retarget(port, host = '127.0.0.1') {
      if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
        throw new RangeError(`retarget needs a port in 1..65535, got ${String(port)}`)
      }
      backend = { port, host }
    },
    target: () => ({ ...backend }),
    connections: () => pairs.size,
    onConnection(listener) {
      connectionListeners.add(listener)
      return () => connectionListeners.delete(listener)
    },
    close() {
      for (const pair of pairs) destroy(pair)
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** Closed, or half-closed by the peer: a FIN that was swallowed while blackholed. */
function isGone(socket: Socket): boolean {
  return socket.destroyed || socket.readableEnded
}
