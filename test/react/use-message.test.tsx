import { act, cleanup, render, renderHook } from '@testing-library/react'
import { useState } from 'react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type ReconnectingSocket, SocketError, type SocketEvents } from '../../src/index.ts'
import {
  SocketProvider,
  useMessage,
  useSocket,
  useSocketContext,
  useSocketEvent,
} from '../../src/react/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'

const strict = { reactStrictMode: true } as const
const settle = () => act(async () => {})

interface CounterSchema {
  incoming: { tick: { i: number }; other: string }
  outgoing: { hello: undefined }
}

afterEach(() => {
  cleanup()
  vi.useRealTimers()
})

function openSocket() {
  const fake = fakeWebSocketFactory()
  const options = { WebSocket: fake.WebSocket, network: false as const }
  return { fake, options }
}

describe('useMessage', () => {
  it('delivers a synchronous burst of 1,000 messages, every one, in order', async () => {
    const { fake, options } = openSocket()
    const received: number[] = []
    let renders = 0
    renderHook(() => {
      renders++
      const socket = useSocket<CounterSchema>('ws://test.invalid/', options)
      useMessage(socket, 'tick', (data) => {
        received.push(data.i)
      })
    }, strict)
    await settle()
    act(() => fake.last().open())
    const rendersBefore = renders
    act(() => {
      for (let i = 0; i < 1000; i++) fake.last().receive({ type: 'tick', data: { i } })
    })
    expect(received).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    // Delivered to the handler, not through state: the burst causes no renders at all.
    expect(renders).toBe(rendersBefore)
  })

  it('delivers a burst to a handler that sets state: all 1,000 reach the rendered list', async () => {
    const { fake, options } = openSocket()
    let latest: number[] = []
    renderHook(() => {
      const socket = useSocket<CounterSchema>('ws://test.invalid/', options)
      const [items, setItems] = useState<number[]>([])
      latest = items
      useMessage(socket, 'tick', (data) => setItems((list) => [...list, data.i]))
    }, strict)
    await settle()
    act(() => fake.last().open())
    act(() => {
      for (let i = 0; i < 1000; i++) fake.last().receive({ type: 'tick', data: { i } })
    })
    expect(latest).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })

  it('calls the handler of the latest render, once per message, without resubscribing', async () => {
    const { fake, options } = openSocket()
    const calls: { message: number; handlerOf: number }[] = []
    let socket: ReconnectingSocket<CounterSchema> | undefined
    const { rerender } = renderHook(
      ({ version }) => {
        socket = useSocket<CounterSchema>('ws://test.invalid/', options)
        // A new closure on every render.
        useMessage(socket, 'tick', (data) => calls.push({ message: data.i, handlerOf: version }))
      },
      { ...strict, initialProps: { version: 0 } },
    )
    await settle()
    if (!socket) throw new Error('not rendered')
    const onMessage = vi.spyOn(socket, 'onMessage')
    act(() => fake.last().open())
    for (let version = 1; version <= 50; version++) {
      rerender({ version })
      act(() => fake.last().receive({ type: 'tick', data: { i: version } }))
    }
    expect(calls).toEqual(
      Array.from({ length: 50 }, (_, k) => ({ message: k + 1, handlerOf: k + 1 })),
    )
    expect(onMessage).not.toHaveBeenCalled()
  })

  it('handles only its own type and unsubscribes on unmount', async () => {
    const { fake, options } = openSocket()
    const ticks: number[] = []
    let socket: ReconnectingSocket<CounterSchema> | undefined
    const unhandled: string[] = []
    const { unmount } = renderHook(() => {
      socket = useSocket<CounterSchema>('ws://test.invalid/', options)
      useMessage(socket, 'tick', (data) => ticks.push(data.i))
      useSocketEvent(socket, 'unhandled', (envelope) => unhandled.push(envelope.type))
    }, strict)
    await settle()
    act(() => fake.last().open())
    act(() => {
      fake.last().receive({ type: 'other', data: 'x' })
      fake.last().receive({ type: 'tick', data: { i: 7 } })
    })
    expect(ticks).toEqual([7])
    expect(unhandled).toEqual(['other'])
    unmount()
    await settle()
    expect(fake.last().handlerCount).toBe(0)
    expect(socket?.state).toBe('closed')
  })
})

describe('useSocketEvent', () => {
  it('sees every state transition in order, each once, under StrictMode', async () => {
    vi.useFakeTimers()
    const { fake, options } = openSocket()
    const transitions: string[] = []
    const opens: SocketEvents['open'][] = []
    renderHook(() => {
      const socket = useSocket('ws://test.invalid/', { ...options, retry: () => 100 })
      useSocketEvent(socket, 'state', ({ from, to }) => transitions.push(`${from}→${to}`))
      useSocketEvent(socket, 'open', (event) => opens.push(event))
    }, strict)
    await settle()
    act(() => fake.last().open())
    act(() => fake.last().serverClose(1006))
    await act(async () => {
      await vi.advanceTimersByTimeAsync(100)
    })
    act(() => fake.last().open())
    expect(transitions).toEqual([
      'idle→connecting',
      'connecting→open',
      'open→reconnecting',
      'reconnecting→open',
    ])
    expect(opens.map((o) => o.reconnected)).toEqual([false, true])
  })
})

describe('SocketProvider', () => {
  it('shares one socket with the whole tree', async () => {
    const { fake, options } = openSocket()
    const seen: ReconnectingSocket<CounterSchema>[] = []
    const ticks: number[] = []
    function Child() {
      const socket = useSocketContext<CounterSchema>()
      seen.push(socket)
      useMessage(socket, 'tick', (data) => ticks.push(data.i))
      return null
    }
    function App() {
      const socket = useSocket<CounterSchema>('ws://test.invalid/', options)
      return (
        <SocketProvider socket={socket}>
          <Child />
          <Child />
        </SocketProvider>
      )
    }
    render(<App />, strict)
    await settle()
    expect(fake.sockets).toHaveLength(1)
    expect(new Set(seen).size).toBe(1)
    act(() => fake.last().open())
    act(() => fake.last().receive({ type: 'tick', data: { i: 1 } }))
    expect(ticks).toEqual([1, 1])
  })

  it('throws an actionable error without a provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    let error: unknown
    try {
      renderHook(() => useSocketContext(), strict)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(SocketError)
    expect((error as SocketError).code).toBe('INVALID_OPTIONS')
    expect((error as SocketError).message).toMatch(/SocketProvider/)
  })
})
