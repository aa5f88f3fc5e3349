/**
 * The session store: everything a reliable session needs to outlive one socket, behind a
 * small async interface, so that a store in memory and one in Redis (several server nodes)
 * keep the same promises. Each method is one atomic step; in Redis each is one Lua script
 * on keys hash-tagged by sid (`{sid}`), so a session lives on one Cluster slot.
 *
 * Seqs are positive integers per direction, starting at 1. "in" is the highest client seq
 * committed (handled, then committed: the ack); "out" the highest server seq assigned.
 * The outbound log holds every assigned frame the client has not acknowledged, in seq
 * order; only an ack trims it, never its length (the bounds refuse new frames instead).
 */
export interface SessionStore {
  /**
   * Creates session `sid` for `principal`, attached with generation 1, `in = out = 0`.
   * The sid is new (random, at least 120 bits): a store never reuses one, so `create`
   * of an sid it has seen, live or dead, throws.
   */
  create(sid: string, principal: string): Promise<SessionState>
  /**
   * Attaches a socket to a live session: increments its generation (fencing every earlier
   * attachment), stops its detach clock, and tells the watchers (`attached`). Refuses a
   * session of another principal (`forbidden`), one past its TTL (`expired`) and one it
   * does not know (`unknown-session`), without changing anything.
   *
   * `seen` and `acked` are the client's, from its `$resume`. Unless `seen` is below the
   * stored `acked` (the client forgot frames: the caller ends the session), the attach
   * reconciles the log with them in the same step:
   * - the frames up to `seen` are trimmed (the client delivered them);
   * - when `seen` is above what the store kept from before it lost data (`out`, or the
   *   `out` at its first restart since the last attach when frames were appended since),
   *   the frames appended after
   *   the loss are renumbered from `seen + 1` (a seq the client has seen is never reused),
   *   and `kept` says where the loss began. A repeated attach with the same `seen` (the
   *   first answer may not have reached the client) reports the same `kept`;
   * - when `acked` is above `in` (commits the store lost), the session gets a new
   *   `lineage`, so the delivery ids of the frames numbered again differ from the old ones.
   */
  attach(sid: string, principal: string, seen: number, acked: number): Promise<AttachResult>
  /**
   * Commits inbound `seq` for the attachment `generation`: `in = seq` if `seq === in + 1`.
   * The duplicate check and the commit are one step, so two nodes can never both commit.
   */
  accept(sid: string, generation: number, seq: number): Promise<AcceptResult>
  /**
   * Assigns the next outbound seq to `body` (an encoded envelope without `seq`) and stores
   * it, unless that would put more than `limits.maxFrames` frames or `limits.maxBytes`
   * bytes (UTF-8, of the bodies) in the unacked log. Works on a detached session too: a
   * send addresses the session, not a socket. Tells the watchers (`appended`).
   *
   * With `generation`, the frame belongs to that attachment (the answer to a frame it took):
   * it is `fenced`, and nothing stored, once a newer attachment exists. A node that lost the
   * session without knowing it (a half-open socket, a late handler) cannot add to it then;
   * the new attachment answers the frame itself, since its commit was fenced too.
   */
  append(
    sid: string,
    body: string,
    limits: AppendLimits,
    generation?: number,
  ): Promise<AppendResult>
  /**
   * The client has processed every server frame up to `upTo`: trims them from the log.
   * `beyond` if `upTo` is above `out` (nothing changes). An ack at or below the last one
   * is `ok` and changes nothing. `restarted` (nothing changes) when `epoch` is not the
   * session's: the store restarted after this attachment, and the client's numbers may
   * belong to frames it lost.
   */
  ack(sid: string, generation: number, upTo: number, epoch: number): Promise<AckResult>
  /**
   * Up to `limit` logged frames with a seq above `after`, in seq order. With `epoch`,
   * `restarted` when the session's epoch is another: what the log holds now may not follow
   * what that attachment wrote.
   */
  read(
    sid: string,
    after: number,
    limit: number,
    epoch?: number,
  ): Promise<readonly LoggedFrame[] | 'gone' | 'restarted'>
  /**
   * The socket of attachment `generation` went away: the session stays for `ttlMs`, then
   * expires. Does nothing when a newer attachment exists (it owns the session now).
   */
  detach(sid: string, generation: number, ttlMs: number): Promise<void>
  /** The client ended the session (clean close): forget it now. Same generation rule as `detach`. */
  end(sid: string, generation: number): Promise<void>
  /**
   * Keeps an encoded response for `ttlMs`, so that a request repeated with the same id
   * (an idempotent resend after a lost session, a replay) is answered without running twice.
   */
  remember(principal: string, requestId: string, response: string, ttlMs: number): Promise<void>
  /** The response `remember`ed for this principal and request id, if it has not expired. */
  lookup(principal: string, requestId: string): Promise<string | undefined>
  /**
   * Calls `listener` when the session changes under other hands: a frame appended (by any
   * node) or a newer attachment. May be late, batched or (in a distributed store) lost, so
   * readers treat it as a hint to re-read, never as data. Returns the unsubscribe.
   */
  watch(sid: string, listener: (event: StoreEvent) => void): () => void
  /**
   * Adds session `sid` to `group` (a set of sids, shared by every node of the store). Adding
   * one that is in it already changes nothing. Membership is not the session's: it does not
   * end with it, so a broadcast drops the sids it finds gone (`leave`).
   */
  join(group: string, sid: string): Promise<void>
  /** Removes `sid` from `group`; one not in it changes nothing. An empty group is forgotten. */
  leave(group: string, sid: string): Promise<void>
  /** The sids in `group` now, in no particular order; `[]` for a group no one joined. */
  members(group: string): Promise<readonly string[]>
}

export interface SessionState {
  sid: string
  generation: number
  in: number
  out: number
  /** Highest server seq the client has acknowledged; the log holds `acked + 1 .. out`. */
  acked: number
  /**
   * Changes when the store restarted under this session: at the first append, or attach,
   * after each restart (a store in memory never restarts: 0). It only grows, and a value is
   * never used twice, even when a second restart loses the first one's epoch (Redis uses
   * its clock in ms). An attachment of an older epoch can no longer ack or read
   * (`restarted`): its socket must resume.
   */
  epoch: number
  /**
   * Part of every delivery id (`sid:seq`, or `sid.lineage:seq` when not empty): empty until
   * the store is found to have lost inbound commits, then new each time, so that a seq the
   * client numbers again never repeats a delivery id whose handler ran.
   */
  lineage: string
}

export type AttachResult =
  | ({
      status: 'attached'
      /**
       * The `out` to tell the client: `out` itself, or, when the store lost frames the
       * client had seen, the last seq it kept from before the loss (below the client's
       * `seen`: the client reports the rollback).
       */
      kept: number
    } & SessionState)
  | { status: 'unknown-session' | 'expired' | 'forbidden' }

/**
 * `restarted` (also from `ack` and a generation's `append`): the store has an older generation
 * than the caller's, so it lost the caller's attach (a restart that lost writes). The socket
 * must resume; nothing changed.
 */
export type AcceptResult = 'committed' | 'duplicate' | 'gap' | 'fenced' | 'gone' | 'restarted'

export interface AppendLimits {
  maxFrames: number
  maxBytes: number
}

export type AppendResult =
  | { status: 'appended'; seq: number; epoch: number }
  | { status: 'full' | 'gone' | 'fenced' | 'restarted' }

export type AckResult = 'ok' | 'beyond' | 'fenced' | 'gone' | 'restarted'

export interface LoggedFrame {
  seq: number
  body: string
}

export type StoreEvent =
  | { type: 'appended'; sid: string; seq: number; epoch: number }
  | { type: 'attached'; sid: string; generation: number }
