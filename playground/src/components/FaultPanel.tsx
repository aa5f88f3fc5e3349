import { useState } from 'react'

/** A close code the server can be told to send, and what the client does about it. */
const CLOSE_CODES = [
  { code: 1012, label: 'service restart', reason: 'service restart', effect: 'reconnects' },
  { code: 1001, label: 'going away', reason: 'going away', effect: 'reconnects' },
  { code: 1011, label: 'server error', reason: 'internal error', effect: 'reconnects' },
  {
    code: 4001,
    label: 'unauthorized',
    reason: 'unauthorized',
    effect: 'gets a fresh token, then reconnects',
  },
  { code: 1000, label: 'normal closure', reason: 'bye', effect: 'stops for good' },
] as const

export type Fault =
  | { kind: 'drop' }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'silence' }
  | { kind: 'refuse' }
  | { kind: 'expire' }
  | { kind: 'restart'; store: 'keep' | 'drop' }

interface FaultPanelProps {
  onFault(fault: Fault): void
  offline: boolean
  onOfflineChange(offline: boolean): void
}

/** Buttons that break the connection on purpose, through the server's control API. */
export function FaultPanel({ onFault, offline, onOfflineChange }: FaultPanelProps) {
  const [closeCode, setCloseCode] = useState<number>(CLOSE_CODES[0].code)
  const selected = CLOSE_CODES.find((c) => c.code === closeCode) ?? CLOSE_CODES[0]

  return (
    <section className="card faults" aria-labelledby="faults-title">
      <header className="card-head">
        <h2 id="faults-title">Break it</h2>
        <span className="card-sub">each button asks the server to misbehave — watch it heal</span>
      </header>
      <ul className="fault-list">
        <FaultRow
          label="Drop connection"
          onClick={() => onFault({ kind: 'drop' })}
          text="The server cuts the TCP link with no goodbye (1006). The client retries after a short random delay."
        />
        <li className="fault">
          <div className="fault-group">
            <button
              type="button"
              className="btn btn-fault"
              aria-label="Close with code"
              onClick={() =>
                onFault({ kind: 'close', code: selected.code, reason: selected.reason })
              }
            >
              Close
            </button>
            <select
              aria-label="close code"
              className="select"
              value={closeCode}
              onChange={(event) => setCloseCode(Number(event.target.value))}
            >
              {CLOSE_CODES.map((c) => (
                <option key={c.code} value={c.code}>
                  {c.code}
                </option>
              ))}
            </select>
          </div>
          <p className="fault-text">
            A clean close with a code. <strong>{selected.code}</strong> {selected.label}: the client{' '}
            {selected.effect}.
          </p>
        </li>
        <FaultRow
          label="Go silent"
          onClick={() => onFault({ kind: 'silence' })}
          text="The link stays open, the server stops answering. Only the heartbeat can tell, within 5 s + 3 s."
        />
        <FaultRow
          label="Refuse for 5 s"
          onClick={() => onFault({ kind: 'refuse' })}
          text="Cuts the link and turns new ones away for 5 s (HTTP 503). Attempts fail and back off."
        />
        <FaultRow
          label="Expire token"
          onClick={() => onFault({ kind: 'expire' })}
          text="Every token expires; the server closes with 4001. The client fetches a fresh token."
        />
        <FaultRow
          label="Restart server"
          onClick={() => onFault({ kind: 'restart', store: 'keep' })}
          text="Down for 1.5 s, then back on the same port with its sessions kept (as Redis would keep them). Retries fail until it is up; then the session resumes."
        />
        <FaultRow
          label="Restart, drop store"
          onClick={() => onFault({ kind: 'restart', store: 'drop' })}
          text="The same, but the sessions die with the process (a memory store). The client hears sessionlost: which frames are in doubt."
        />
        <li className="fault">
          <button
            type="button"
            role="switch"
            aria-checked={offline}
            className={offline ? 'switch switch-on' : 'switch'}
            onClick={() => onOfflineChange(!offline)}
          >
            <span className="switch-track" aria-hidden="true">
              <span className="switch-thumb" />
            </span>
            Offline
          </button>
          <p className="fault-text">
            Pretends the network is gone (and cuts the link): retries pause, none wasted. Switch
            back and it reconnects at once.
          </p>
        </li>
      </ul>
    </section>
  )
}

function FaultRow({ label, text, onClick }: { label: string; text: string; onClick(): void }) {
  return (
    <li className="fault">
      <button type="button" className="btn btn-fault" onClick={onClick}>
        {label}
      </button>
      <p className="fault-text">{text}</p>
    </li>
  )
}
