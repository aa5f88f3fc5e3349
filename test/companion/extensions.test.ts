import { describe, expect, it } from 'vitest'
import type { MessageContext } from '../../server/index.ts'
import { connect, startCompanion, until } from './helpers.ts'

interface Seen {
  type: string
  data: unknown
  requestId: string | undefined
  deliveryId: string | undefined
  connection: string
}

function observer(): {
  seen: Seen[]
  onReceive: (t: string, d: unknown, c: MessageContext) => void
} {
  const seen: Seen[] = []
  return {
    seen,
    onReceive: (type, data, ctx) =>
      seen.push({
        type,
        data,
        requestId: ctx.requestId,
        deliveryId: ctx.deliveryId,
        connection: ctx.id,
      }),
  }
}

describe('companion: onReceive', () => {
  it('sees every event and request in arrival order, unknown and cached ones too, and no $ or malformed frame', async () => {
    const { seen, onReceive } = observer()
    const { url } = await startCompanion({ handlers: { echo: (data) => data }, onReceive })
    const client = await connect(url)
    client.send({ type: '$ping', id: 'p' })
    client.send({ type: 'chat', data: 1 })
    client.sendText('{"type":"echo","id":7}')
    client.send({ type: 'echo', id: 'r1', data: 2 })
    client.send({ type: 'nope', id: 'r2' })
    client.send({ type: 'echo', id: 'r1', data: 2 })
    client.send({ type: 're', re: 'x', data: 3 })
    await client.next((f) => f.re === 'r2')
    await until(() => client.frames.filter((f) => f.re === 'r1').length === 2)
    expect(seen).toEqual([
      { type: 'chat', data: 1, requestId: undefined, deliveryId: undefined, connection: 'c1' },
      { type: 'echo', data: 2, requestId: 'r1', deliveryId: undefined, connection: 'c1' },
      { type: 'nope', data: undefined, requestId: 'r2', deliveryId: undefined, connection: 'c1' },
      // The repeat is answered from the result cache, but it was still received.
      { type: 'echo', data: 2, requestId: 'r1', deliveryId: undefined, connection: 'c1' },
    ])
  })

  it('in a session: once per seq with its delivery id, the duplicate dropped before it', async () => {
    const { seen, onReceive } = observer()
    const { url } = await startCompanion({ onReceive })
    const client = await connect(url)
    const { sid } = await client.hello()
    client.sendSeq({ type: 'a', data: 1 })
    client.send({ type: 'a', data: 1, seq: 1 })
    client.sendSeq({ type: 'b', data: 2 })
    await until(() => client.highestAck() === 2, 3000, 'ack 2')
    expect(seen.map(({ type, deliveryId }) => [type, deliveryId])).toEqual([
      ['a', `${sid}:1`],
      ['b', `${sid}:2`],
    ])
  })

  it('a throwing observer is reported and the frame is still handled', async () => {
    const companion = await startCompanion({
      handlers: { echo: (data) => data },
      onReceive: () => {
        throw new Error('observer broke')
      },
    })
    const client = await connect(companion.url)
    client.send({ type: 'echo', id: 'r', data: 'ok' })
    expect((await client.next((f) => f.re === 'r')).data).toBe('ok')
    expect(companion.errors.map((e) => [e.code, e.message])).toEqual([
      ['HANDLER_FAILED', 'onReceive threw'],
    ])
  })
})

describe('companion: connectionId', () => {
  it('names connections from the adapter extra, and falls back to c<n> (reported) for a taken, empty or throwing answer', async () => {
    const names = ['node-a:1', 'node-a:1', '', 'throw', 'node-a:2']
    const companion = await startCompanion({
      handlers: { whoami: (_data, ctx) => ctx.id },
      connectionId: (extra) => {
        expect(extra).toHaveProperty('request')
        const name = names.shift()
        if (name === 'throw') throw new Error('no name')
        return name as string
      },
    })
    const ids: string[] = []
    for (let i = 0; i < 5; i += 1) {
      const client = await connect(companion.url)
      // Distinct request ids: the result cache answers a repeated one for the same principal.
      client.send({ type: 'whoami', id: `w${i}` })
      ids.push((await client.next((f) => f.re === `w${i}`)).data as string)
    }
    expect(ids).toEqual(['node-a:1', 'c1', 'c2', 'c3', 'node-a:2'])
    expect([...companion.server.connections()].map((c) => c.id)).toEqual(ids)
    expect(companion.errors.map((e) => e.message)).toEqual([
      'connectionId returned "node-a:1", which is in use',
      'connectionId returned no id',
      'connectionId threw',
    ])
  })

  it('refuses a connectionId that is not a function', async () => {
    await expect(startCompanion({ connectionId: 'c' as never })).rejects.toThrow(
      /connectionId must be a function/,
    )
  })
})
