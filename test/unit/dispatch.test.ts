import * as v from 'valibot'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type Codec,
  type Envelope,
  RemoteError,
  requests,
  SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { idOf, recordingSocket } from '../helpers/recording-socket.ts'

const ENDPOINT = 'ws://example.test/live'

/** Validators that return promises resolve on real microtasks. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

function setup(options: SocketOptions = {}) {
  return recordingSocket(ENDPOINT, options)
}

/** Watches a promise without awaiting it, so a test can check it is still pending. */
function watch<T>(promise: Promise<T>) {
  const outcome: { settled: boolean; value?: T; error?: unknown } = { settled: false }
  promise.then(
    (value) => {
      outcome.settled = true
      outcome.value = value
    },
    (error: unknown) => {
      outcome.settled = true
      outcome.error = error
    },
  )
  return outcome
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('onMessage', () => {
  it('routes events to the handlers of their type, with the envelope', () => {
    const { socket, open, unhandled } = setup()
    const chat: unknown[] = []
    const presence: unknown[] = []
    socket.onMessage('chat', (data, envelope) => chat.push([data, envelope]))
    socket.onMessage('presence', (data) => presence.push(data))
    const ws = open()
    ws.receive({ type: 'chat', data: { text: 'hi' } })
    ws.receive({ type: 'presence', data: { online: ['ann'] } })
    ws.receive({ type: 'chat' })
    expect(chat).toEqual([
      [{ text: 'hi' }, { type: 'chat', data: { text: 'hi' } }],
      [undefined, { type: 'chat' }],
    ])
    expect(presence).toEqual([{ online: ['ann'] }])
    expect(unhandled).toEqual([])
  })

  it('returns an unsubscribe function; with no handler left the type is unhandled', () => {
    const { socket, open, unhandled } = setup()
    const first = vi.fn()
    const second = vi.fn()
    const offFirst = socket.onMessage('chat', first)
    const offSecond = socket.onMessage('chat', second)
    const ws = open()
    ws.receive({ type: 'chat', data: 1 })
    offFirst()
    ws.receive({ type: 'chat', data: 2 })
    offSecond()
    offSecond()
    ws.receive({ type: 'chat', data: 3 })
    expect(first.mock.calls.map((c) => c[0])).toEqual([1])
    expect(second.mock.calls.map((c) => c[0])).toEqual([1, 2])
    expect(unhandled).toEqual([{ type: 'chat', data: 3 }])
  })

  it('sends events of a type with no handler to `unhandled`, and every event to `message`', () => {
    const { open, unhandled, messages } = setup()
    const ws = open()
    ws.receive({ type: 'news', data: { headline: 'x' } })
    expect(unhandled).toEqual([{ type: 'news', data: { headline: 'x' } }])
    expect(messages).toEqual([
      {
        data: '{"type":"news","data":{"headline":"x"}}',
        envelope: { type: 'news', data: { headline: 'x' } },
      },
    ])
  })

  it('never delivers $-types to handlers, `message` or `unhandled`', () => {
    const { socket, open, unhandled, messages, errors } = setup()
    const handler = vi.fn()
    // The types refuse `$` names; a caller without types can still try.
    socket.onMessage('$auth' as string, handler)
    socket.onMessage('$custom' as string, handler)
    const ws = open()
    ws.receive({ type: '$auth', data: { token: 'x' } })
    ws.receive({ type: '$custom', data: 1 })
    ws.receive({ type: '$pong', re: 'abc' })
    expect(handler).not.toHaveBeenCalled()
    expect(messages).toEqual([])
    expect(unhandled).toEqual([])
    expect(errors).toEqual([])
  })

  it('reports a throwing handler as HANDLER_FAILED and still runs the others', () => {
    const { socket, open, errors } = setup()
    const boom = new Error('handler bug')
    const seen: unknown[] = []
    socket.onMessage('chat', () => {
      throw boom
    })
    socket.onMessage('chat', (data) => seen.push(data))
    const ws = open()
    expect(() => ws.receive({ type: 'chat', data: 1 })).not.toThrow()
    ws.receive({ type: 'chat', data: 2 })
    expect(seen).toEqual([1, 2])
    expect(errors).toHaveLength(2)
    expect(errors[0]).toBeInstanceOf(SocketError)
    expect(errors[0]).toMatchObject({ code: 'HANDLER_FAILED', cause: boom })
    expect(socket.state).toBe('open')
    expect(ws.closeCalls).toEqual([])
  })

  it('runs every handler registered when the event arrived, even if one removes another', () => {
    const { socket, open } = setup()
    const calls: string[] = []
    socket.onMessage('chat', () => {
      calls.push('first')
      offSecond()
    })
    const offSecond = socket.onMessage('chat', () => calls.push('second'))
    const ws = open()
    ws.receive({ type: 'chat' })
    ws.receive({ type: 'chat' })
    expect(calls).toEqual(['first', 'second', 'first'])
  })

  it('passes binary frames to `message` listeners untouched', () => {
    const { fake, socket, open, messages, unhandled, errors } = setup({ maxMessageBytes: 1024 })
    const handler = vi.fn()
    socket.onMessage('chat', handler)
    const ws = open()
    expect(fake.last().binaryType).toBe('arraybuffer')
    const buffer = new Uint8Array([0, 1, 2, 255]).buffer
    ws.receive(buffer)
    expect(messages).toHaveLength(1)
    expect(messages[0]?.data).toBe(buffer)
    expect(messages[0]?.envelope).toBeUndefined()
    expect([...new Uint8Array(buffer)]).toEqual([0, 1, 2, 255])
    expect(handler).not.toHaveBeenCalled()
    expect(unhandled).toEqual([])
    expect(errors).toEqual([])
  })
})

describe('request / response', () => {
  it('correlates responses that arrive out of order', async () => {
    const { socket, open } = setup()
    const ws = open()
    const a = socket.request('lookup', { key: 'a' })
    const b = socket.request('lookup', { key: 'b' })
    const c = socket.request('other', 3)
    const ids = ws.sentEnvelopes.map((e) => e.id)
    expect(ws.sentEnvelopes).toEqual([
      { type: 'lookup', id: ids[0], data: { key: 'a' } },
      { type: 'lookup', id: ids[1], data: { key: 'b' } },
      { type: 'other', id: ids[2], data: 3 },
    ])
    expect(new Set(ids).size).toBe(3)
    expect(socket.stats.pendingRequests).toBe(3)
    ws.receive({ type: 'other', re: ids[2], data: 'C' })
    ws.receive({ type: 'lookup', re: ids[1], data: 'B' })
    ws.receive({ type: 'lookup', re: ids[0], data: 'A' })
    await expect(Promise.all([a, b, c])).resolves.toEqual(['A', 'B', 'C'])
    expect(socket.stats.pendingRequests).toBe(0)
  })

  it('ignores a response to an unknown id, and does not treat it as an event', async () => {
    const { socket, open, unhandled } = setup()
    const handler = vi.fn()
    socket.onMessage('lookup', handler)
    const ws = open()
    const pending = watch(socket.request('lookup', 1))
    ws.receive({ type: 'lookup', re: 'not-a-request', data: 'stray' })
    await settle()
    expect(pending.settled).toBe(false)
    expect(handler).not.toHaveBeenCalled()
    expect(unhandled).toEqual([])
    socket.close()
  })

  it('rejects with REQUEST_TIMEOUT after the per-call timeoutMs', async () => {
    const { socket, open, errors } = setup({ requests: requests({ timeoutMs: 60_000 }) })
    const ws = open()
    const pending = watch(socket.request('slow', undefined, { timeoutMs: 500 }))
    await vi.advanceTimersByTimeAsync(499)
    expect(pending.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(pending.error).toBeInstanceOf(SocketError)
    expect(pending.error).toMatchObject({ code: 'REQUEST_TIMEOUT' })
    // A late answer changes nothing and is not an error.
    ws.receive({ type: 'slow', re: idOf(ws, 'slow'), data: 'late' })
    expect(errors).toEqual([])
    expect(socket.stats.pendingRequests).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects with REQUEST_TIMEOUT after the timeoutMs of requests(), or 10 s by default', async () => {
    const configured = setup({ requests: requests({ timeoutMs: 2000 }) })
    configured.open()
    const fast = watch(configured.socket.request('slow'))
    const standard = setup()
    standard.open()
    const slow = watch(standard.socket.request('slow'))
    await vi.advanceTimersByTimeAsync(1999)
    expect(fast.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(fast.error).toMatchObject({ code: 'REQUEST_TIMEOUT' })
    await vi.advanceTimersByTimeAsync(7999)
    expect(slow.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(slow.error).toMatchObject({ code: 'REQUEST_TIMEOUT' })
  })

  it('rejects with RemoteError for an error response', async () => {
    const { socket, open } = setup()
    const ws = open()
    const pending = socket.request('pay', { cents: 100 }).catch((e: unknown) => e)
    ws.receive({
      type: 'pay',
      re: idOf(ws, 'pay'),
      error: { code: 'insufficient_funds', message: 'Balance too low' },
    })
    const error = await pending
    expect(error).toBeInstanceOf(RemoteError)
    expect(error).toBeInstanceOf(SocketError)
    expect(error).toMatchObject({
      code: 'REMOTE_ERROR',
      remoteCode: 'insufficient_funds',
      message: 'Balance too low',
    })
  })

  it('queues a request made while disconnected; its timeout counts from the call', async () => {
    const { fake, socket } = setup()
    const pending = watch(socket.request('lookup', 1, { timeoutMs: 3000 }))
    expect(socket.stats).toMatchObject({ queuedMessages: 1, pendingRequests: 1 })
    await vi.advanceTimersByTimeAsync(2000)
    socket.connect()
    const ws = fake.last()
    ws.open()
    expect(ws.sentEnvelopes).toEqual([{ type: 'lookup', id: expect.any(String), data: 1 }])
    await vi.advanceTimersByTimeAsync(999)
    expect(pending.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(pending.error).toMatchObject({ code: 'REQUEST_TIMEOUT' })
    socket.close()
  })

  it('a queued request resolves once sent and answered', async () => {
    const { fake, socket } = setup()
    const answer = socket.request('lookup', 1)
    socket.connect()
    const ws = fake.last()
    ws.open()
    ws.receive({ type: 'lookup', re: idOf(ws, 'lookup'), data: 'one' })
    await expect(answer).resolves.toBe('one')
  })

  it('aborted before it was sent: rejects with ABORTED and is never sent', async () => {
    const { fake, socket } = setup()
    const controller = new AbortController()
    const pending = watch(socket.request('lookup', 1, { signal: controller.signal }))
    const kept = watch(socket.request('kept', 2))
    controller.abort(new Error('user navigated away'))
    await settle()
    expect(pending.error).toBeInstanceOf(SocketError)
    expect(pending.error).toMatchObject({
      code: 'ABORTED',
      cause: expect.objectContaining({ message: 'user navigated away' }),
    })
    socket.connect()
    fake.last().open()
    expect(fake.last().sentEnvelopes.map((e) => e.type)).toEqual(['kept'])
    expect(kept.settled).toBe(false)
    socket.close()
  })

  it('an already aborted signal rejects at once and queues nothing', async () => {
    const { socket } = setup()
    const error = await socket
      .request('lookup', 1, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ABORTED' })
    expect(socket.stats).toMatchObject({ queuedMessages: 0, pendingRequests: 0 })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('aborted after it was sent: rejects with ABORTED and ignores the late response', async () => {
    const { socket, open, errors } = setup()
    const ws = open()
    const controller = new AbortController()
    const pending = watch(socket.request('lookup', 1, { signal: controller.signal }))
    expect(ws.sentEnvelopes).toHaveLength(1)
    controller.abort()
    await settle()
    expect(pending.error).toMatchObject({ code: 'ABORTED' })
    ws.receive({ type: 'lookup', re: idOf(ws, 'lookup'), data: 'late' })
    await settle()
    expect(pending.value).toBeUndefined()
    expect(errors).toEqual([])
    expect(socket.stats.pendingRequests).toBe(0)
    // The request's own timer went with it.
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects with CONNECTION_LOST if the connection drops after sending', async () => {
    const { fake, socket, open } = setup()
    const ws = open()
    const pending = watch(socket.request('pay', { cents: 1 }))
    ws.serverClose(1006)
    await settle()
    expect(pending.error).toMatchObject({ code: 'CONNECTION_LOST' })
    await vi.advanceTimersByTimeAsync(100)
    fake.last().open()
    expect(fake.last().sentEnvelopes).toEqual([])
    socket.close()
  })

  it('sends an idempotent request again after the reconnect, with the same id', async () => {
    const { fake, socket, open } = setup()
    const ws = open()
    const pending = watch(socket.request('read', { key: 'k' }, { idempotent: true }))
    const id = idOf(ws, 'read')
    ws.serverClose(1006)
    await settle()
    expect(pending.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(100)
    const next = fake.last()
    expect(next).not.toBe(ws)
    next.open()
    expect(next.sentEnvelopes).toEqual([{ type: 'read', id, data: { key: 'k' } }])
    next.receive({ type: 'read', re: id, data: 'value' })
    await settle()
    expect(pending.value).toBe('value')
    socket.close()
  })

  it('a re-queued idempotent request that times out leaves the queue at once', async () => {
    const { socket, open } = setup()
    const ws = open()
    const pending = watch(socket.request('read', 1, { idempotent: true, timeoutMs: 500 }))
    ws.serverClose(1006)
    await settle()
    expect(socket.stats).toMatchObject({ queuedMessages: 1, pendingRequests: 1 })
    await vi.advanceTimersByTimeAsync(500)
    expect(pending.error).toMatchObject({ code: 'REQUEST_TIMEOUT' })
    // It no longer holds a slot or bytes of the bounded queue.
    expect(socket.stats).toMatchObject({ queuedMessages: 0, queuedBytes: 0, pendingRequests: 0 })
    socket.close()
  })

  it('close() rejects sent and queued requests with CLOSED, and later ones too', async () => {
    const { socket, open } = setup()
    const ws = open()
    const sent = watch(socket.request('a', 1))
    const retried = watch(socket.request('c', 3, { idempotent: true }))
    ws.serverClose(1006)
    const queued = watch(socket.request('b', 2))
    // The idempotent one waits in the queue again, ahead of the new one.
    expect(socket.stats).toMatchObject({ queuedMessages: 2, pendingRequests: 2 })
    socket.close()
    await settle()
    expect(sent.error).toMatchObject({ code: 'CONNECTION_LOST' })
    expect(retried.error).toMatchObject({ code: 'CLOSED' })
    expect(queued.error).toMatchObject({ code: 'CLOSED' })
    await expect(socket.request('d', 4)).rejects.toMatchObject({ code: 'CLOSED' })
    expect(socket.stats.pendingRequests).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('close() rejects requests in flight on an open connection with CLOSED', async () => {
    const { socket, open } = setup()
    const ws = open()
    const plain = watch(socket.request('x', 1))
    const idempotent = watch(socket.request('y', 2, { idempotent: true }))
    expect(ws.sentEnvelopes).toHaveLength(2)
    socket.close()
    await settle()
    expect(plain.error).toMatchObject({ code: 'CLOSED' })
    expect(idempotent.error).toMatchObject({ code: 'CLOSED' })
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('validation with a Standard Schema validator (valibot)', () => {
  const Chat = v.object({ from: v.string(), text: v.pipe(v.string(), v.minLength(1)) })
  const History = v.array(v.object({ text: v.string() }))

  it('passes the validated output to handlers; invalid data never reaches them', () => {
    const { socket, open, errors } = setup({ validate: { incoming: { chat: Chat } } })
    const seen: unknown[] = []
    socket.onMessage('chat', (data) => seen.push(data))
    const ws = open()
    // valibot's object() drops unknown keys: the handler gets the validator's output.
    ws.receive({ type: 'chat', data: { from: 'ann', text: 'hi', extra: true } })
    ws.receive({ type: 'chat', data: { from: 'ann', text: '' } })
    ws.receive({ type: 'chat', data: 'nonsense' })
    expect(seen).toEqual([{ from: 'ann', text: 'hi' }])
    expect(errors.map((e) => e.code)).toEqual(['VALIDATION_FAILED', 'VALIDATION_FAILED'])
    expect(errors[0]?.details).toMatchObject({ type: 'chat', issues: expect.any(Array) })
    expect(socket.state).toBe('open')
  })

  it('validates with an async validator too', async () => {
    const Note = v.pipeAsync(
      v.string(),
      v.checkAsync(async (text) => text.startsWith('#'), 'must start with #'),
    )
    const { socket, open, errors } = setup({ validate: { incoming: { note: Note } } })
    const seen: unknown[] = []
    socket.onMessage('note', (data) => seen.push(data))
    const ws = open()
    ws.receive({ type: 'note', data: '#ok' })
    ws.receive({ type: 'note', data: 'not ok' })
    await settle()
    expect(seen).toEqual(['#ok'])
    expect(errors.map((e) => e.code)).toEqual(['VALIDATION_FAILED'])
    expect(errors[0]?.message).toContain('must start with #')
  })

  it('leaves types without a validator alone', () => {
    const { socket, open, errors } = setup({ validate: { incoming: { chat: Chat } } })
    const seen: unknown[] = []
    socket.onMessage('other', (data) => seen.push(data))
    open().receive({ type: 'other', data: 42 })
    expect(seen).toEqual([42])
    expect(errors).toEqual([])
  })

  it('resolves a request with the validated response; rejects an invalid one', async () => {
    const { socket, open } = setup({ validate: { responses: { history: History } } })
    const ws = open()
    const good = socket.request('history', { room: 'a' })
    ws.receive({ type: 'history', re: idOf(ws, 'history'), data: [{ text: 'x', at: 1 }] })
    await expect(good).resolves.toEqual([{ text: 'x' }])

    const bad = socket.request('history', { room: 'b' }).catch((e: unknown) => e)
    const badId = ws.sentEnvelopes.filter((e) => e.type === 'history')[1]?.id
    ws.receive({ type: 'history', re: badId, data: [{ text: 7 }] })
    const error = await bad
    expect(error).toBeInstanceOf(SocketError)
    expect(error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { type: 'history', issues: expect.any(Array) },
    })
    expect(socket.stats.pendingRequests).toBe(0)
  })
})

describe('hostile type names and validators', () => {
  // Names that a plain-object lookup would find on Object.prototype.
  const NAMES = [
    'toString',
    'constructor',
    'hasOwnProperty',
    'valueOf',
    '__proto__',
    'isPrototypeOf',
  ]
  const Chat = v.object({ text: v.string() })

  it('a type named like an Object.prototype member has no schema and reaches its handlers', () => {
    const { socket, open, errors, unhandled } = setup({ validate: { incoming: { chat: Chat } } })
    const seen: [string, unknown][] = []
    for (const type of NAMES) socket.onMessage(type, (data) => seen.push([type, data]))
    const ws = open()
    for (const type of NAMES) ws.receive({ type, data: 1 })
    expect(seen).toEqual(NAMES.map((type) => [type, 1]))
    // And without a handler, such a type is unhandled, not mistaken for a registered one.
    socket.onMessage('chat', () => {})
    ws.receive({ type: 'propertyIsEnumerable', data: 2 })
    expect(unhandled.map((e) => e.type)).toEqual(['propertyIsEnumerable'])
    expect(errors).toEqual([])
  })

  it('a request type named like an Object.prototype member has no response schema', async () => {
    const { socket, open, errors } = setup({ validate: { responses: { history: v.array(Chat) } } })
    const ws = open()
    for (const type of NAMES) {
      const answer = socket.request(type)
      ws.receive({ type, re: idOf(ws, type), data: type })
      await expect(answer).resolves.toBe(type)
    }
    expect(errors).toEqual([])
  })

  /** A Standard Schema validator whose validate() does whatever `validate` does. */
  const custom = (validate: (value: unknown) => unknown) =>
    ({ '~standard': { version: 1, vendor: 'test', validate } }) as never

  // Node reports an unhandled rejection once the microtasks of a macrotask are done; the
  // fake timers replace setImmediate, so the real one is kept for waiting a turn.
  const realSetImmediate = setImmediate
  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => rejections.push(reason)
  beforeEach(() => {
    rejections.length = 0
    process.on('unhandledRejection', onRejection)
  })
  afterEach(() => {
    process.off('unhandledRejection', onRejection)
  })
  const turn = () => new Promise((resolve) => realSetImmediate(resolve))

  const BROKEN: [string, (value: unknown) => unknown][] = [
    ['resolves to undefined', async () => undefined],
    ['resolves to a number', async () => 42],
    ['resolves to an object that is neither {value} nor {issues}', async () => ({ ok: true })],
    ['resolves to null', async () => null],
    ['rejects', async () => Promise.reject(new Error('validator down'))],
    [
      'throws',
      () => {
        throw new Error('validator bug')
      },
    ],
    ['returns undefined', () => undefined],
    ['returns a string', () => 'valid'],
    [
      'returns a thenable whose then throws',
      () => ({
        // biome-ignore lint/suspicious/noThenProperty: a broken thenable is the point.
        then() {
          throw new Error('bad thenable')
        },
      }),
    ],
    [
      'resolves to a result whose issues getter throws',
      async () => ({
        get issues(): never {
          throw new Error('getter')
        },
      }),
    ],
  ]

  it.each(BROKEN)(
    'a validator that %s: VALIDATION_FAILED, never an unhandled rejection',
    async (_, validate) => {
      const { socket, open, errors } = setup({
        validate: {
          incoming: { chat: custom(validate) },
          responses: { history: custom(validate) },
        },
      })
      const handler = vi.fn()
      socket.onMessage('chat', handler)
      const ws = open()
      ws.receive({ type: 'chat', data: { text: 'hi' } })
      const answer = socket.request('history').catch((error: unknown) => error)
      ws.receive({ type: 'history', re: idOf(ws, 'history'), data: [] })
      await settle()
      await turn()
      expect(handler).not.toHaveBeenCalled()
      expect(errors.map((e) => e.code)).toEqual(['VALIDATION_FAILED'])
      expect(errors[0]?.message).toMatch(
        /^"chat" (validator threw|validator returned no Standard Schema result)/,
      )
      expect(await answer).toMatchObject({ code: 'VALIDATION_FAILED' })
      expect(rejections).toEqual([])
      expect(socket.state).toBe('open')
    },
  )

  it('a validator that resolves to a success result with an undefined value passes it on', async () => {
    const { socket, open, errors } = setup({
      validate: { incoming: { chat: custom(async () => ({ value: undefined })) } },
    })
    const seen: unknown[] = []
    socket.onMessage('chat', (data) => seen.push(data))
    open().receive({ type: 'chat', data: 'dropped by the schema' })
    await settle()
    expect(seen).toEqual([undefined])
    expect(errors).toEqual([])
  })
})

describe('malformed input', () => {
  // Each is dropped with DECODE_FAILED; none may touch a prototype or the connection.
  const CASES: [string, string][] = [
    ['not JSON', '{"type":"x",'],
    ['plain text', 'hello'],
    ['a JSON array', '[{"type":"x"}]'],
    ['a JSON string', '"x"'],
    ['JSON null', 'null'],
    ['no type', '{"data":{"a":1}}'],
    ['an empty type', '{"type":""}'],
    ['a non-string type', '{"type":42}'],
    ['a non-string id', '{"type":"x","id":7}'],
    ['a non-string re', '{"type":"x","re":{"id":"1"}}'],
    ['an error that is a string', '{"type":"x","re":"1","error":"boom"}'],
    ['an error without a string code', '{"type":"x","re":"1","error":{"code":1,"message":"m"}}'],
    ['an error without a message', '{"type":"x","re":"1","error":{"code":"c"}}'],
    ['__proto__ inside data', '{"type":"x","data":{"__proto__":{"polluted":1}}}'],
    ['__proto__ at the top', '{"__proto__":{"polluted":1},"type":"x"}'],
    ['a constructor key', '{"type":"x","data":{"constructor":{"prototype":{"polluted":1}}}}'],
    ['a prototype key', '{"type":"x","data":{"prototype":{"polluted":1}}}'],
    ['a \\u-escaped __proto__ key', '{"type":"x","data":{"__pro\\u0074o__":{"polluted":1}}}'],
    ['a \\u-escaped constructor key', '{"type":"x","data":{"\\u0063onstructor":{"a":1}}}'],
    ['a frame beyond maxMessageBytes', JSON.stringify({ type: 'x', data: 'y'.repeat(300) })],
    // 102 UTF-16 units but 262 UTF-8 bytes: the bound is in bytes.
    ['multi-byte text beyond maxMessageBytes', JSON.stringify({ type: 'x', data: '€'.repeat(80) })],
  ]

  it.each(CASES)(
    '%s: DECODE_FAILED, raw to `message` only, and the socket stays open',
    (_, frame) => {
      const { fake, socket, open, errors, messages, unhandled } = setup({ maxMessageBytes: 200 })
      const handler = vi.fn()
      socket.onMessage('x', handler)
      const ws = open()
      expect(() => ws.receive(frame)).not.toThrow()
      expect(errors).toHaveLength(1)
      expect(errors[0]).toBeInstanceOf(SocketError)
      expect(errors[0]?.code).toBe('DECODE_FAILED')
      expect(handler).not.toHaveBeenCalled()
      // A frame that is not an envelope is still a frame the server sent, delivered as text;
      // only an oversized one is dropped before anyone sees it.
      const oversized = frame.length > 200 || /€/.test(frame)
      expect(messages).toEqual(oversized ? [] : [{ data: frame, envelope: undefined }])
      expect(unhandled).toEqual([])
      expect(socket.state).toBe('open')
      expect(ws.closeCalls).toEqual([])
      expect(fake.sockets).toHaveLength(1)
      // The next good frame still gets through.
      ws.receive({ type: 'x', data: 'fine' })
      expect(handler).toHaveBeenCalledWith('fine', { type: 'x', data: 'fine' })
      expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false)
    },
  )

  it('a frame just within maxMessageBytes is accepted', () => {
    const frame = JSON.stringify({ type: 'x', data: 'y'.repeat(200) })
    const { socket, open, errors } = setup({ maxMessageBytes: frame.length })
    const handler = vi.fn()
    socket.onMessage('x', handler)
    open().receive(frame)
    expect(errors).toEqual([])
    expect(handler).toHaveBeenCalledOnce()
  })

  it('left no prototype polluted', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false)
  })
})

describe('codec', () => {
  // A user's own format: `type#id#re#json`.
  const FRAME = /^([^#]+)#([^#]*)#([^#]*)#(.*)$/s
  const hashCodec: Codec = {
    encode: ({ type, id = '', re = '', data }) =>
      `${type}#${id}#${re}#${data === undefined ? '' : JSON.stringify(data)}`,
    decode(raw) {
      if (typeof raw !== 'string') return undefined
      const match = FRAME.exec(raw)
      if (!match) throw new Error('not a hash frame')
      const [, type = '', id, re, json] = match
      const envelope: Envelope = { type }
      if (id) envelope.id = id
      if (re) envelope.re = re
      if (json) envelope.data = JSON.parse(json)
      return envelope
    },
  }

  it('a custom codec encodes sends and requests and decodes what arrives', async () => {
    const { socket, open, errors, messages } = setup({ codec: hashCodec })
    const seen: unknown[] = []
    socket.onMessage('chat', (data) => seen.push(data))
    const ws = open()
    socket.send('chat', { text: 'hi' })
    socket.send('typing')
    const answer = socket.request('echo', [1, 2])
    const [, , third] = ws.sent
    const id = /^echo#([^#]+)##\[1,2\]$/.exec(String(third))?.[1]
    expect(ws.sent.slice(0, 2)).toEqual(['chat###{"text":"hi"}', 'typing###'])
    expect(id).toEqual(expect.any(String))
    ws.receive(`echo##${id}#[1,2]`)
    await expect(answer).resolves.toEqual([1, 2])
    ws.receive('chat###{"from":"bob"}')
    expect(seen).toEqual([{ from: 'bob' }])
    // A frame it cannot decode: reported, dropped, connection kept.
    ws.receive('no hashes here')
    expect(errors.map((e) => e.code)).toEqual(['DECODE_FAILED'])
    expect(errors[0]?.cause).toEqual(new Error('not a hash frame'))
    // Binary is not an envelope for this codec either: passed through.
    const buffer = new ArrayBuffer(2)
    ws.receive(buffer)
    expect(messages.at(-1)).toEqual({ data: buffer, envelope: undefined })
    expect(socket.state).toBe('open')
  })

  it('send() with data the codec cannot encode throws ENCODE_FAILED; request() rejects', async () => {
    const { socket, open } = setup()
    const ws = open()
    const thrown = thrownBy(() => socket.send('chat', { n: 10n }))
    expect(thrown).toBeInstanceOf(SocketError)
    expect(thrown).toMatchObject({ code: 'ENCODE_FAILED', cause: expect.any(TypeError) })
    await expect(socket.request('calc', { n: 10n })).rejects.toMatchObject({
      code: 'ENCODE_FAILED',
    })
    expect(ws.sent).toEqual([])
    expect(socket.stats).toMatchObject({ pendingRequests: 0, queuedMessages: 0 })
  })

  it('send() and request() refuse reserved and empty type names', async () => {
    const { socket, open } = setup()
    const ws = open()
    for (const type of ['$x', '$auth', '']) {
      expect(thrownBy(() => socket.send(type, 1))).toMatchObject({ code: 'INVALID_OPTIONS' })
      await expect(socket.request(type, 1)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
    }
    expect(ws.sent).toEqual([])
  })
})
