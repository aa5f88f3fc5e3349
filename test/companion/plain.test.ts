import { describe, expect, it } from 'vitest'
import { RequestError } from '../../server/index.ts'
import { connect, startCompanion, until } from './helpers.ts'

describe('companion: envelope, requests, events', () => {
  it('answers $ping with $pong, re = the ping id', async () => {
    const { url } = await startCompanion()
    const client = await connect(url)
    client.send({ type: '$ping', id: 'p1' })
    expect(await client.nextOf('$pong')).toEqual({ type: '$pong', re: 'p1' })
  })

  it('answers requests from handlers, sync or async, and unknown types with UNKNOWN_REQUEST', async () => {
    const { url } = await startCompanion({
      handlers: {
        echo: (data) => data,
        later: async (data) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          return { later: data }
        },
      },
    })
    const client = await connect(url)
    client.send({ type: 'echo', id: 'r1', data: { a: 1 } })
    client.send({ type: 'later', id: 'r2', data: 2 })
    client.send({ type: 'nope', id: 'r3' })
    expect(await client.next((f) => f.re === 'r1')).toEqual({
      type: 'echo',
      re: 'r1',
      data: { a: 1 },
    })
    expect(await client.next((f) => f.re === 'r2')).toEqual({
      type: 'later',
      re: 'r2',
      data: { later: 2 },
    })
    const unknown = await client.next((f) => f.re === 'r3')
    expect(unknown.error?.code).toBe('UNKNOWN_REQUEST')
  })

  it('turns a RequestError into its code and message, and any other throw into INTERNAL without its text', async () => {
    const companion = await startCompanion({
      handlers: {
        missing: () => {
          throw new RequestError('NOT_FOUND', 'no such room')
        },
        broken: async () => {
          throw new Error('database password is hunter2')
        },
      },
    })
    const client = await connect(companion.url)
    client.send({ type: 'missing', id: 'a' })
    client.send({ type: 'broken', id: 'b' })
    expect((await client.next((f) => f.re === 'a')).error).toEqual({
      code: 'NOT_FOUND',
      message: 'no such room',
    })
    const broken = await client.next((f) => f.re === 'b')
    expect(broken.error?.code).toBe('INTERNAL')
    expect(JSON.stringify(broken)).not.toContain('hunter2')
    expect(companion.errors.map((e) => e.code)).toEqual(['HANDLER_FAILED'])
    // The connection still works after both.
    client.send({ type: '$ping', id: 'still' })
    await client.nextOf('$pong')
  })

  it('delivers events to on(type) listeners, and ctx.send pushes to that one connection', async () => {
    const companion = await startCompanion()
    const seen: unknown[] = []
    companion.server.on('chat', async (data, ctx) => {
      seen.push(data)
      await ctx.send('chat', { echoed: data })
    })
    companion.server.on('chat', () => {
      throw new Error('a bad listener')
    })
    const a = await connect(companion.url)
    const b = await connect(companion.url)
    a.send({ type: 'chat', data: 'hi' })
    expect(await a.nextOf('chat')).toEqual({ type: 'chat', data: { echoed: 'hi' } })
    expect(seen).toEqual(['hi'])
    expect(await b.quietFor(100)).toBe(true)
    await until(() => companion.errors.length === 1)
    expect(companion.errors[0]?.code).toBe('HANDLER_FAILED')
  })

  it('drops a listener on its unsubscribe, and hands unhandled events to onUnhandledEvent', async () => {
    const unhandled: string[] = []
    const companion = await startCompanion({
      onUnhandledEvent: (type, _data, ctx) => {
        unhandled.push(type)
        return ctx.send('unhandled', type)
      },
    })
    const off = companion.server.on('x', () => {
      throw new Error('must not run')
    })
    off()
    const client = await connect(companion.url)
    client.send({ type: 'x' })
    expect((await client.nextOf('unhandled')).data).toBe('x')
    expect(unhandled).toEqual(['x'])
    expect(companion.errors).toEqual([])
  })
})

describe('companion: hostile frames (plain mode)', () => {
  it('reports and drops frames the client decoder refuses, answers a request among them with DECODE_FAILED, and stays up', async () => {
    const companion = await startCompanion({ handlers: { echo: (d) => d } })
    const client = await connect(companion.url)
    client.sendText('not json')
    client.sendText('[1,2]')
    client.sendText('{"data":1}')
    client.sendText('{"type":"echo","id":"bad","data":{"__proto__":{"polluted":true}}}')
    client.sendText('{"type":"echo","id":"esc","data":{"\\u005f_proto__":{"polluted":true}}}')
    client.sendText('{"type":"echo","id":7}')
    const bad = await client.next((f) => f.re === 'bad')
    expect(bad.error?.code).toBe('DECODE_FAILED')
    expect((await client.next((f) => f.re === 'esc')).error?.code).toBe('DECODE_FAILED')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    client.send({ type: 'echo', id: 'ok', data: 1 })
    expect((await client.next((f) => f.re === 'ok')).data).toBe(1)
    await until(() => companion.errors.length === 6)
    expect(companion.errors.every((e) => e.code === 'DECODE_FAILED')).toBe(true)
  })

  it('closes with 1009 on a text frame over maxMessageBytes', async () => {
    const { url } = await startCompanion({ maxMessageBytes: 1000 }, { maxPayload: 1_000_000 })
    const client = await connect(url)
    client.send({ type: 'big', data: 'x'.repeat(2000) })
    expect((await client.closeInfo()).code).toBe(1009)
  })

  it('hands binary frames to onBinary, and ignores them without it', async () => {
    const got: number[] = []
    const { url } = await startCompanion({ onBinary: (data) => void got.push(data.byteLength) })
    const client = await connect(url)
    client.ws.send(new Uint8Array([1, 2, 3]))
    await until(() => got.length === 1)
    expect(got).toEqual([3])

    const quiet = await startCompanion()
    const other = await connect(quiet.url)
    other.ws.send(new Uint8Array([1]))
    other.send({ type: '$ping', id: 'p' })
    await other.nextOf('$pong')
    expect(quiet.errors).toEqual([])
  })

  it('ignores $ types it does not know', async () => {
    const { url } = await startCompanion()
    const client = await connect(url)
    client.send({ type: '$future', data: 1 })
    client.send({ type: '$ping', id: 'p' })
    expect(await client.nextOf('$pong')).toEqual({ type: '$pong', re: 'p' })
    expect(client.frames).toHaveLength(1)
  })
})

describe('companion: late answers', () => {
  it('a response ready after the client left goes nowhere, quietly (no crash, no unhandled rejection)', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let finished = false
    const companion = await startCompanion({
      handlers: {
        slow: async () => {
          await gate
          finished = true
          return 'late'
        },
      },
    })
    const client = await connect(companion.url)
    client.send({ type: 'slow', id: 'r' })
    client.send({ type: '$ping', id: 'p' })
    await client.nextOf('$pong')
    client.terminate()
    await until(() => [...companion.server.connections()].length === 0)
    release()
    await until(() => finished)
    // A tick for the response to be attempted, then the server must still serve.
    await new Promise((resolve) => setTimeout(resolve, 10))
    const next = await connect(companion.url)
    next.send({ type: '$ping', id: 'q' })
    await next.nextOf('$pong')
    expect(companion.errors).toEqual([])
  })
})
