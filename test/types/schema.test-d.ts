// Checked by `tsc -p tsconfig.json` (npm run typecheck), never run: every line below is a
// claim about the types, and each `@ts-expect-error` fails the build if the error goes away.
import * as v from 'valibot'
import { describe, expectTypeOf, test } from 'vitest'
import type { WebSocket as WsWebSocket } from 'ws'
import {
  type Envelope,
  type IncomingType,
  type OutgoingType,
  ReconnectingSocket,
  type RequestType,
  requests,
  type SendResult,
  type WebSocketConstructor,
} from '../../src/index.ts'

interface ChatSchema {
  incoming: {
    chat: { from: string; text: string }
    presence: { online: string[] }
  }
  outgoing: {
    chat: { text: string }
    typing: undefined
    status: { away: boolean } | undefined
  }
  requests: {
    history: { request: { room: string }; response: { text: string }[] }
    ping: { request: undefined; response: 'pong' }
  }
}

const ENDPOINT = 'ws://localhost:8080'
declare const chat: ReconnectingSocket<ChatSchema>
declare const untyped: ReconnectingSocket
declare const WsClass: typeof WsWebSocket

describe('the schema maps', () => {
  test('each direction has its own type names', () => {
    expectTypeOf<IncomingType<ChatSchema>>().toEqualTypeOf<'chat' | 'presence'>()
    expectTypeOf<OutgoingType<ChatSchema>>().toEqualTypeOf<'chat' | 'typing' | 'status'>()
    expectTypeOf<RequestType<ChatSchema>>().toEqualTypeOf<'history' | 'ping'>()
  })
})

describe('onMessage', () => {
  test('handler data is typed per message type', () => {
    chat.onMessage('chat', (data, envelope) => {
      expectTypeOf(data).toEqualTypeOf<{ from: string; text: string }>()
      expectTypeOf(envelope).toEqualTypeOf<Envelope>()
    })
    chat.onMessage('presence', (data) => {
      expectTypeOf(data).toEqualTypeOf<{ online: string[] }>()
    })
    expectTypeOf(chat.onMessage('chat', () => {})).toEqualTypeOf<() => void>()
  })

  test('wrong type names and wrong handler payloads are errors', () => {
    // @ts-expect-error 'typing' is sent by the client, never received
    chat.onMessage('typing', () => {})
    // @ts-expect-error not a message type at all
    chat.onMessage('shout', () => {})
    // @ts-expect-error the handler expects a different payload
    chat.onMessage('chat', (data: { online: string[] }) => data)
  })
})

describe('send', () => {
  test('accepts the declared payloads', () => {
    expectTypeOf(chat.send('chat', { text: 'hi' })).toEqualTypeOf<SendResult>()
    chat.send('typing')
    chat.send('typing', undefined)
    chat.send('status')
    chat.send('status', { away: true })
  })

  test('wrong type names and wrong payloads are errors', () => {
    // @ts-expect-error unknown type
    chat.send('shout', { text: 'hi' })
    // @ts-expect-error 'presence' only comes from the server
    chat.send('presence', { online: [] })
    // @ts-expect-error wrong field type
    chat.send('chat', { text: 1 })
    // @ts-expect-error missing field
    chat.send('chat', {})
    // @ts-expect-error the payload may not be left out when undefined is not allowed
    chat.send('chat')
    // @ts-expect-error 'typing' carries nothing
    chat.send('typing', { text: 'x' })
  })
})

describe('request', () => {
  test('resolves to the declared response type', () => {
    expectTypeOf(chat.request('history', { room: 'lobby' })).toEqualTypeOf<
      Promise<{ text: string }[]>
    >()
    expectTypeOf(chat.request('ping')).toEqualTypeOf<Promise<'pong'>>()
    chat.request('ping', undefined, { timeoutMs: 500 })
    chat.request(
      'history',
      { room: 'lobby' },
      { timeoutMs: 1000, signal: new AbortController().signal, idempotent: true },
    )
  })

  test('wrong type names, payloads and options are errors', () => {
    // @ts-expect-error unknown request
    chat.request('delete', { room: 'lobby' })
    // @ts-expect-error an event type is not a request
    chat.request('chat', { text: 'hi' })
    // @ts-expect-error the request payload is required
    chat.request('history')
    // @ts-expect-error wrong payload
    chat.request('history', { room: 1 })
    // @ts-expect-error unknown option
    chat.request('history', { room: 'lobby' }, { timeout: 5 })
  })
})

describe('a schema with a missing map allows nothing in that direction', () => {
  test('incoming only', () => {
    const listenOnly = new ReconnectingSocket<{ incoming: { tick: number } }>(ENDPOINT)
    listenOnly.onMessage('tick', (data) => expectTypeOf(data).toEqualTypeOf<number>())
    // @ts-expect-error no outgoing map
    listenOnly.send('tick', 1)
    // @ts-expect-error no requests map
    listenOnly.request('tick', 1)
  })
})

describe('an untyped socket', () => {
  test('accepts any type name and unknown data', () => {
    untyped.onMessage('anything', (data, envelope) => {
      expectTypeOf(data).toEqualTypeOf<unknown>()
      expectTypeOf(envelope).toEqualTypeOf<Envelope>()
    })
    untyped.send('anything', { any: ['thing'] })
    untyped.send('bare')
    expectTypeOf(untyped.request('lookup', 1)).toEqualTypeOf<Promise<unknown>>()
    expectTypeOf(untyped.request('lookup')).toEqualTypeOf<Promise<unknown>>()
    // @ts-expect-error the type name is still a string
    untyped.send(42)
  })
})

describe('validate', () => {
  const ChatIn = v.object({ from: v.string(), text: v.string() })

  test('validators whose output matches the schema are accepted', () => {
    new ReconnectingSocket<ChatSchema>(ENDPOINT, {
      requests: requests(),
      validate: {
        incoming: { chat: ChatIn, presence: v.object({ online: v.array(v.string()) }) },
        responses: { history: v.array(v.object({ text: v.string() })) },
      },
    })
  })

  test('a validator of the wrong output type is an error', () => {
    new ReconnectingSocket<ChatSchema>(ENDPOINT, {
      validate: {
        incoming: {
          // @ts-expect-error `from` is a string in the schema
          chat: v.object({ from: v.number(), text: v.string() }),
        },
      },
    })
    new ReconnectingSocket<ChatSchema>(ENDPOINT, {
      requests: requests(),
      validate: {
        responses: {
          // @ts-expect-error the response is an array
          history: v.object({ text: v.string() }),
        },
      },
    })
    new ReconnectingSocket<ChatSchema>(ENDPOINT, {
      validate: {
        incoming: {
          // @ts-expect-error 'typing' is not an incoming type
          typing: v.undefined(),
        },
      },
    })
  })
})

describe('the WebSocket option', () => {
  test("accepts the DOM WebSocket and the ws package's class", () => {
    new ReconnectingSocket(ENDPOINT, { WebSocket })
    new ReconnectingSocket(ENDPOINT, { WebSocket: WsClass })
    expectTypeOf<typeof WebSocket>().toExtend<WebSocketConstructor>()
    expectTypeOf<typeof WsWebSocket>().toExtend<WebSocketConstructor>()
  })

  test('rejects something that is not a WebSocket constructor', () => {
    // @ts-expect-error a plain function is not a constructor
    new ReconnectingSocket(ENDPOINT, { WebSocket: (url: string) => url })
    // @ts-expect-error a class without the WebSocket surface
    new ReconnectingSocket(ENDPOINT, { WebSocket: class {} })
  })
})
