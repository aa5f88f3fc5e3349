import { describe, expect, it, vi } from 'vitest'
import {
  type Feature,
  heartbeat,
  type Part,
  type PartHost,
  ReconnectingSocket,
  requests,
  type SocketError,
  type SocketOptions,
} from '../../src/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { unitHarness } from '../helpers/unit-harness.ts'

// The seam itself, through the public API: a feature of the test's own, built the way
// heartbeat(), auth() and requests() are, sees every fixed point of the lifecycle, and a
// feature that throws in any of them cannot break the socket.

const URL = 'ws://seam.test/'
const harness = unitHarness()

type Hook =
  | 'handshake'
  | 'opened'
  | 'inbound'
  | 'written'
  | 'response'
  | 'wake'
  | 'lost'
  | 'ended'
  | 'redact'
  | '$frame'

/** A feature that records every hook call and can be told to throw in any of them. */
function probe(throwIn: ReadonlySet<Hook> = new Set()) {
  const calls: string[] = []
  let host: PartHost | undefined
  const hit = (hook: Hook, detail = '') => {
    calls.push(detail ? `${hook}:${detail}` : hook)
    if (throwIn.has(hook)) throw new Error(`${hook} exploded`)
  }
  const part: Part = {
    frames: { $probe: (envelope) => hit('$frame', String(envelope.data)) },
    handshake(handshake, context) {
      hit('handshake', context.reason)
      return { ...handshake, url: `${handshake.url}?seen=1` }
    },
    opened: () => hit('opened'),
    inbound(data) {
      hit('inbound', String(data))
      return data === 'mine'
    },
    written: () => hit('written'),
    response: (envelope) => hit('response', String(envelope.re)),
    wake: () => hit('wake'),
    lost() {
      hit('lost')
      return undefined
    },
    ended: (error) => hit('ended', error.code),
    redact(text) {
      hit('redact')
      return text.replaceAll('secret', '[gone]')
    },
  }
  const feature: Feature = {
    feature: 'heartbeat', // rides in the heartbeat slot: the option keys are the features'
    create(given) {
      host = given
      return part
    },
  }
  return { feature, calls, host: () => host as PartHost }
}

function setup(options: SocketOptions = {}) {
  const fake = fakeWebSocketFactory()
  const socket = harness.track(
    new ReconnectingSocket(URL, {
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      retry: () => 100,
      ...options,
    }),
  )
  return { fake, socket }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

describe('the seam', () => {
  it('calls each hook at its fixed point, in order', async () => {
    const { feature, calls } = probe()
    const { fake, socket } = setup({ heartbeat: feature })
    socket.connect()
    await settle()
    expect(fake.last().url).toBe(`${URL}?seen=1`)
    fake.last().open()
    socket.send('chat', 'hi')
    fake.last().receive('{"type":"$probe","data":"x"}')
    fake.last().receive('{"type":"answer","re":"r1"}')
    fake.last().receive('mine')
    fake.last().serverClose(1006)
    socket.close()
    // `redact` runs whenever a URL or an error text is about to be logged or reported.
    expect(calls.filter((call) => call !== 'redact')).toEqual([
      'handshake:connect',
      'opened',
      'written',
      'inbound:{"type":"$probe","data":"x"}',
      '$frame:x',
      'inbound:{"type":"answer","re":"r1"}',
      'response:r1',
      'inbound:mine',
      'lost',
      'ended:CLOSED',
    ])
  })

  it('keeps a consumed frame and unknown $ frames from application code', () => {
    const { feature } = probe()
    const { fake, socket } = setup({ heartbeat: feature })
    const messages: unknown[] = []
    socket.on('message', ({ data }) => messages.push(data))
    socket.on('unhandled', (envelope) => messages.push(envelope))
    socket.connect()
    return settle().then(() => {
      fake.last().open()
      fake.last().receive('mine')
      fake.last().receive('{"type":"$nobody"}')
      fake.last().receive('{"type":"chat"}')
      expect(messages).toEqual(['{"type":"chat"}', { type: 'chat' }])
    })
  })

  it('lets a part write ahead of the queue, and redacts what it knows from reports', async () => {
    const { feature, host } = probe()
    const { fake, socket } = setup({ heartbeat: feature })
    socket.sendRaw('queued')
    socket.connect()
    await settle()
    expect(host().write(() => 'too early')).toBe(false)
    socket.on('open', () => {
      expect(host().write(() => 'from a part')).toBe(true)
    })
    fake.last().open()
    expect(fake.last().sent).toEqual(['from a part', 'queued'])
    const errors: SocketError[] = []
    socket.on('error', (error) => errors.push(error))
    fake.last().serverClose(1006)
    vi.advanceTimersByTime(100)
    await settle()
    fake.last().fail('connect ECONNREFUSED secret')
    harness.expectErrors((error) => error.code === 'CONNECTION_FAILED')
    expect(errors.map((error) => error.message)).toEqual(['connect ECONNREFUSED [gone]'])
  })

  it('refuses two parts that claim the same $ type', () => {
    const claim = (): Feature => ({
      feature: 'requests',
      create: () => ({ frames: { $pong: () => {} }, request: async () => null, pendingCount: 0 }),
    })
    expect(() => setup({ heartbeat: heartbeat(), requests: claim() as never })).toThrow(
      /"\$pong" is handled by two parts/,
    )
  })
})

describe('a part that throws', () => {
  const everyHook: Hook[] = [
    'inbound',
    'written',
    'response',
    'wake',
    'lost',
    'ended',
    'redact',
    '$frame',
  ]

  it.each(everyHook)('in %s is reported, and the socket goes on', async (hook) => {
    const { feature } = probe(new Set([hook]))
    const network = new EventTarget()
    const { fake, socket } = setup({
      heartbeat: feature,
      requests: requests(),
      network: { target: network, isOnline: () => true, isVisible: () => true },
    })
    const received: unknown[] = []
    socket.onMessage('chat', (data) => received.push(data))
    socket.connect()
    await settle()
    fake.last().open()
    expect(socket.send('chat', 1)).toBe('sent')
    fake.last().receive('{"type":"$probe"}')
    fake.last().receive('{"type":"x","re":"nobody"}')
    fake.last().receive('{"type":"chat","data":2}')
    network.dispatchEvent(new Event('online'))
    fake.last().serverClose(1006)
    vi.advanceTimersByTime(100)
    await settle()
    fake.last().fail('refused')
    vi.advanceTimersByTime(1000)
    await settle()
    fake.last().open()
    expect(socket.state).toBe('open')
    expect(socket.send('chat', 3)).toBe('sent')
    expect(received).toEqual([2])
    socket.close()
    expect(socket.state).toBe('closed')
    const failures = harness.expectErrors((error) => error.code === 'HANDLER_FAILED')
    expect(failures.length).toBeGreaterThan(0)
    expect(failures.every((error) => /a part|the part handling/.test(error.message))).toBe(true)
    harness.expectErrors((error) => error.code === 'CONNECTION_FAILED')
  })

  it.each(['handshake', 'opened'] as const)(
    'in %s fails the attempt, which is retried like any other',
    async (hook) => {
      let calls = 0
      const feature: Feature = {
        feature: 'auth',
        create: () => ({
          [hook]: () => {
            calls++
            if (calls === 1) throw new Error(`${hook} exploded`)
            return hook === 'handshake' ? { url: URL, protocols: [] } : undefined
          },
        }),
      }
      const { fake, socket } = setup({ auth: feature })
      const reconnecting: string[] = []
      socket.on('reconnecting', ({ reason }) => reconnecting.push(reason))
      socket.connect()
      await settle()
      if (hook === 'opened') fake.last().open()
      expect(socket.state).toBe('reconnecting')
      expect(reconnecting).toEqual(['attempt-failed'])
      const [failure] = harness.expectErrors((error) => /exploded/.test(error.message))
      expect(failure?.code).toBe(hook === 'handshake' ? 'CONNECTION_FAILED' : 'HANDLER_FAILED')
      vi.advanceTimersByTime(100)
      await settle()
      fake.last().open()
      expect(socket.state).toBe('open')
    },
  )
})
