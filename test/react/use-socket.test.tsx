import { act, cleanup, render, renderHook } from '@testing-library/react'
import { Activity, StrictMode, useEffect } from 'react'
import { hydrateRoot } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type DropReason,
  type Feature,
  heartbeat,
  ReconnectingSocket,
  type SocketOptions,
  type UntypedSchema,
} from '../../src/index.ts'
import {
  type UseSocketOptions,
  useSocket,
  useSocketEvent,
  useSocketState,
} from '../../src/react/index.ts'
import {
  type FakeWebSocketFactory,
  fakeNetwork,
  fakeWebSocketFactory,
} from '../helpers/fake-websocket.ts'

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
          heartbeat: heartbeat({ intervalMs: 1000, timeoutMs: 500 }),
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
    const initialProps: { room: string; liveness?: Feature } = { room: 'a' }
    const { result, rerender } = renderHook(
      ({ room, liveness }: typeof initialProps) =>
        useSocket(
          'ws://test.invalid/',
          { WebSocket: fake.WebSocket, network: false, heartbeat: liveness },
          [room],
        ),
      { ...strict, initialProps },
    )
    await settle()
    const first = result.current
    rerender({ room: 'a', liveness: heartbeat() })
    await settle()
    expect(result.current).toBe(first)
    expect(fake.sockets).toHaveLength(1)

    rerender({ room: 'b', liveness: heartbeat() })
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

type Socket = ReconnectingSocket<UntypedSchema>

interface Dropped {
  data: unknown
  type: string | undefined
  reason: DropReason
}

/**
 * A parent that owns the socket and listens to its drops (a hook after `useSocket`, as apps
 * write it), and a child that greets every socket it is given from its own effect: children's
 * effects run before the parent's, so the greeting is queued on a new socket before the
 * parent's `useSocket` effect hands the old queue over.
 */
function handOverTree(fake: FakeWebSocketFactory, options: UseSocketOptions = {}) {
  const sockets: Socket[] = []
  const drops: Dropped[] = []
  const greeted = new Set<Socket>()
  let hellos = 0

  function Child({ socket }: { socket: Socket }) {
    useEffect(() => {
      // StrictMode runs mount effects twice: greet each socket once.
      if (greeted.has(socket)) return
      greeted.add(socket)
      socket.send('hello', ++hellos)
    }, [socket])
    return null
  }

  function Parent({ url }: { url: string }) {
    const socket = useSocket(url, { WebSocket: fake.WebSocket, network: false, ...options })
    useSocketEvent(socket, 'drop', ({ message, reason }) =>
      drops.push({ data: message.data, type: message.type, reason }),
    )
    useEffect(() => {
      if (!sockets.includes(socket)) sockets.push(socket)
    }, [socket])
    return <Child socket={socket} />
  }

  return { Parent, sockets, drops }
}

const envelope = (type: string, data: unknown) => JSON.stringify({ type, data })

describe('useSocket: handing the queue over to a new socket', () => {
  it("sends the old socket's messages first, then what a child queued on the new one", async () => {
    const fake = fakeWebSocketFactory()
    const tree = handOverTree(fake)
    const { rerender } = render(<tree.Parent url="ws://a.invalid/" />, strict)
    await settle()
    const first = tree.sockets[0] as Socket
    expect(first.send('chat', 'old 1')).toBe('queued')
    expect(first.send('chat', 'old 2')).toBe('queued')

    rerender(<tree.Parent url="ws://b.invalid/" />)
    await settle()
    expect(tree.sockets).toHaveLength(2)
    expect(first.state).toBe('closed')
    expect(tree.drops).toEqual([])
    expect(fake.sockets.map((s) => s.url)).toEqual(['ws://a.invalid/', 'ws://b.invalid/'])

    act(() => fake.last().open())
    expect(fake.last().sent).toEqual([
      envelope('hello', 1),
      envelope('chat', 'old 1'),
      envelope('chat', 'old 2'),
      envelope('hello', 2),
    ])
  })

  it('keeps their type and age: the TTL counts from when they were first queued', async () => {
    vi.useFakeTimers()
    const fake = fakeWebSocketFactory()
    const tree = handOverTree(fake, { queue: { ttlMs: 1000 } })
    const { rerender } = render(<tree.Parent url="ws://a.invalid/" />, strict)
    await settle()
    const first = tree.sockets[0] as Socket
    first.send('chat', 'old')
    await act(async () => {
      await vi.advanceTimersByTimeAsync(800)
    })
    rerender(<tree.Parent url="ws://b.invalid/" />)
    await settle()
    expect(tree.sockets[1]?.stats.queuedMessages).toBe(3)
    await act(async () => {
      await vi.advanceTimersByTimeAsync(200)
    })
    // Reported by the new socket, with the type they were sent with.
    expect(tree.drops).toEqual([
      { data: envelope('hello', 1), type: 'hello', reason: 'expired' },
      { data: envelope('chat', 'old'), type: 'chat', reason: 'expired' },
    ])
    act(() => fake.last().open())
    expect(fake.last().sent).toEqual([envelope('hello', 2)])
  })

  it.each([
    // The adopted messages that do not fit are dropped, never thrown (QUEUE_FULL would crash
    // the tree from inside an effect).
    { overflow: 'reject', dropped: ['old'], sent: [1, 2] },
    { overflow: 'drop-newest', dropped: ['old'], sent: [1, 2] },
    // The oldest make room, whichever socket queued them.
    { overflow: 'drop-oldest', dropped: [1], sent: ['old', 2] },
  ] as const)(
    "with overflow '$overflow', reports what does not fit through drop",
    async ({ overflow, dropped, sent }) => {
      const fake = fakeWebSocketFactory()
      const tree = handOverTree(fake, { queue: { maxMessages: 2, overflow } })
      const { rerender } = render(<tree.Parent url="ws://a.invalid/" />, strict)
      await settle()
      const first = tree.sockets[0] as Socket
      expect(first.send('chat', 'old')).toBe('queued')
      tree.drops.length = 0

      // The child fills one of the new socket's two places before the hand-over.
      rerender(<tree.Parent url="ws://b.invalid/" />)
      await settle()
      const second = tree.sockets[1] as Socket
      expect(first.state).toBe('closed')
      expect(second.state).toBe('connecting')
      expect(tree.drops.map((d) => [d.reason, JSON.parse(String(d.data)).data])).toEqual(
        dropped.map((data) => ['overflow', data]),
      )
      expect(second.stats.queuedMessages).toBe(2)

      act(() => fake.last().open())
      expect(fake.last().sentEnvelopes.map((e) => e.data)).toEqual(sent)
    },
  )

  it('with transferQueue: false, closes the old socket and drops its queue as closed', async () => {
    const fake = fakeWebSocketFactory()
    const tree = handOverTree(fake, { transferQueue: false })
    const { rerender } = render(<tree.Parent url="ws://a.invalid/?user=ann" />, strict)
    await settle()
    const first = tree.sockets[0] as Socket
    const oldDrops: Dropped[] = []
    first.on('drop', ({ message, reason }) =>
      oldDrops.push({ data: message.data, type: message.type, reason }),
    )
    first.send('chat', "ann's draft")

    rerender(<tree.Parent url="ws://a.invalid/?user=bob" />)
    await settle()
    expect(first.state).toBe('closed')
    expect(oldDrops).toEqual([
      { data: envelope('hello', 1), type: 'hello', reason: 'closed' },
      { data: envelope('chat', "ann's draft"), type: 'chat', reason: 'closed' },
    ])
    expect(fake.sockets.map((s) => s.url)).toEqual([
      'ws://a.invalid/?user=ann',
      'ws://a.invalid/?user=bob',
    ])
    act(() => fake.last().open())
    expect(fake.last().sent).toEqual([envelope('hello', 2)])
  })
})

describe('useSocket: who connects', () => {
  /** A socket inside `<Activity>`, which runs the effect cleanups when hidden. */
  function activityTree(fake: FakeWebSocketFactory, options: UseSocketOptions = {}) {
    const seen: Socket[] = []
    function Live() {
      const socket = useSocket('ws://test.invalid/', {
        WebSocket: fake.WebSocket,
        network: false,
        ...options,
      })
      if (!seen.includes(socket)) seen.push(socket)
      return null
    }
    const Tree = ({ visible }: { visible: boolean }) => (
      <Activity mode={visible ? 'visible' : 'hidden'}>
        <Live />
      </Activity>
    )
    return { Tree, seen }
  }

  it('does not reopen a socket the app closed when the effect runs again (Activity hide → show)', async () => {
    const fake = fakeWebSocketFactory()
    const { Tree, seen } = activityTree(fake)
    const { rerender } = render(<Tree visible />, strict)
    await settle()
    const socket = seen[0] as Socket
    act(() => fake.last().open())
    act(() => socket.close(1000, 'logout'))
    expect(fake.last().closeCalls).toEqual([{ code: 1000, reason: 'logout' }])

    rerender(<Tree visible={false} />)
    await settle()
    rerender(<Tree visible />)
    await settle()
    expect(seen).toEqual([socket])
    expect(socket.state).toBe('closed')
    expect(fake.sockets).toHaveLength(1)
  })

  it('hiding closes the socket (its queue is dropped); showing it again reconnects it once', async () => {
    const fake = fakeWebSocketFactory()
    const { Tree, seen } = activityTree(fake)
    const { rerender } = render(<Tree visible />, strict)
    await settle()
    const socket = seen[0] as Socket
    const drops: DropReason[] = []
    socket.on('drop', ({ reason }) => drops.push(reason))
    expect(socket.send('chat', 'waiting')).toBe('queued')

    rerender(<Tree visible={false} />)
    await settle()
    expect(socket.state).toBe('closed')
    expect(drops).toEqual(['closed'])
    expect(fake.last().handlerCount).toBe(0)

    rerender(<Tree visible />)
    await settle()
    expect(seen).toEqual([socket])
    expect(socket.state).toBe('connecting')
    expect(fake.sockets).toHaveLength(2)
    expect(fake.last().closeCalls).toEqual([])
    act(() => fake.last().open())
    expect(socket.state).toBe('open')
  })

  it('with autoConnect: false, leaves connecting to the app', async () => {
    const fake = fakeWebSocketFactory()
    const { result, rerender, unmount } = renderHook(
      () =>
        useSocket('ws://test.invalid/', {
          WebSocket: fake.WebSocket,
          network: false,
          autoConnect: false,
        }),
      strict,
    )
    await settle()
    const socket = result.current
    expect(socket.state).toBe('idle')
    expect(fake.sockets).toHaveLength(0)
    rerender()
    await settle()
    expect(fake.sockets).toHaveLength(0)

    act(() => socket.connect())
    expect(socket.state).toBe('connecting')
    expect(fake.sockets).toHaveLength(1)
    unmount()
    await settle()
    expect(socket.state).toBe('closed')
    expect(fake.sockets).toHaveLength(1)
  })
})

describe('useSocketState: selector and server rendering', () => {
  it('with a selector, re-renders only when the selected value changes', async () => {
    vi.useFakeTimers()
    const fake = fakeWebSocketFactory()
    const renders = { state: 0, full: 0 }
    let shown = ''
    let socket: Socket | undefined
    function StateOnly({ of }: { of: Socket }) {
      renders.state++
      shown = useSocketState(of, (snapshot) => snapshot.state)
      return null
    }
    function Full({ of }: { of: Socket }) {
      renders.full++
      useSocketState(of)
      return null
    }
    function Tree() {
      socket = useSocket('ws://test.invalid/', {
        WebSocket: fake.WebSocket,
        network: false,
        heartbeat: heartbeat({ intervalMs: 1000, timeoutMs: 500 }),
      })
      return (
        <>
          <StateOnly of={socket} />
          <Full of={socket} />
        </>
      )
    }
    render(<Tree />, strict)
    await settle()
    act(() => fake.last().open())
    expect(shown).toBe('open')
    const before = { ...renders }

    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000)
    })
    const ping = fake.last().sentEnvelopes.find((e) => e.type === '$ping')
    await act(async () => {
      await vi.advanceTimersByTimeAsync(40)
    })
    act(() => fake.last().receive({ type: '$pong', re: ping?.id }))
    expect(socket?.getSnapshot().rttMs).toBe(40)
    expect(renders.full).toBeGreaterThan(before.full)
    expect(renders.state).toBe(before.state)

    act(() => fake.last().serverClose(1006))
    expect(shown).toBe('reconnecting')
    expect(renders.state).toBeGreaterThan(before.state)
  })

  it('hydrates server HTML without a mismatch, then shows the live snapshot', async () => {
    const fake = fakeWebSocketFactory()
    const network = fakeNetwork()
    network.online = false
    function Status() {
      const socket = useSocket('ws://test.invalid/', {
        WebSocket: fake.WebSocket,
        network: network.source,
      })
      const { state, online } = useSocketState(socket)
      const attempt = useSocketState(socket, (snapshot) => snapshot.attempt)
      return (
        <p>
          {state} {online ? 'online' : 'offline'} {attempt}
        </p>
      )
    }
    const html = renderToString(
      <StrictMode>
        <Status />
      </StrictMode>,
    )
    expect(html).toBe('<p>idle<!-- --> <!-- -->online<!-- --> <!-- -->0</p>')
    // The server rendered nothing that connects.
    expect(fake.sockets).toHaveLength(0)

    const container = document.createElement('div')
    container.innerHTML = html
    document.body.append(container)
    const recoverable: unknown[] = []
    const root = await act(async () =>
      hydrateRoot(
        container,
        <StrictMode>
          <Status />
        </StrictMode>,
        { onRecoverableError: (error) => recoverable.push(error) },
      ),
    )
    await settle()
    expect(recoverable).toEqual([])
    // After hydration, the client's own snapshot: offline, so the attempt waits.
    expect(container.textContent).toMatch(/^(connecting|reconnecting) offline/)
    act(() => root.unmount())
    container.remove()
  })
})
