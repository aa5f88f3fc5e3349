import { describe, expect, it } from 'vitest'
import { ReconnectingSocket } from '../../src/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { unitHarness } from '../helpers/unit-harness.ts'

const harness = unitHarness()

function openSocket() {
  const factory = fakeWebSocketFactory()
  const socket = harness.track(
    new ReconnectingSocket('ws://127.0.0.1:9/socket', {
      WebSocket: factory.WebSocket,
      network: false,
      autoConnect: false,
    }),
  )
  socket.connect()
  factory.last().open()
  return { socket, ws: factory.last() }
}

// The emitter's list of listeners is replaced on every on()/off(), never changed in place:
// these pin what a listener that subscribes or unsubscribes mid-event sees.
describe('listeners that change the listeners during an event', () => {
  it('a listener removed by an earlier one still hears the current event, not the next', () => {
    const { socket, ws } = openSocket()
    const heard: string[] = []
    socket.on('message', () => {
      heard.push('first')
      offSecond()
    })
    const offSecond = socket.on('message', () => heard.push('second'))
    ws.receive({ type: 'a' })
    ws.receive({ type: 'b' })
    expect(heard).toEqual(['first', 'second', 'first'])
  })

  it('a listener added during an event hears from the next event on', () => {
    const { socket, ws } = openSocket()
    const heard: string[] = []
    socket.on('message', ({ envelope }) => {
      heard.push(`first ${envelope?.type}`)
      if (envelope?.type === 'a') socket.on('message', () => heard.push('added'))
    })
    ws.receive({ type: 'a' })
    ws.receive({ type: 'b' })
    expect(heard).toEqual(['first a', 'first b', 'added'])
  })

  it('the same function registered twice is called twice; each disposer removes one, once', () => {
    const { socket, ws } = openSocket()
    let calls = 0
    const listener = (): void => {
      calls++
    }
    const offA = socket.on('message', listener)
    socket.on('message', listener)
    ws.receive({ type: 'a' })
    expect(calls).toBe(2)
    offA()
    offA()
    ws.receive({ type: 'b' })
    expect(calls).toBe(3)
  })

  it('a once listener that re-emits through the socket is not called again', () => {
    const { socket, ws } = openSocket()
    let calls = 0
    socket.once('message', () => {
      calls++
      ws.receive({ type: 'nested' })
    })
    ws.receive({ type: 'a' })
    expect(calls).toBe(1)
  })
})
