/**
 * The server's side of the wire rules (PROTOCOL.md): its close codes, and how a logged
 * frame gets its `seq` and `ack` when it is written.
 */

/**
 * Service restart: the session store restarted under this socket. The client backs off as
 * from any restart (every socket of the session's node hears it at once) and resumes.
 */
export const CLOSE_RESTART = 1012
/** Refresh the token and reconnect: bad, missing or expired credentials. */
export const CLOSE_UNAUTHORIZED = 4001
/** Forbidden: the client refreshes once, then stops. */
export const CLOSE_FORBIDDEN = 4003
/** Past a bound of the reliable mode (unacked log, pending frames): the client reports a lost session. */
export const CLOSE_LIMIT = 4008
/** The peer broke a reliable-mode rule (gap, bad seq, ack beyond sent, frame before `$session`). */
export const CLOSE_PROTOCOL = 4009
/** Another socket attached to this session: this one is displaced. */
export const CLOSE_DISPLACED = 4010

/** Why a `$session` says `resumed: false`. */
export type LostReason = 'unknown-session' | 'expired' | 'rollback' | 'forbidden' | 'version'

/** A seq is a positive safe integer. */
export function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0
}

/**
 * Puts `seq` (and `ack`) in front of an encoded envelope. The log keeps bodies without
 * them: the seq is the store's to assign and the ack is only known when the frame is
 * written, and re-encoding the whole payload for two numbers would be waste. A body is
 * `JSON.stringify` of an envelope, so it starts with `{"type":`.
 */
export function withSeq(body: string, seq: number, ack: number | undefined): string {
  const head = ack === undefined ? `{"seq":${seq},` : `{"seq":${seq},"ack":${ack},`
  return head + body.slice(1)
}
