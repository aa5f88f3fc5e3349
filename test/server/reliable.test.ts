/**
 * The reference server is the companion plus faults: reliable clients (`$hello` first) get
 * sessions in a memory store, and its faults act on them as they would on a real server.
 */
import { describe, expect, it } from 'vitest'
import { connect, type RawClient, until } from '../companion/helpers.ts'
import { serverForTest } from './helpers.ts'

const echoes = (client: RawClient): unknown[] =>
  client
    .sequenced()
    .filter((f) => f.type === 'note')
    .map((f) => [f.seq, f.data])

describe('reliable sessions on the reference server', () => {
  it('sequences what it sends, acks what it got, and logs each frame once with its delivery id', async () => {
    const server = await serverForTest()
    const client = await connect(server.url)
    const session = await client.hello()
    expect(session).toMatchObject({ resumed: false, in: 0, out: 0 })
    client.sendSeq({ type: 'note', data: 'a' })
    client.send({ type: 'note', data: 'a', seq: 1 }) // a duplicate: dropped, acked again
    client.sendSeq({ type: 'echo', id: 'r1', data: 'b' })
    expect(await client.next((f) => f.re === 'r1')).toMatchObject({ seq: 2, data: 'b' })
    expect(echoes(client)).toEqual([[1, 'a']])
    await until(() => client.highestAck() === 2, 3000, 'ack 2')
    expect(
      server.control.received().map(({ type, id, deliveryId }) => ({ type, id, deliveryId })),
    ).toEqual([
      { type: 'note', id: undefined, deliveryId: `${session.sid}:1` },
      { type: 'echo', id: 'r1', deliveryId: `${session.sid}:2` },
    ])
  })

  it('after dropAll(), a $resume replays what the client had not seen, under the same seqs', async () => {
    const server = await serverForTest()
    const first = await connect(server.url)
    const { sid } = await first.hello()
    first.sendSeq({ type: 'note', data: 1 })
    first.sendSeq({ type: 'note', data: 2 })
    await until(() => echoes(first).length === 2, 3000, 'two echoes')
    expect(server.control.dropAll()).toBe(1)
    await first.closeInfo()

    const second = await connect(server.url)
    // It delivered the first echo only; the server committed both notes.
    expect(await second.resume(sid, 1, 0)).toMatchObject({ sid, resumed: true, in: 2, out: 2 })
    await until(() => echoes(second).length === 1, 3000, 'the replay')
    expect(echoes(second)).toEqual([[2, 2]])
    second.sendSeq({ type: 'note', data: 3 })
    await until(() => echoes(second).length === 2, 3000, 'the next echo')
    expect(echoes(second)).toEqual([
      [2, 2],
      [3, 3],
    ])
  })

  it('frames written while silenced are logged, and replayed after the half-open link is cut', async () => {
    const server = await serverForTest()
    const first = await connect(server.url)
    const { sid } = await first.hello()
    expect(server.control.silence()).toBe(1)
    first.sendSeq({ type: 'note', data: 'unheard' })
    await server.control.waitForReceived(1)
    expect(await first.quietFor(150)).toBe(true)
    server.control.dropAll()
    await first.closeInfo()

    const second = await connect(server.url)
    expect(await second.resume(sid, 0, 0)).toMatchObject({ resumed: true, in: 1, out: 1 })
    await until(() => echoes(second).length === 1, 3000, 'the replay')
    expect(echoes(second)).toEqual([[1, 'unheard']])
  })

  it('restart() drops the sessions by default, as a memory store does, and keeps them with store: keep', async () => {
    const server = await serverForTest()
    const client = await connect(server.url)
    const { sid } = await client.hello()
    client.sendSeq({ type: 'note', data: 'x' })
    await until(() => echoes(client).length === 1, 3000, 'the echo')

    await server.control.restart(0, { store: 'keep' })
    const kept = await connect(server.url)
    expect(await kept.resume(sid, 1, 0)).toMatchObject({ sid, resumed: true, in: 1, out: 1 })
    kept.close(4000)
    await kept.closeInfo()

    await server.control.restart(0)
    const dropped = await connect(server.url)
    const lost = await dropped.resume(sid, 1, 1)
    expect(lost).toMatchObject({ resumed: false, reason: 'unknown-session', in: 0, out: 0 })
    expect(lost.sid).not.toBe(sid)
  })

  it('a handler in flight dies with the restart: the request is run again after the resume, once', async () => {
    const server = await serverForTest()
    const first = await connect(server.url)
    const { sid } = await first.hello()
    first.sendSeq({ type: 'slow', id: 's1', data: { delayMs: 300 } })
    await server.control.waitForReceived(1)
    await server.control.restart(0, { store: 'keep' })
    await first.closeInfo()

    const second = await connect(server.url)
    // Not committed: the handler never finished, so the client sends it again.
    expect(await second.resume(sid, 0, 0)).toMatchObject({ resumed: true, in: 0, out: 0 })
    second.sendSeq({ type: 'slow', id: 's1', data: { delayMs: 300 } })
    expect(await second.next((f) => f.re === 's1')).toMatchObject({
      seq: 1,
      data: { delayMs: 300 },
    })
    expect(await second.quietFor(400, (f) => f.re === 's1')).toBe(true)
    expect(server.control.received().map((m) => m.id)).toEqual(['s1', 's1'])
  })

  it('restart over HTTP takes store=keep|drop and refuses anything else', async () => {
    const server = await serverForTest()
    const post = (query: string): Promise<Response> =>
      fetch(`${server.httpUrl}/control/restart?${query}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.controlSecret}` },
      })
    expect((await post('downMs=0&store=maybe')).status).toBe(400)
    await expect(server.control.restart(0, { store: 'maybe' as 'keep' })).rejects.toThrow(
      /keep or drop/,
    )
    await expect(server.stop({ store: 'maybe' as 'keep' })).rejects.toThrow(/'keep' or 'drop'/)
    expect(server.control.status().up).toBe(true)

    const client = await connect(server.url)
    const { sid } = await client.hello()
    expect((await post('downMs=0&store=keep')).status).toBe(202)
    await client.closeInfo()
    await until(() => server.control.status().up, 3000, 'back up')
    const again = await connect(server.url)
    expect(await again.resume(sid, 0, 0)).toMatchObject({ sid, resumed: true })
  })
})

describe('control into sessions', () => {
  it('sessionOf() names the session of a connection; sendTo() reaches it while detached, delivered on resume', async () => {
    const server = await serverForTest()
    const first = await connect(server.url)
    const plain = await connect(server.url)
    plain.send({ type: 'echo', id: 'p', data: 0 })
    await plain.next((f) => f.re === 'p')
    const { sid } = await first.hello()
    const [idFirst, idPlain] = server.control.connectionIds()
    expect(server.control.sessionOf(idFirst as string)).toBe(sid)
    expect(server.control.sessionOf(idPlain as string)).toBeUndefined()

    server.control.dropAll()
    await first.closeInfo()
    await server.control.sendTo(sid, 'news', { n: 1 })
    const second = await connect(server.url)
    expect(await second.resume(sid, 0, 0)).toMatchObject({ resumed: true, out: 1 })
    expect(await second.nextOf('news')).toMatchObject({ seq: 1, data: { n: 1 } })
  })

  it('sendTo() over HTTP: 404 for a session that is gone, 400 for a bad body or a $ type, 503 while down', async () => {
    const server = await serverForTest()
    const post = (query: string, body: string): Promise<Response> =>
      fetch(`${server.httpUrl}/control/send-to?${query}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.controlSecret}` },
        body,
      })
    const client = await connect(server.url)
    const { sid } = await client.hello()
    expect(await (await post(`sid=${sid}`, '{"type":"news","data":2}')).json()).toEqual({
      ok: true,
    })
    expect(await client.nextOf('news')).toMatchObject({ seq: 1, data: 2 })
    expect((await post('sid=nope', '{"type":"news"}')).status).toBe(404)
    expect((await post(`sid=${sid}`, 'nope')).status).toBe(400)
    expect((await post(`sid=${sid}`, '{"type":"$ack"}')).status).toBe(400)
    expect((await post('', '{"type":"news"}')).status).toBe(400)
    await server.stop()
    await expect(server.control.sendTo(sid, 'news')).rejects.toMatchObject({ status: 503 })
  })
})

describe('connection ids and control across the companion', () => {
  it('never repeats a connection id across restarts', async () => {
    const server = await serverForTest()
    const ids: string[] = []
    for (let i = 0; i < 3; i += 1) {
      const client = await connect(server.url)
      client.send({ type: 'whoami', id: `w${i}` })
      ids.push(
        ((await client.next((f) => f.re === `w${i}`)).data as { connectionId: string })
          .connectionId,
      )
      await server.control.restart(0)
    }
    expect(new Set(ids).size).toBe(3)
  })

  it("broadcast() refuses $ types, which are the protocol's", async () => {
    const server = await serverForTest()
    expect(() => server.control.broadcast('$session', {})).toThrow(/protocol/)
  })
})
