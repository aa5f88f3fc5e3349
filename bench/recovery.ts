// Outage: the server process is killed (SIGKILL), the application keeps sending at about
// 1,000 messages/s for the 5 s the server is down, the server comes back on the same
// port. How long after the server is up does the client open again, and how many of the
// messages sent meanwhile arrive?
import type { Contender, Tally } from './contenders.ts'
import { awaitDelivery, dropsOf, paced } from './delivery.ts'
import { withTimeout } from './rounds.ts'
import { EchoServer } from './server-process.ts'

export const OUTAGE_MS = 5000
/** One message per millisecond of the outage. */
export const OUTAGE_SENDS = OUTAGE_MS
/** Longer than any delay either library's default backoff can reach after a 5 s outage. */
const REOPEN_TIMEOUT_MS = 40_000

export interface RecoveryRun {
  /** From the new server process listening to the client's `open` (ms); NaN if it never opened. */
  upToOpenMs: number
  delivered: number
  lost: number
  duplicates: number
  inOrder: boolean
  /** resilient-socket's drops (reported through `drop`) among the lost. */
  droppedByQueue: number
  tally: Tally | null
}

const now = (): number => performance.timeOrigin + performance.now()

export async function recovery(contender: Contender): Promise<RecoveryRun> {
  let server = await EchoServer.start()
  const { port } = server
  const conn = contender.create(server.url)
  await withTimeout(conn.opened(), 10_000, `${contender.name} open`)

  const nextOpen = conn.nextOpen
  if (!nextOpen) throw new Error(`${contender.name} does not reconnect`)
  let openedAt = Number.NaN
  const reopened = nextOpen().then(() => {
    openedAt = now()
  })
  const next = await EchoServer.standby(port)
  await server.kill()
  await paced(OUTAGE_SENDS, 1, (seq) => conn.send('rec', { seq, text: 'during the outage' }))
  server = await next.listen()

  try {
    await withTimeout(reopened, REOPEN_TIMEOUT_MS, `${contender.name} reopen`).catch(() => {})
    const count = await awaitDelivery(server, conn, OUTAGE_SENDS, { timeoutMs: 10_000 })
    const tally = conn.tally ? { ...conn.tally, drops: { ...conn.tally.drops } } : null
    return {
      upToOpenMs: openedAt - server.upAt,
      delivered: count.unique,
      lost: OUTAGE_SENDS - count.unique,
      duplicates: count.duplicates,
      inOrder: count.inOrder,
      droppedByQueue: dropsOf(tally),
      tally,
    }
  } finally {
    conn.close()
    await server.stop()
  }
}
