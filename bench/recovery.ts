// Recovery: the server process is killed (SIGKILL), the application keeps sending during
// the outage, the server comes back on the same port. How long after the server is up
// does the client open again, and how many of the messages sent meanwhile arrive?
import type { Contender } from './contenders.ts'
import { withTimeout } from './rounds.ts'
import { EchoServer, sleep } from './server-process.ts'

export const OUTAGE_MS = 3000
export const OUTAGE_SENDS = 1000
/** Sends go out in small batches spread over the outage, as an application would keep sending. */
const BATCHES = 100
/** Longer than any delay either library's default backoff can reach after a 3 s outage. */
const REOPEN_TIMEOUT_MS = 30_000
const DELIVERY_TIMEOUT_MS = 10_000

export interface RecoveryRun {
  /** From the new server process listening to the client's `open` (ms); NaN if it never opened. */
  upToOpenMs: number
  delivered: number
  lost: number
  duplicates: number
  inOrder: boolean
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
  await server.kill()
  const killedAt = Date.now()

  const perBatch = OUTAGE_SENDS / BATCHES
  let seq = 0
  for (let batch = 0; batch < BATCHES; batch++) {
    // Evenly over the outage, measured from the kill so that slow timers do not stretch it.
    await sleep(killedAt + ((batch + 1) * OUTAGE_MS) / (BATCHES + 1) - Date.now())
    for (let i = 0; i < perBatch; i++) conn.send('rec', { seq: seq++, text: 'during the outage' })
  }
  await sleep(killedAt + OUTAGE_MS - Date.now())
  server = await EchoServer.start(port)

  try {
    await withTimeout(reopened, REOPEN_TIMEOUT_MS, `${contender.name} reopen`)
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS
    let count = await server.recovery()
    // Waits a little past the last arrival in case anything straggles in twice.
    while (count.unique < OUTAGE_SENDS && Date.now() < deadline) {
      await sleep(50)
      count = await server.recovery()
    }
    await sleep(200)
    count = await server.recovery()
    return {
      upToOpenMs: openedAt - server.upAt,
      delivered: count.unique,
      lost: OUTAGE_SENDS - count.unique,
      duplicates: count.duplicates,
      inOrder: count.inOrder,
    }
  } catch {
    const count = await server.recovery()
    return {
      upToOpenMs: Number.NaN,
      delivered: count.unique,
      lost: OUTAGE_SENDS - count.unique,
      duplicates: count.duplicates,
      inOrder: count.inOrder,
    }
  } finally {
    conn.close()
    await server.stop()
  }
}
