// Checked by `tsc -p tsconfig.json` (npm run typecheck), never run. Each claim here is about a
// call the runtime refuses or can never honour: the types must refuse it too, without making
// the calls the runtime accepts any harder to write.
import * as v from 'valibot'
import { describe, expectTypeOf, test } from 'vitest'
import {
  auth,
  type CloseCode,
  type Frame,
  heartbeat,
  type IncomingType,
  type OutgoingType,
  ReconnectingSocket,
  requests,
  type SendResult,
  type SocketOptions,
  type ValidCloseCode,
} from '../../src/index.ts'
import { useMessage } from '../../src/react/index.ts'

const ENDPOINT = 'ws://localhost:8080'

interface AppSchema {
  incoming: { chat: { text: string }; tick: number }
  outgoing: { chat: { text: string }; typing: undefined }
  requests: { history: { request: { room: string }; response: string[] } }
}

declare const untyped: ReconnectingSocket
declare const typed: ReconnectingSocket<AppSchema>
declare const someType: string

describe('`$` types belong to the protocol (PROTOCOL.md §4)', () => {
  test('an untyped socket refuses a `$` literal in onMessage, send and request', () => {
    // @ts-expect-error `$pong` is consumed by the heartbeat and never reaches a handler
    untyped.onMessage('$pong', () => {})
    // @ts-expect-error `send('$ping')` throws INVALID_OPTIONS
    untyped.send('$ping')
    // @ts-expect-error the same with data: the error is about the name, not the arity
    untyped.send('$ping', { id: '1' })
    // @ts-expect-error `request('$auth')` rejects with INVALID_OPTIONS
    void untyped.request('$auth', { token: 'x' })
    // @ts-expect-error a union that may be a `$` type is refused as a whole
    untyped.send(Math.random() > 0.5 ? 'chat' : '$ack')
  })

  test('an untyped socket still takes any other name, and a name typed just string', () => {
    untyped.onMessage('chat', (data) => expectTypeOf(data).toEqualTypeOf<unknown>())
    untyped.onMessage('a$b', () => {})
    untyped.onMessage('é', () => {})
    expectTypeOf(untyped.send('chat', { text: 'hi' })).toEqualTypeOf<SendResult>()
    untyped.send('bare')
    untyped.send(someType, 1)
    untyped.onMessage(someType, () => {})
    expectTypeOf(untyped.request('lookup', 1)).toEqualTypeOf<Promise<unknown>>()
    expectTypeOf(untyped.request(someType)).toEqualTypeOf<Promise<unknown>>()
  })

  test('a schema may not declare a `$` type in any direction', () => {
    // @ts-expect-error incoming `$pong`
    type BadIncoming = ReconnectingSocket<{ incoming: { $pong: undefined } }>
    // @ts-expect-error outgoing `$ping`, even when optional
    type BadOutgoing = ReconnectingSocket<{ outgoing: { chat: string; $ping?: { id: string } } }>
    // @ts-expect-error requests `$auth`
    type BadRequests = ReconnectingSocket<{ requests: { $auth: { request: 1; response: 2 } } }>
    expectTypeOf<BadIncoming | BadOutgoing | BadRequests>().not.toBeNever()
    // A `$` further in is just a character.
    expectTypeOf<IncomingType<{ incoming: { a$: 1 } }>>().toEqualTypeOf<'a$'>()
    expectTypeOf<OutgoingType<AppSchema>>().toEqualTypeOf<'chat' | 'typing'>()
  })

  test('validators may not be given for a `$` type', () => {
    new ReconnectingSocket(ENDPOINT, {
      validate: {
        incoming: {
          chat: v.string(),
          // @ts-expect-error a validator for `$pong` would never run
          $pong: v.object({ re: v.string() }),
        },
      },
    })
  })
})

describe('features are made by their factories', () => {
  test('the factories are accepted, with their options or without', () => {
    new ReconnectingSocket(ENDPOINT, {
      heartbeat: heartbeat(),
      auth: auth({ getToken: () => 't' }),
      requests: requests(),
    })
    new ReconnectingSocket(ENDPOINT, {
      heartbeat: heartbeat({ intervalMs: 5000 }),
      requests: requests({ timeoutMs: 500 }),
    })
  })

  test('the shapes of 0.1 are errors, as they throw INVALID_OPTIONS at run time', () => {
    // @ts-expect-error heartbeat: true is heartbeat() now
    new ReconnectingSocket(ENDPOINT, { heartbeat: true })
    // @ts-expect-error there is no heartbeat: false: leave the option out
    new ReconnectingSocket(ENDPOINT, { heartbeat: false })
    // @ts-expect-error heartbeat options go to heartbeat()
    new ReconnectingSocket(ENDPOINT, { heartbeat: { intervalMs: 5000 } })
    // @ts-expect-error auth options go to auth()
    new ReconnectingSocket(ENDPOINT, { auth: { getToken: () => 't' } })
    // @ts-expect-error requests options go to requests()
    new ReconnectingSocket(ENDPOINT, { requests: { timeoutMs: 500 } })
    // @ts-expect-error requestTimeoutMs has moved to requests({ timeoutMs })
    new ReconnectingSocket(ENDPOINT, { requestTimeoutMs: 500 })
    expectTypeOf<true>().not.toExtend<SocketOptions['heartbeat']>()
  })

  test('the factories check their option names', () => {
    // @ts-expect-error intervalMs, not interval
    heartbeat({ interval: 5000 })
    // @ts-expect-error getToken is required
    auth({ placement: 'query' })
    // @ts-expect-error timeoutMs, not timeout
    requests({ timeout: 500 })
  })
})

describe('generic code keeps working', () => {
  test('a typed socket is still assignable to an untyped one', () => {
    const plain: ReconnectingSocket = typed
    expectTypeOf(plain).toEqualTypeOf<ReconnectingSocket>()
    expectTypeOf(typed as ReconnectingSocket).toEqualTypeOf<ReconnectingSocket>()
  })

  test('a wrapper generic in the type name forwards it to a typed socket', () => {
    function sendEach<K extends OutgoingType<AppSchema>>(types: K[]): void {
      for (const type of types) typed.send(type, undefined as never)
    }
    function listen<K extends IncomingType<AppSchema>>(type: K): void {
      typed.onMessage(type, () => {})
    }
    sendEach(['typing'])
    listen('tick')
    typed.onMessage('tick', (data) => expectTypeOf(data).toEqualTypeOf<number>())
    expectTypeOf(typed.request('history', { room: 'a' })).toEqualTypeOf<Promise<string[]>>()
    // @ts-expect-error a typed socket still refuses names outside its schema
    typed.send('shout')
  })

  test('useMessage refuses what onMessage refuses', () => {
    useMessage(typed, 'chat', (data) => expectTypeOf(data).toEqualTypeOf<{ text: string }>())
    useMessage(untyped, 'chat', () => {})
    // @ts-expect-error the hook passes the name to onMessage
    useMessage(untyped, '$pong', () => {})
  })
})

describe('close codes', () => {
  test('CloseCode is 1000 and 3000-4999, nothing else', () => {
    expectTypeOf<1000 | 3000 | 3999 | 4000 | 4001 | 4999>().toExtend<CloseCode>()
    for (const refused of [999, 1001, 1005, 1006, 1015, 2999, 5000] as const) {
      expectTypeOf(refused).not.toExtend<CloseCode>()
    }
    expectTypeOf<number>().not.toExtend<CloseCode>()
    expectTypeOf<ValidCloseCode<4321>>().toEqualTypeOf<4321>()
    expectTypeOf<ValidCloseCode<1005>>().toEqualTypeOf<CloseCode>()
  })

  test('close() takes the codes it accepts at run time', () => {
    untyped.close()
    untyped.close(1000)
    untyped.close(3000, 'bye')
    untyped.close(4999, 'bye')
    typed.close(4001)
  })

  test('close() refuses a literal code the runtime throws for', () => {
    // @ts-expect-error 1005 is "no status received", which no endpoint may send
    untyped.close(1005)
    // @ts-expect-error 1001 is reserved for the browser (page going away)
    untyped.close(1001, 'bye')
    // @ts-expect-error below the application range
    untyped.close(2999)
    // @ts-expect-error above it
    typed.close(5000)
    const maybe = Math.random() > 0.5 ? 4000 : 1006
    // @ts-expect-error a union with one refused member is refused
    untyped.close(maybe)
  })

  test('a code typed just number is left to the run-time check', () => {
    const fromConfig: number = Number('4321')
    untyped.close(fromConfig)
  })
})

describe('sendRaw', () => {
  test('takes text, ArrayBuffer, views of one, and Blob', () => {
    expectTypeOf(untyped.sendRaw('text')).toEqualTypeOf<SendResult>()
    untyped.sendRaw(new ArrayBuffer(8))
    untyped.sendRaw(new Uint8Array(8))
    untyped.sendRaw(new DataView(new ArrayBuffer(8)))
    untyped.sendRaw(new TextEncoder().encode('x'))
    untyped.sendRaw(new Blob(['x']))
    typed.sendRaw(new Float64Array([1, 2]))
  })

  test('refuses shared memory, which browsers refuse to send', () => {
    const shared = new SharedArrayBuffer(8)
    // @ts-expect-error a SharedArrayBuffer
    untyped.sendRaw(shared)
    // @ts-expect-error a view of one
    untyped.sendRaw(new Uint8Array(shared))
    // @ts-expect-error a view whose buffer may be shared (Uint8Array<ArrayBufferLike>)
    untyped.sendRaw(new Uint8Array(8) as Uint8Array)
    expectTypeOf<SharedArrayBuffer>().not.toExtend<Frame>()
  })

  test('refuses what is not a frame at all', () => {
    // @ts-expect-error a number
    untyped.sendRaw(123)
    // @ts-expect-error a plain object
    untyped.sendRaw({})
  })
})
