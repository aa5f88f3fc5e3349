import { act, cleanup, renderHook } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ReconnectingSocket, type SocketOptions } from '../../src/index.ts'
import { useSocket, useSocketState } from '../../src/react/index.ts'
import { fakeNetwork, fakeWebSocketFactory } from '../helpers/fake-websocket.ts'

// Every render goes through <StrictMode>: it runs effect → cleanup → effect on mount, the
// case in which naive hooks open two connections.
const strict = { reactStrictMode: true } as const

/** Lets the deferred close of an unmounted socket (a microtask) run. */
const settle = () => act(async () => {})

afterEach(() => {
  cleanup()
  vi.useRealTimers()
})

describe('useSocket', () => {
  it('opens exactly one native socket under StrictMode, and never closes one it just opened', async () => {
    const fake = fakeWebSocketFactory()
    const close = vi.spyOn(ReconnectingSocket.prototype, 'close')
    let bodyRuns = 0
    const { result, rerender } = renderHook(() => {
      bodyRuns++
      return useSocket('ws://test.invalid/', { WebSocket: fake.WebSocket, network: false })
    }, strict)
    await settle()
    // StrictMode is really on: the first render ran twice.
    expect(bodyRuns).toBe(2)
    expect(close).not.toHaveBeenCalled()
    expect(fake.sockets).toHaveLength(1)
    const native = fake.last()
    expect(native.url).toBe('ws://test.invalid/')
    expect(native.closeCalls).toEqual([])
    expect(native.handlerCount).toBe(4)
    expect(result.current.state).toBe('connecting')

    const socket = result.current
    act(() => native.open())
    expect(socket.state).toBe('open')
    rerender()
    rerender()
    await settle()
    expect(result.current).toBe(socket)
    expect(fake.sockets).toHaveLength(1)
  })

  it('leaves no native socket, timer or listener behind after unmount', async () => {
    vi.useFakeTimers()
    const fake = fakeWebSocketFactory()
    const network = fakeNetwork()
    const { result, unmount } = renderHook(
      () =>
        useSocket('ws://test.invalid/', {
          WebSocket: fake.WebSocket,
          network: network.source,
          heartbeat: { intervalMs: 1000, timeoutMs: 500 },
        }),
      strict,
    )
    await settle()
    act(() => fake.last().open())
    const socket = result.current
    expect(socket.state).toBe('open')
    // The heartbeat runs while open, and the socket watches the network.
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    expect(network.listenerCount()).toBeGreaterThan(0)

    unmount()
    await settle()
    expect(socket.state).toBe('closed')
    expect(fake.sockets).toHaveLength(1)
    expect(fake.last().closeCalls).toEqual([{ code: 1000, reason: '' }])
    expect(fake.last().handlerCount).toBe(0)
    expect(network.listenerCount()).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    // Nothing comes back to life later.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(60_000)
    })
    expect(fake.sockets).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('unmounting while a retry is scheduled cancels it', async () => {
    vi.useFakeTimers()
    const fake = fakeWebSocketFactory()
    const { result, unmount } = renderHook(
      () =>
        useSocket('ws://test.invalid/', {
          WebSocket: fake.WebSocket,
          network: false,
          retry: () => 5000,
        }),
      strict,
    )
    await settle()
    act(() => fake.last().open())
    act(() => fake.last().serverClose(1006))
    expect(result.current.state).toBe('reconnecting')
    expect(vi.getTimerCount()).toBe(1)
    unmount()
    await settle()
    expect(vi.getTimerCount()).toBe(0)
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000)
    })
    expect(fake.sockets).toHaveLength(1)
  })

  it('keeps the socket when an inline options object changes, and recreates it on a deps change', async () => {
    const fake = fakeWebSocketFactory()
    const { result, rerender } = renderHook(
      ({ room, heartbeat }: { room: string; heartbeat: boolean }) =>
        useSocket('ws://test.invalid/', { WebSocket: fake.WebSocket, network: false, heartbeat }, [
          room,
        ]),
      { ...strict, initialProps: { room: 'a', heartbeat: false } },
    )
    await settle()
    const first = result.current
    rerender({ room: 'a', heartbeat: true })
    await settle()
    expect(result.current).toBe(first)
    expect(fake.sockets).toHaveLength(1)

    rerender({ room: 'b', heartbeat: true })
    await settle()
    expect(result.current).not.toBe(first)
    expect(first.state).toBe('closed')
    expect(fake.sockets).toHaveLength(2)
    expect(fake.sockets[0]?.handlerCount).toBe(0)
    expect(fake.sockets[1]?.closeCalls).toEqual([])
  })

  it('on a URL change, moves the queued messages to the new socket and closes the old one', async () => {
    const fake = fakeWebSocketFactory()
    const options: SocketOptions = { WebSocket: fake.WebSocket, network: false }
    const { result, rerender } = renderHook(({ url }) => useSocket(url, options), {
      ...strict,
      initialProps: { url: 'ws://a.invalid/' },
    })
    await settle()
    const first = result.current
    const drops: string[] = []
    first.on('drop', ({ reason }) => drops.push(reason))
    expect(first.send('chat', { n: 1 })).toBe('queued')
    expect(first.send('chat', { n: 2 })).toBe('queued')
    expect(first.sendRaw('raw-3')).toBe('queued')

    rerender({ url: 'ws://b.invalid/' })
    await settle()
    const second = result.current
    expect(second).not.toBe(first)
    expect(first.state).toBe('closed')
    expect(drops).toEqual([]) // taken over, not dropped
    expect(fake.sockets.map((s) => s.url)).toEqual(['ws://a.invalid/', 'ws://b.invalid/'])
    expect(fake.sockets[0]?.handlerCount).toBe(0)
    expect(fake.sockets[0]?.closeCalls).toEqual([{ code: 1000, reason: '' }])
    expect(second.stats.queuedMessages).toBe(3)

    const native = fake.last()
    act(() => native.open())
    expect(native.sent).toEqual([
      JSON.stringify({ type: 'chat', data: { n: 1 } }),
      JSON.stringify({ type: 'chat', data: { n: 2 } }),
      'raw-3',
    ])
    expect(second.stats.queuedMessages).toBe(0)
  })

  it('calls the URL function of the latest render on every attempt, without recreating', async () => {
    vi.useFakeTimers()
    const fake = fakeWebSocketFactory()
    const { result, rerender } = renderHook(
      ({ n }) =>
        useSocket(() => `ws://test.invalid/?n=${n}`, {
          WebSocket: fake.WebSocket,
          network: false,
          retry: () => 100,
        }),
      { ...strict, initialProps: { n: 1 } },
    )
    await settle()
    const socket = result.current
    expect(fake.sockets.map((s) => s.url)).toEqual(['ws://test.invalid/?n=1'])
    act(() => fake.last().open())
    rerender({ n: 2 })
    await settle()
    expect(result.current).toBe(socket)
    act(() => fake.last().serverClose(1006))
    await act(async () => {
      await vi.advanceTimersByTimeAsync(100)
    })
    expect(fake.sockets.map((s) => s.url)).toEqual([
      'ws://test.invalid/?n=1',
      'ws://test.invalid/?n=2',
    ])
  })
})

describe('useSocketState', () => {
  it('renders every state of connect → open → drop → reconnect → open, in order', async () => {
    vi.useFakeTimers()
    const fake = fakeWebSocketFactory()
    const seen: string[] = []
    const { result } = renderHook(() => {
      const socket = useSocket('ws://test.invalid/', {
        WebSocket: fake.WebSocket,
        network: false,
        retry: () => 250,
      })
      const snapshot = useSocketState(socket)
      if (seen.at(-1) !== snapshot.state) seen.push(snapshot.state)
      return { socket, snapshot }
    }, strict)
    await settle()
    expect(result.current.snapshot.state).toBe('connecting')
    act(() => fake.last().open())
    expect(result.current.snapshot.state).toBe('open')

    act(() => fake.last().serverClose(1011, 'boom'))
    const { snapshot } = result.current
    expect(snapshot.state).toBe('reconnecting')
    expect(snapshot.attempt).toBe(1)
    expect(snapshot.nextRetryAt).toBe(Date.now() + 250)
    expect(snapshot.lastClose).toEqual({ code: 1011, reason: 'boom', wasClean: true })

    await act(async () => {
      await vi.advanceTimersByTimeAsync(250)
    })
    expect(fake.sockets).toHaveLength(2)
    expect(result.current.snapshot.nextRetryAt).toBeNull()
    act(() => fake.last().open())
    expect(result.current.snapshot.state).toBe('open')
    expect(seen).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open'])
  })

  it('shows the queue depth and the online flag', async () => {
    const fake = fakeWebSocketFactory()
    const network = fakeNetwork()
    const { result } = renderHook(() => {
      const socket = useSocket('ws://test.invalid/', {
        WebSocket: fake.WebSocket,
        network: network.source,
      })
      return { socket, snapshot: useSocketState(socket) }
    }, strict)
    await settle()
    await act(async () => {
      result.current.socket.send('chat', 1)
      result.current.socket.send('chat', 2)
    })
    expect(result.current.snapshot.queuedMessages).toBe(2)
    act(() => network.emit('offline'))
    expect(result.current.snapshot.online).toBe(false)
    act(() => network.emit('online'))
    expect(result.current.snapshot.online).toBe(true)
    await act(async () => fake.last().open())
    expect(result.current.snapshot.queuedMessages).toBe(0)
    expect(fake.last().sent).toHaveLength(2)
  })
})
