import { useState } from 'react'
import { useSocket, useSocketState } from 'resilient-socket/react'
import { ConnectionPanel } from './components/ConnectionPanel.tsx'
import { DeliveryPanel } from './components/DeliveryPanel.tsx'
import { type Fault, FaultPanel } from './components/FaultPanel.tsx'
import { MessagePanel } from './components/MessagePanel.tsx'
import { TimelinePanel } from './components/TimelinePanel.tsx'
import { SERVER_URL, SOCKET_URL } from './config.ts'
import { network, SOCKET_OPTIONS } from './connection.ts'
import { control } from './control.ts'
import { PING_AFTER_MS, PONG_WITHIN_MS, seconds } from './describe.ts'
import type { DemoSchema } from './schema.ts'
import { useSession } from './session.ts'
import { STREAM_RATE_PER_S, useStream } from './stream.ts'
import { useTimeline } from './timeline.ts'

const FAULT_CALLS: Record<Fault['kind'], (fault: Fault) => { says: string; calls: string[] }> = {
  drop: () => ({ says: 'drop the connection', calls: ['drop'] }),
  close: (fault) => {
    const { code, reason } = fault as Extract<Fault, { kind: 'close' }>
    return {
      says: `close with ${code}`,
      calls: [`close?code=${code}&reason=${encodeURIComponent(reason)}`],
    }
  },
  silence: () => ({ says: 'go silent', calls: ['silence?on=1'] }),
  refuse: () => ({ says: 'refuse connections for 5 s', calls: ['refuse?ms=5000', 'drop'] }),
  expire: () => ({ says: 'expire every token', calls: ['expire-tokens'] }),
  restart: (fault) => {
    const { store } = fault as Extract<Fault, { kind: 'restart' }>
    return {
      says: `restart the server, ${store === 'keep' ? 'keeping' : 'losing'} its sessions`,
      calls: [`restart?downMs=1500&store=${store}`],
    }
  },
}

export function App() {
  const socket = useSocket<DemoSchema>(SOCKET_URL, SOCKET_OPTIONS)
  const snapshot = useSocketState(socket)
  const session = useSession(socket)
  const { entries, add } = useTimeline(socket)
  const [offline, setOffline] = useState(false)
  const stream = useStream(socket)

  const changeStreaming = (on: boolean) => {
    add('you', on ? `start the stream (${STREAM_RATE_PER_S} frames/s)` : 'stop the stream')
    stream.setStreaming(on)
  }

  const runCalls = async (says: string, calls: string[]) => {
    add('you', says)
    try {
      for (const call of calls) await control(call)
    } catch (error) {
      add('error', `control API: ${(error as Error).message}`)
    }
  }

  const injectFault = (fault: Fault) => {
    const { says, calls } = FAULT_CALLS[fault.kind](fault)
    void runCalls(says, calls)
  }

  const changeOffline = (next: boolean) => {
    setOffline(next)
    network.setOffline(next)
    // The socket only pauses retries while offline; cutting the link makes that visible.
    if (next) void runCalls('go offline (and cut the link)', ['drop'])
    else add('you', 'go back online')
  }

  return (
    <div className="app">
      <header className="top">
        <div>
          <h1>
            resilient-socket <span>playground</span>
          </h1>
          <p className="tagline">
            One live WebSocket connection to the reference server. Break it with the buttons and
            watch it heal by itself.
          </p>
          <p className="settings">
            <span className="chip">
              heartbeat: ping after {seconds(PING_AFTER_MS)} quiet either way, pong within{' '}
              {seconds(PONG_WITHIN_MS)}
            </span>
            <span className="chip">retry: jittered backoff 0.5 s → 5 s</span>
            <span className="chip">auth: fresh token per attempt</span>
            <span className="chip">sends queue while disconnected</span>
            <span className="chip">reliable: exactly once across cuts</span>
          </p>
        </div>
        <div className="server">
          <span className="server-label">reference server</span>
          <code>{SERVER_URL}</code>
        </div>
      </header>
      <main className="grid">
        <ConnectionPanel socket={socket} snapshot={snapshot} session={session} />
        <FaultPanel onFault={injectFault} offline={offline} onOfflineChange={changeOffline} />
        <DeliveryPanel
          socket={socket}
          snapshot={snapshot}
          stream={stream.view}
          onStreamChange={changeStreaming}
        />
        <MessagePanel socket={socket} />
        <TimelinePanel entries={entries} />
      </main>
    </div>
  )
}
