import { describe, expect, it, onTestFinished } from 'vitest'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { clientForTest, delay, openClient, serverForTest, until } from './helpers.ts'

async function proxyForTest(targetPort: number) {
  const proxy = await startTcpProxy(targetPort)
  onTestFinished(() => proxy.close())
  return proxy
}

describe('tcp proxy', () => {
  it('relays a WebSocket both ways', async () => {
    const server = await serverForTest()
    const proxy = await proxyForTest(server.port)
    expect(proxy.url).toBe(`ws://127.0.0.1:${proxy.port}`)
    const client = await openClient(
      `${proxy.url}/secure?access_token=${server.control.issueToken().token}`,
    )
    expect((await client.request('echo', { via: 'proxy' })).data).toEqual({ via: 'proxy' })
    expect(proxy.connections()).toBe(1)
    expect(server.control.status().connections[0]?.path).toBe('/secure')
  })

  it('blackhole() swallows bytes both ways without closing anything', async () => {
    const server = await serverForTest()
    const proxy = await proxyForTest(server.port)
    const client = await openClient(proxy.url)
    let closed = false
    client.ws.addEventListener('close', () => {
      closed = true
    })

    proxy.blackhole()
    client.send({ type: '$ping', id: 'lost' })
    client.send({ type: 'echo', id: 'lost-too', data: 1 })
    server.control.broadcast('also-lost', null)
    // The server side dies too: a real half-open link hides that from the client.
    server.control.dropAll()

    expect(await client.quietFor(200)).toBe(true)
    expect(server.control.status().received).toBe(0)
    expect(closed).toBe(false)
    expect(client.ws.readyState).toBe(WebSocket.OPEN)
    expect(proxy.connections()).toBe(1)

    // New connections go nowhere either: TCP connects, the handshake never completes.
    const stuck = clientForTest(proxy.url)
    await delay(150)
    expect(stuck.ws.readyState).toBe(WebSocket.CONNECTING)
    expect(proxy.connections()).toBe(2)
    expect(server.control.status().connections).toEqual([])

    // Lifting it tears down the pair whose far side is gone.
    proxy.blackhole(false)
    expect((await client.ended).code).toBe(1006)
    await until(() => proxy.connections() === 1)
  })

  it('connects normally again once the blackhole is lifted', async () => {
    const server = await serverForTest()
    const proxy = await proxyForTest(server.port)
    proxy.blackhole(true)
    proxy.blackhole(false)
    const client = await openClient(proxy.url)
    expect((await client.request('echo', 'clear')).data).toBe('clear')
  })

  it('passes a server close through, and close() destroys every socket', async () => {
    const server = await serverForTest()
    const proxy = await startTcpProxy(server.port)
    const a = await openClient(proxy.url)
    server.control.closeAll(4000, 'bye')
    expect(await a.ended).toEqual({ code: 4000, reason: 'bye' })
    await until(() => proxy.connections() === 0)

    const b = await openClient(proxy.url)
    await proxy.close()
    expect((await b.ended).code).toBe(1006)
    expect(proxy.connections()).toBe(0)
    const refused = clientForTest(proxy.url)
    await expect(refused.opened).rejects.toThrow()
  })
})
