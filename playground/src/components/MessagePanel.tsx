import { type FormEvent, useState } from 'react'
import { type ReconnectingSocket, type SendResult, SocketError } from 'resilient-socket'
import { useMessage } from 'resilient-socket/react'
import { clock } from '../describe.ts'
import type { DemoSchema } from '../schema.ts'

type Direction = 'out' | 'in' | 'request' | 'response' | 'failed'

interface LogEntry {
  id: number
  at: number
  direction: Direction
  text: string
  note: string
}

const ARROWS: Record<Direction, string> = {
  out: '→',
  in: '←',
  request: '⇢',
  response: '⇠',
  failed: '✕',
}

const SEND_RESULT: Record<SendResult, string> = {
  sent: 'sent',
  queued: 'queued: goes out when the connection is back',
  dropped: 'dropped (see the timeline)',
}

const MAX_ENTRIES = 200
let nextId = 1

/** Sends `chat` events (the server echoes them) and `echo` requests with their round trip. */
export function MessagePanel({ socket }: { socket: ReconnectingSocket<DemoSchema> }) {
  const [text, setText] = useState('hello')
  const [log, setLog] = useState<LogEntry[]>([])
  const add = (direction: Direction, body: string, note: string) => {
    const entry = { id: nextId++, at: Date.now(), direction, text: body, note }
    setLog((list) => [entry, ...list].slice(0, MAX_ENTRIES))
  }

  useMessage(socket, 'chat', (data) =>
    add('in', `chat “${data.text}”`, `echoed back after ${Date.now() - data.sentAt} ms`),
  )

  const send = (event: FormEvent) => {
    event.preventDefault()
    const result = socket.send('chat', { text, sentAt: Date.now() })
    add('out', `chat “${text}”`, SEND_RESULT[result])
  }

  const request = async () => {
    const sentAt = Date.now()
    add('request', `echo “${text}”`, socket.state === 'open' ? 'waiting for the answer' : 'queued')
    try {
      const response = await socket.request('echo', { text, sentAt })
      add('response', `echo “${response.text}”`, `answered in ${Date.now() - sentAt} ms`)
    } catch (error) {
      const code = error instanceof SocketError ? error.code : String(error)
      add('failed', `echo “${text}”`, code)
    }
  }

  return (
    <section className="card messages" aria-labelledby="messages-title">
      <header className="card-head">
        <h2 id="messages-title">Messages</h2>
        <span className="card-sub">
          the server echoes every event; send while offline and watch the queue
        </span>
      </header>
      <form className="composer" onSubmit={send}>
        <input
          className="input"
          aria-label="message text"
          value={text}
          onChange={(event) => setText(event.target.value)}
          maxLength={200}
        />
        <button type="submit" className="btn btn-primary">
          Send
        </button>
        <button type="button" className="btn" onClick={request}>
          Request echo
        </button>
      </form>
      <ol className="log" data-testid="message-log">
        {log.length === 0 && <li className="empty">Nothing sent yet.</li>}
        {log.map((entry) => (
          <li key={entry.id} className={`log-${entry.direction}`} data-direction={entry.direction}>
            <time>{clock(entry.at)}</time>
            <span className="arrow" aria-hidden="true">
              {ARROWS[entry.direction]}
            </span>
            <span className="log-text">{entry.text}</span>
            <span className="log-note">{entry.note}</span>
          </li>
        ))}
      </ol>
    </section>
  )
}
