import { createHash } from 'node:crypto'
import { ServerError } from './errors.ts'
import { newLineage } from './lineage.ts'
import type {
  AcceptResult,
  AckResult,
  AppendResult,
  AttachResult,
  LoggedFrame,
  SessionState,
  SessionStore,
  StoreEvent,
} from './store.ts'

/** The arguments of a Lua script call, as node-redis takes them. */
interface ScriptArgs {
  keys: string[]
  arguments: string[]
}

/** The commands the store sends: a node-redis client or cluster has them. */
export interface RedisStoreCommands {
  eval(script: string, options: ScriptArgs): Promise<unknown>
  evalSha(sha: string, options: ScriptArgs): Promise<unknown>
}

/** The connection the store subscribes on: a `duplicate()` of the client, owned by the store. */
export interface RedisStoreSubscriber {
  connect(): Promise<unknown>
  pSubscribe(
    pattern: string,
    listener: (message: string, channel: string) => unknown,
  ): Promise<void>
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'ready', listener: () => void): unknown
  close(): Promise<void>
}

/**
 * What the store needs of a Redis client: a connected `createClient()` or `createCluster()`
 * of the `redis` package (node-redis) fits as it is.
 */
export interface RedisStoreClient extends RedisStoreCommands {
  withCommandOptions(options: { abortSignal?: AbortSignal }): RedisStoreCommands
  duplicate(): RedisStoreSubscriber
}

export interface RedisStoreOptions {
  /**
   * A connected node-redis client (`createClient()`) or cluster (`createCluster()`). The
   * store sends its commands on it and never closes it; its reconnect and offline queue are
   * what lets the store ride out a dropped Redis connection.
   */
  client: RedisStoreClient
  /**
   * Put before every key and channel, so that several apps (or test runs) share one Redis.
   * Session keys are `<prefix>{<sid>}:<part>`: the braces are a Cluster hash tag, so all of
   * one session is on one slot and each script touches one slot only.
   * @default 'rs:'
   */
  keyPrefix?: string
  /**
   * How long an attached session lives in Redis without a store operation (a send, an
   * inbound frame, an ack): the bound on what a node that dies without detaching (SIGKILL,
   * power loss) leaves behind. Every operation on an attached session pushes it forward.
   * @default 86_400_000 (24 h)
   */
  attachedTtlMs?: number
  /**
   * How long a session's sid is remembered after it expired, so that a late `$resume`
   * hears `expired` rather than `unknown-session`. One small key per sid.
   * @default 3_600_000 (1 h)
   */
  tombstoneTtlMs?: number
  /**
   * The safety net under the pub/sub wake-up: every watched session is re-read this often
   * (and at once after the subscriber reconnects), so a lost notification delays a frame
   * by at most this long instead of stranding it.
   * @default 2_000
   */
  pollIntervalMs?: number
  /**
   * How long one store operation may take, retries after a dropped connection included.
   * Past it the operation rejects with `STORE_FAILED` (the companion then closes the socket
   * with 1011 and the client resumes later).
   * @default 5_000
   */
  operationTimeoutMs?: number
  /**
   * Told about every failed attempt, also those a retry then overcame (a Redis restart, a
   * dropped connection). A throw from it is ignored.
   */
  onError?: (error: ServerError) => void
}

/** A Redis session store: a SessionStore plus `close()` for the subscriber it owns. */
export interface RedisSessionStore extends SessionStore {
  /** Stops the re-read timer and closes the subscriber connection (not the client). */
  close(): Promise<void>
}

/** Pages of 1,000 sids: ten million members, far past any sane group. */
const MAX_MEMBER_PAGES = 10_000

const DEFAULTS = {
  keyPrefix: 'rs:',
  attachedTtlMs: 86_400_000,
  tombstoneTtlMs: 3_600_000,
  pollIntervalMs: 2_000,
  operationTimeoutMs: 5_000,
}

// ─── Lua ─────────────────────────────────────────────────────────────────────
// KEYS[1] the session hash (p principal, g generation, i in, o out, a acked, b unacked
// bytes, d detached 0/1, n lineage, r the run_id of the Redis that last appended or
// attached, e epoch, k the `out` at the first append after a restart, ro/rs the `kept`
// last reported and the `seen` it was reported to), KEYS[2] the log stream (entry id
// `<seq>-0`, field `b` the body), KEYS[3] the tombstone (outlives the hash by
// tombstoneTtlMs). All share the `{sid}` tag.
//
// A restart is seen by the run_id, read inside the script (INFO is allowed in scripts since
// Redis 5's effects replication), so no node's stale idea of it can slip through.

const PRELUDE = `
local s, l, t = KEYS[1], KEYS[2], KEYS[3]
local function expire(ms, tomb)
  redis.call('PEXPIRE', s, ms)
  redis.call('PEXPIRE', l, ms)
  redis.call('SET', t, '1', 'PX', ms + tomb)
end
-- An attached session's TTL is pushed forward once half of it is used, not on every write.
local function touch(d, attachedMs, tomb)
  if d == '0' and redis.call('PTTL', s) < attachedMs / 2 then expire(attachedMs, tomb) end
end
-- 48 bits of the run_id: enough to tell restarts apart, and 28 bytes less per session.
local function runId()
  return string.sub(string.match(redis.call('INFO', 'server'), 'run_id:(%x+)'), 1, 12)
end
-- A new epoch is Redis's clock in ms (and at least one more): an epoch lost with the data of
-- a second crash is then never drawn again, so a socket of that epoch still sees the change.
local function nextEpoch(e)
  local t = redis.call('TIME')
  return math.max(e + 1, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
-- Another generation than the caller's: a newer one fences it; an older one means Redis lost
-- the caller's attach (a restart that lost writes), and the socket must resume.
local function stale(g, mine)
  if tonumber(g) < tonumber(mine) then return 'restarted' end
  return 'fenced'
end
`

const SCRIPTS = {
  // ARGV principal, attachedMs, tomb, retry. 1 created, 0 the sid is taken.
  create: `
if redis.call('EXISTS', s) == 1 then
  -- A retry after a dropped reply finds its own fresh session.
  if ARGV[4] == '1' and redis.call('HGET', s, 'p') == ARGV[1] and redis.call('HGET', s, 'g') == '1'
    and redis.call('HGET', s, 'o') == '0' and redis.call('HGET', s, 'i') == '0' then return 1 end
  return 0
end
if redis.call('EXISTS', t) == 1 then return 0 end
redis.call('DEL', l)
redis.call('HSET', s, 'p', ARGV[1], 'g', 1, 'i', 0, 'o', 0, 'a', 0, 'b', 0, 'd', 0, 'n', '',
  'r', runId(), 'e', 0)
expire(tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1`,

  // ARGV principal, attachedMs, tomb, channel, seen, acked, a fresh lineage.
  // {'attached', generation, in, out, acked, epoch, lineage, kept}.
  attach: `
if redis.call('EXISTS', s) == 0 then
  if redis.call('EXISTS', t) == 1 then return {'expired'} end
  return {'unknown-session'}
end
if redis.call('HGET', s, 'p') ~= ARGV[1] then return {'forbidden'} end
local g = redis.call('HINCRBY', s, 'g', 1)
redis.call('HSET', s, 'd', 0)
redis.call('PUBLISH', ARGV[4], 'g' .. g)
local v = redis.call('HMGET', s, 'i', 'o', 'a', 'b', 'k', 'ro', 'rs', 'r', 'e', 'n')
local i, o, a, bytes = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4])
local e, lineage = tonumber(v[9]) or 0, v[10] or ''
local seen, acked = tonumber(ARGV[5]), tonumber(ARGV[6])
local kept = o
-- Below acked the client forgot frames: the caller ends the session, so nothing changes.
if seen >= a then
  local from = tonumber(v[5]) or o
  if seen > from then
    -- The client has seen frames Redis lost: those after the loss take seqs above seen.
    local moved = redis.call('XRANGE', l, (from + 1) .. '-0', '+')
    redis.call('DEL', l)
    bytes = 0
    for n, entry in ipairs(moved) do
      redis.call('XADD', l, (seen + n) .. '-0', 'b', entry[2][2])
      bytes = bytes + #entry[2][2]
    end
    kept = from
    o = seen + #moved
    redis.call('HSET', s, 'ro', kept, 'rs', seen)
  else
    if v[6] and tonumber(v[7]) == seen then
      kept = tonumber(v[6])
    else
      redis.call('HDEL', s, 'ro', 'rs')
    end
    if seen > a then
      for _, entry in ipairs(redis.call('XRANGE', l, '-', seen .. '-0')) do
        bytes = bytes - #entry[2][2]
      end
      redis.call('XTRIM', l, 'MINID', (seen + 1) .. '-0')
    end
  end
  a = seen
  local run = runId()
  -- Restarted with no append since: the epoch moves here, so that watchers, which count
  -- seqs per epoch, take the seqs of the reconciled log as new.
  if v[8] and v[8] ~= run then e = nextEpoch(e) end
  if acked > i then lineage = ARGV[7] end
  redis.call('HSET', s, 'o', o, 'a', a, 'b', bytes, 'r', run, 'e', e, 'n', lineage)
  redis.call('HDEL', s, 'k')
end
expire(tonumber(ARGV[2]), tonumber(ARGV[3]))
return {'attached', g, i, o, a, e, lineage, kept}`,

  // ARGV generation, seq, attachedMs, tomb, retry.
  accept: `
if redis.call('EXISTS', s) == 0 then return 'gone' end
local v = redis.call('HMGET', s, 'g', 'i', 'd')
if v[1] ~= ARGV[1] then return stale(v[1], ARGV[1]) end
local i, seq = tonumber(v[2]), tonumber(ARGV[2])
-- Only this attachment commits for its generation: on a retry, in == seq is its own commit.
if ARGV[5] == '1' and seq == i then return 'committed' end
if seq <= i then return 'duplicate' end
if seq ~= i + 1 then return 'gap' end
redis.call('HSET', s, 'i', seq)
touch(v[3], tonumber(ARGV[3]), tonumber(ARGV[4]))
return 'committed'`,

  // ARGV body, maxFrames, maxBytes, attachedMs, tomb, channel, generation ('' for none).
  append: `
if redis.call('EXISTS', s) == 0 then return {'gone'} end
local v = redis.call('HMGET', s, 'o', 'a', 'b', 'd', 'g', 'r', 'e', 'k')
if ARGV[7] ~= '' and v[5] ~= ARGV[7] then return {stale(v[5], ARGV[7])} end
local o, a, b, size = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), #ARGV[1]
if o - a + 1 > tonumber(ARGV[2]) or b + size > tonumber(ARGV[3]) then return {'full'} end
local e = tonumber(v[7]) or 0
local run = runId()
if not v[6] then
  -- A session from before epochs were kept: this Redis is where its count starts.
  redis.call('HSET', s, 'r', run, 'e', e)
elseif v[6] ~= run then
  -- The first frame since Redis restarted: whatever it lost, what follows is told apart.
  e = nextEpoch(e)
  redis.call('HSET', s, 'r', run, 'e', e)
  if not v[8] then redis.call('HSET', s, 'k', o) end
end
o = o + 1
redis.call('XADD', l, o .. '-0', 'b', ARGV[1])
redis.call('HSET', s, 'o', o, 'b', b + size)
-- A log made just now (after create, or an attach that emptied it) dies with the session.
if redis.call('PTTL', l) == -1 then
  local left = redis.call('PTTL', s)
  if left > 0 then redis.call('PEXPIRE', l, left) end
end
if v[4] == '1' then
  -- Detached: the log (maybe created just now) dies with the session, not later.
  local left = redis.call('PTTL', s)
  if left > 0 then redis.call('PEXPIRE', l, left) end
else
  touch(v[4], tonumber(ARGV[4]), tonumber(ARGV[5]))
end
redis.call('PUBLISH', ARGV[6], 'a' .. o .. ':' .. e)
return {'appended', o, e}`,

  // ARGV generation, upTo, attachedMs, tomb, epoch. Trims by seq (MINID), never by length.
  ack: `
if redis.call('EXISTS', s) == 0 then return 'gone' end
local v = redis.call('HMGET', s, 'g', 'o', 'a', 'b', 'd', 'e')
if v[1] ~= ARGV[1] then return stale(v[1], ARGV[1]) end
if (tonumber(v[6]) or 0) ~= tonumber(ARGV[5]) then return 'restarted' end
local upTo = tonumber(ARGV[2])
if upTo > tonumber(v[2]) then return 'beyond' end
if upTo <= tonumber(v[3]) then return 'ok' end
local freed = 0
for _, entry in ipairs(redis.call('XRANGE', l, '-', upTo .. '-0')) do
  freed = freed + #entry[2][2]
end
redis.call('XTRIM', l, 'MINID', (upTo + 1) .. '-0')
redis.call('HSET', s, 'a', upTo, 'b', tonumber(v[4]) - freed)
touch(v[5], tonumber(ARGV[3]), tonumber(ARGV[4]))
return 'ok'`,

  // ARGV after, limit, epoch ('' for any). nil when the session is gone.
  read: `
if redis.call('EXISTS', s) == 0 then return false end
if ARGV[3] ~= '' and (tonumber(redis.call('HGET', s, 'e')) or 0) ~= tonumber(ARGV[3]) then
  return 'restarted'
end
return redis.call('XRANGE', l, (tonumber(ARGV[1]) + 1) .. '-0', '+', 'COUNT', ARGV[2])`,

  // ARGV generation, ttlMs, tomb.
  detach: `
if redis.call('HGET', s, 'g') ~= ARGV[1] then return 0 end
redis.call('HSET', s, 'd', 1)
expire(tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1`,

  // ARGV generation. No tombstone: a later $resume hears unknown-session, as in memory.
  end: `
if redis.call('HGET', s, 'g') ~= ARGV[1] then return 0 end
redis.call('DEL', s, l, t)
return 1`,

  // KEYS[1] a result key. ARGV response, ttlMs.
  remember: `
redis.call('SET', s, ARGV[1], 'PX', ARGV[2])
return 1`,

  lookup: `
return redis.call('GET', s)`,

  // KEYS[1] a group's set of sids (its own key and slot: members live on many). ARGV sid.
  join: `
redis.call('SADD', s, ARGV[1])
return 1`,

  // SREM of the last member deletes the key: an empty group leaves nothing behind.
  leave: `
redis.call('SREM', s, ARGV[1])
return 1`,

  // ARGV cursor. One page of SSCAN: {next cursor, sids}. SMEMBERS of a big group would hold
  // Redis for every node while it builds the whole reply.
  members: `
return redis.call('SSCAN', s, ARGV[1], 'COUNT', 1000)`,

  // The re-read of the safety net: {generation, out, epoch}, or nil.
  peek: `
if redis.call('EXISTS', s) == 0 then return false end
local v = redis.call('HMGET', s, 'g', 'o', 'e')
return {tonumber(v[1]), tonumber(v[2]), tonumber(v[3]) or 0}`,
} as const

type ScriptName = keyof typeof SCRIPTS

interface Script {
  source: string
  sha: string
}

// ─── Failures ────────────────────────────────────────────────────────────────

/**
 * What a failed attempt says about the command: `not-run` (refused before Redis ran it: a
 * reply such as LOADING, or never written), `unknown` (the connection dropped with it in
 * flight), `fatal` (Redis ran it and refused: a script error, wrong type).
 */
type Failure = 'not-run' | 'unknown' | 'fatal'

const TRANSIENT_REPLY = /^(?:LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/
/** node-redis's errors for a command that was never written (matched by class name: no runtime import). */
const NEVER_WRITTEN = new Set(['ClientClosedError', 'ClientOfflineError', 'AbortError'])

function isReply(error: unknown): boolean {
  for (let p = Object.getPrototypeOf(error); p !== null; p = Object.getPrototypeOf(p)) {
    if (p.constructor?.name === 'ErrorReply') return true
  }
  return false
}

function classify(error: unknown): Failure {
  if (isReply(error)) return TRANSIENT_REPLY.test((error as Error).message) ? 'not-run' : 'fatal'
  return NEVER_WRITTEN.has((error as Error)?.constructor?.name) ? 'not-run' : 'unknown'
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms).unref())

// ─── The store ───────────────────────────────────────────────────────────────

interface Peeked {
  generation: number
  out: number
  epoch: number
}

interface Watched {
  listeners: Set<(event: StoreEvent) => void>
  /** Highest epoch, seq in it and generation told to the listeners. */
  epoch: number
  out: number
  generation: number
  /** What the first read found; the re-read tells only what is above it. */
  floor: Peeked | undefined
  /**
   * A re-read is in flight: the next round skips this session rather than pile up another
   * (in an outage each one retries for up to operationTimeoutMs, and the timer keeps going).
   */
  rereading: boolean
}

/**
 * A session store in Redis, shared by every server node that uses the same Redis: a
 * session begun on one node resumes on another, and survives a node's restart (and a
 * Redis restart too, with AOF persistence). Every operation is one Lua script on the keys
 * of one session, so duplicate checks, seq assignment and fencing are atomic across nodes.
 *
 * Resolves once its subscriber (a `duplicate()` of the client) is connected and listening,
 * so that watchers hear every change from then on.
 */
export async function redisStore(options: RedisStoreOptions): Promise<RedisSessionStore> {
  const o = resolve(options)
  const { client, keyPrefix: prefix, attachedTtlMs, tombstoneTtlMs } = o
  const attachedArg = String(attachedTtlMs)
  const tombArg = String(tombstoneTtlMs)

  const scripts = Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, body]) => {
      const source = PRELUDE + body
      return [name, { source, sha: createHash('sha1').update(source).digest('hex') }]
    }),
  ) as Record<ScriptName, Script>

  const report = (error: ServerError): void => {
    try {
      o.onError?.(error)
    } catch {
      // The user's reporter must not turn a handled failure into an unhandled one.
    }
  }

  const keys = (sid: string): string[] => {
    const tag = `${prefix}{${sid}}`
    return [`${tag}:s`, `${tag}:l`, `${tag}:t`]
  }
  const channel = (sid: string): string => `${prefix}{${sid}}:w`
  const resultKey = (principal: string, requestId: string): string =>
    `${prefix}r:${principal.length}:${principal}${requestId}`
  // Not tagged by a sid: a group spans sessions on any slot, so it is a key of its own.
  const groupKey = (group: string): string => `${prefix}g:${group}`

  /** One attempt: EVALSHA, and the source once when Redis does not have it (after a restart). */
  const evalOnce = async (
    commands: RedisStoreCommands,
    script: Script,
    args: ScriptArgs,
  ): Promise<unknown> => {
    try {
      return await commands.evalSha(script.sha, args)
    } catch (error) {
      if (!(isReply(error) && /^NOSCRIPT\b/.test((error as Error).message))) throw error
      return await commands.eval(script.source, args)
    }
  }

  /**
   * Runs a script within operationTimeoutMs. `retrySafe` says running it twice does no harm
   * (or the script recognises its own retry): then an attempt lost with the connection is
   * tried again; otherwise only one that Redis certainly did not run is.
   */
  const run = async (
    name: ScriptName,
    keyList: string[],
    argv: (retry: boolean) => string[],
    retrySafe: boolean,
  ): Promise<unknown> => {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), o.operationTimeoutMs)
    timer.unref()
    // Aborting takes a command that is still queued (Redis down) out of the queue, so a
    // timed-out operation never runs later behind the caller's back.
    const commands = client.withCommandOptions({ abortSignal: controller.signal })
    const timedOut = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () =>
        reject(new ServerError('STORE_FAILED', `Redis ${name} timed out`)),
      )
    })
    timedOut.catch(() => {})
    let retry = false
    let waitMs = 25
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await Promise.race([
            evalOnce(commands, scripts[name], { keys: keyList, arguments: argv(retry) }),
            timedOut,
          ])
        } catch (error) {
          if (error instanceof ServerError || controller.signal.aborted) {
            const failure = new ServerError(
              'STORE_FAILED',
              `Redis ${name} did not complete within ${o.operationTimeoutMs} ms (attempt ${attempt})`,
              { cause: error instanceof ServerError ? error.cause : error },
            )
            report(failure)
            throw failure
          }
          const failure = classify(error)
          const wrapped = new ServerError(
            'STORE_FAILED',
            failure === 'unknown' && !retrySafe
              ? `Redis ${name} failed with the connection: it may or may not have been stored`
              : `Redis ${name} failed (attempt ${attempt}${failure === 'fatal' ? '' : ', retrying'})`,
            { cause: error },
          )
          report(wrapped)
          if (failure === 'fatal' || (failure === 'unknown' && !retrySafe)) throw wrapped
          if (failure === 'unknown') retry = true
          await sleep(waitMs)
          waitMs = Math.min(waitMs * 2, 500)
        }
      }
    } finally {
      clearTimeout(timer)
    }
  }

  // ─── Watching: pub/sub for speed, a periodic re-read for certainty ─────────

  const watched = new Map<string, Watched>()
  const channelPrefix = `${prefix}{`
  let pollTimer: NodeJS.Timeout | undefined
  let closed = false

  const emit = (entry: Watched, event: StoreEvent): void => {
    if (event.type === 'appended') {
      // A new epoch restarts the count: its seqs may be below those told before.
      if (event.epoch < entry.epoch || (event.epoch === entry.epoch && event.seq <= entry.out)) {
        return
      }
      entry.epoch = event.epoch
      entry.out = event.seq
    } else {
      if (event.generation <= entry.generation) return
      entry.generation = event.generation
    }
    // A listener may unwatch while it is told.
    for (const listener of [...entry.listeners]) {
      try {
        listener(event)
      } catch {
        // A watcher is the companion's own code; one failing must not starve the others.
      }
    }
  }

  const onMessage = (message: string, from: string): void => {
    if (!from.startsWith(channelPrefix) || !from.endsWith('}:w')) return
    const sid = from.slice(channelPrefix.length, -3)
    const entry = watched.get(sid)
    if (entry === undefined) return
    const [value, epoch = 0] = message.slice(1).split(':').map(Number) as [number, number?]
    if (!Number.isSafeInteger(value) || !Number.isSafeInteger(epoch)) return
    if (message[0] === 'a') emit(entry, { type: 'appended', sid, seq: value, epoch })
    else if (message[0] === 'g') emit(entry, { type: 'attached', sid, generation: value })
  }

  const peek = async (sid: string): Promise<Peeked | undefined> => {
    const reply = await run('peek', keys(sid), () => [], true)
    if (!Array.isArray(reply)) return undefined
    return { generation: Number(reply[0]), out: Number(reply[1]), epoch: Number(reply[2]) }
  }

  const reread = async (sid: string, entry: Watched): Promise<void> => {
    if (entry.rereading) return
    entry.rereading = true
    let seen: Peeked | undefined
    try {
      seen = await peek(sid)
    } finally {
      entry.rereading = false
    }
    if (seen === undefined || watched.get(sid) !== entry) return
    if (entry.floor === undefined) {
      entry.floor = seen
      return
    }
    const { floor } = entry
    if (seen.epoch > floor.epoch || (seen.epoch === floor.epoch && seen.out > floor.out)) {
      emit(entry, { type: 'appended', sid, seq: seen.out, epoch: seen.epoch })
    }
    if (seen.generation > floor.generation) {
      emit(entry, { type: 'attached', sid, generation: seen.generation })
    }
  }

  const pollAll = (): void => {
    for (const [sid, entry] of watched) {
      // A failure was reported by run(); the next round tries again.
      reread(sid, entry).catch(() => {})
    }
  }

  const subscriber = client.duplicate()
  subscriber.on('error', (error) =>
    report(new ServerError('STORE_FAILED', 'the Redis subscriber failed', { cause: error })),
  )
  // After a reconnect node-redis subscribes again, but what was published meanwhile is gone.
  subscriber.on('ready', () => {
    if (!closed) pollAll()
  })
  await subscriber.connect()
  await subscriber.pSubscribe(`${channelPrefix}*}:w`, onMessage)

  const state = (sid: string, reply: unknown[]): SessionState => ({
    sid,
    generation: Number(reply[1]),
    in: Number(reply[2]),
    out: Number(reply[3]),
    acked: Number(reply[4]),
    epoch: Number(reply[5]),
    lineage: String(reply[6]),
  })

  return {
    async create(sid, principal) {
      const created = await run(
        'create',
        keys(sid),
        (retry) => [principal, attachedArg, tombArg, retry ? '1' : '0'],
        true,
      )
      if (created !== 1) throw new Error(`session ${sid} exists or existed: sids are never reused`)
      return { sid, generation: 1, in: 0, out: 0, acked: 0, epoch: 0, lineage: '' }
    },

    async attach(sid, principal, seen, acked): Promise<AttachResult> {
      // Not retried once it may have run: a retry would increment the generation again, and
      // landing after the client attached elsewhere meanwhile, it would displace that socket.
      // The caller closes with 1011 and the client resumes, which attaches afresh.
      const lineage = newLineage()
      const reply = (await run(
        'attach',
        keys(sid),
        () => [principal, attachedArg, tombArg, channel(sid), String(seen), String(acked), lineage],
        false,
      )) as unknown[]
      const status = reply[0] as string
      if (status === 'attached') return { status, kept: Number(reply[7]), ...state(sid, reply) }
      return { status: status as 'unknown-session' | 'expired' | 'forbidden' }
    },

    async accept(sid, generation, seq) {
      return (await run(
        'accept',
        keys(sid),
        (retry) => [String(generation), String(seq), attachedArg, tombArg, retry ? '1' : '0'],
        true,
      )) as AcceptResult
    },

    async append(sid, body, limits, generation): Promise<AppendResult> {
      const reply = (await run(
        'append',
        keys(sid),
        () => [
          body,
          String(limits.maxFrames),
          String(limits.maxBytes),
          attachedArg,
          tombArg,
          channel(sid),
          generation === undefined ? '' : String(generation),
        ],
        false,
      )) as unknown[]
      if (reply[0] === 'appended') {
        return { status: 'appended', seq: Number(reply[1]), epoch: Number(reply[2]) }
      }
      return { status: reply[0] as 'full' | 'gone' | 'fenced' | 'restarted' }
    },

    async ack(sid, generation, upTo, epoch) {
      return (await run(
        'ack',
        keys(sid),
        () => [String(generation), String(upTo), attachedArg, tombArg, String(epoch)],
        true,
      )) as AckResult
    },

    async read(sid, after, limit, epoch) {
      if (limit <= 0) {
        const peeked = await peek(sid)
        if (peeked === undefined) return 'gone'
        return epoch !== undefined && peeked.epoch !== epoch ? 'restarted' : []
      }
      const reply = await run(
        'read',
        keys(sid),
        () => [String(after), String(limit), epoch === undefined ? '' : String(epoch)],
        true,
      )
      if (reply === 'restarted') return 'restarted'
      if (!Array.isArray(reply)) return 'gone'
      return reply.map((entry): LoggedFrame => {
        const [id, fields] = entry as [string, string[]]
        return { seq: Number.parseInt(id, 10), body: fields[1] as string }
      })
    },

    async detach(sid, generation, ttlMs) {
      await run('detach', keys(sid), () => [String(generation), String(ttlMs), tombArg], true)
    },

    async end(sid, generation) {
      await run('end', keys(sid), () => [String(generation)], true)
    },

    async remember(principal, requestId, response, ttlMs) {
      await run(
        'remember',
        [resultKey(principal, requestId)],
        () => [response, String(ttlMs)],
        true,
      )
    },

    async lookup(principal, requestId) {
      const value = await run('lookup', [resultKey(principal, requestId)], () => [], true)
      return typeof value === 'string' ? value : undefined
    },

    async join(group, sid) {
      await run('join', [groupKey(group)], () => [sid], true)
    },

    async leave(group, sid) {
      await run('leave', [groupKey(group)], () => [sid], true)
    },

    async members(group) {
      // SSCAN may return a sid twice while the set is rehashed: the Set drops repeats.
      const sids = new Set<string>()
      let cursor = '0'
      // A full iteration ends at cursor 0; the bound only guards against a broken server.
      for (let page = 0; page < MAX_MEMBER_PAGES; page++) {
        const reply = (await run('members', [groupKey(group)], () => [cursor], true)) as [
          string,
          string[],
        ]
        for (const sid of reply[1]) sids.add(sid)
        cursor = reply[0]
        if (cursor === '0') return [...sids]
      }
      throw new ServerError(
        'STORE_FAILED',
        `Redis SSCAN of group ${group} did not finish in ${MAX_MEMBER_PAGES} pages`,
      )
    },

    watch(sid, listener) {
      let entry = watched.get(sid)
      if (entry === undefined) {
        entry = {
          listeners: new Set(),
          epoch: 0,
          out: 0,
          generation: 0,
          floor: undefined,
          rereading: false,
        }
        watched.set(sid, entry)
        const fresh = entry
        reread(sid, fresh).catch(() => {})
        if (pollTimer === undefined && !closed) {
          pollTimer = setInterval(pollAll, o.pollIntervalMs)
          pollTimer.unref()
        }
      }
      entry.listeners.add(listener)
      const mine = entry
      return () => {
        mine.listeners.delete(listener)
        if (mine.listeners.size === 0 && watched.get(sid) === mine) {
          watched.delete(sid)
          if (watched.size === 0) {
            clearInterval(pollTimer)
            pollTimer = undefined
          }
        }
      }
    },

    async close() {
      if (closed) return
      closed = true
      clearInterval(pollTimer)
      pollTimer = undefined
      watched.clear()
      await subscriber.close()
    },
  }
}

function resolve(
  options: RedisStoreOptions,
): Required<Omit<RedisStoreOptions, 'onError'>> & Pick<RedisStoreOptions, 'onError'> {
  if (options === null || typeof options !== 'object' || options.client == null) {
    throw new ServerError(
      'INVALID_OPTIONS',
      'redisStore needs { client }: a connected node-redis client',
    )
  }
  const resolved = { ...DEFAULTS, ...options }
  for (const name of [
    'attachedTtlMs',
    'tombstoneTtlMs',
    'pollIntervalMs',
    'operationTimeoutMs',
  ] as const) {
    const value = resolved[name]
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ServerError(
        'INVALID_OPTIONS',
        `redisStore: ${name} must be a positive integer of ms (got ${String(value)})`,
      )
    }
  }
  if (typeof resolved.keyPrefix !== 'string' || /[{}]/.test(resolved.keyPrefix)) {
    throw new ServerError(
      'INVALID_OPTIONS',
      'redisStore: keyPrefix must be a string without braces (they would change the Cluster hash tag)',
    )
  }
  return resolved
}
