// The test harness shared by both browser entries (the CDN page and the Vite SPA). It is
// plain JavaScript on purpose: the CDN page loads it without any build step. Each entry
// hands it the library *as that entry loaded it* (the global `ResilientSocket`, or the
// bundled ES module), so every scenario exercises the shipped file and nothing else.
//
// The Playwright specs drive it through `window.e2e` with page.evaluate(); everything it
// returns is plain data, because only that survives the trip out of the page.

/** @param {unknown} error */
function describeError(error, lib) {
  const e = /** @type {Record<string, unknown>} */ (error ?? {})
  return {
    name: String(e.name),
    code: typeof e.code === 'string' ? e.code : null,
    remoteCode: typeof e.remoteCode === 'string' ? e.remoteCode : null,
    message: String(e.message),
    isSocketError: error instanceof lib.SocketError,
    isRemoteError: error instanceof lib.RemoteError,
  }
}

function describeClose(close) {
  return close ? { code: close.code, reason: close.reason, wasClean: close.wasClean } : null
}

/**
 * @param {'cdn' | 'spa'} entry
 * @param {import('./harness.js').HarnessLibrary} lib
 */
export function installHarness(entry, lib) {
  const startedAt = performance.now()
  const at = () => Math.round(performance.now() - startedAt)
  /** @type {import('./harness.js').HarnessEvent[]} */
  let events = []
  /** @type {import('./harness.js').HarnessMessage[]} */
  let messages = []
  /** @type {import('./harness.js').TokenRequest[]} */
  let tokenRequests = []
  let socket = null
  let retryDelayMs = 0

  const record = (event, details) => events.push({ event, at: at(), ...details })

  const current = () => {
    if (socket === null) throw new Error('call e2e.create(config) first')
    return socket
  }

  /** @param {import('./harness.js').HarnessConfig} config */
  const create = (config = {}) => {
    if (stream !== null) clearInterval(stream.timer)
    stream = null
    socket?.close()
    events = []
    messages = []
    tokenRequests = []
    retryDelayMs = config.retryDelayMs ?? 200
    const url = new URL(config.path ?? '/', location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'

    const options = {
      // A plain function policy, so a test can change the delay while the socket runs.
      retry: config.retry ?? (() => retryDelayMs),
    }
    if (config.heartbeat) options.heartbeat = config.heartbeat
    if (config.reliable) options.reliable = config.reliable
    const auth = config.auth
    if (auth) {
      options.auth = {
        async getToken(context) {
          tokenRequests.push({
            reason: context.reason,
            forceRefresh: context.forceRefresh,
            attempt: context.attempt,
          })
          const response = await fetch(`/token?ttlMs=${auth.ttlMs}`, { signal: context.signal })
          if (!response.ok) throw new Error(`/token answered ${response.status}`)
          return await response.json()
        },
      }
    }

    const created = lib.createSocket(url.href, options)
    socket = created
    created.on('state', ({ from, to }) => record('state', { from, to }))
    created.on('open', ({ reconnected, resumed }) => record('open', { reconnected, resumed }))
    created.on('sessionlost', ({ reason, inDoubt, lastSeen }) =>
      record('sessionlost', { reason, inDoubt: inDoubt.length, lastSeen }),
    )
    created.on('close', (close) =>
      record('close', { ...describeClose(close), willReconnect: close.willReconnect }),
    )
    created.on('reconnecting', ({ attempt, delayMs, reason }) =>
      record('reconnecting', { attempt, delayMs, reason }),
    )
    created.on('error', (error) => record('error', describeError(error, lib)))
    created.on('drop', ({ reason }) => record('drop', { reason }))
    created.on(
      'heartbeat',
      (beat) => beat.phase === 'pong' && record('heartbeat', { rttMs: beat.rttMs }),
    )
    for (const type of config.listen ?? []) {
      created.onMessage(type, (data) => messages.push({ type, data, at: at() }))
    }
  }

  /** The running `startStream()`: its timer and what `send()` answered for each frame. */
  let stream = null

  /** @type {import('./harness.js').HarnessApi} */
  const api = {
    entry,
    create,
    send: (type, data) => current().send(type, data),
    sendSequence(type, count) {
      const results = []
      for (let n = 0; n < count; n++) results.push(current().send(type, { n }))
      return results
    },
    async request(type, data, options) {
      try {
        return { ok: true, data: await current().request(type, data, options) }
      } catch (error) {
        return { ok: false, error: describeError(error, lib) }
      }
    },
    startStream(type, count, intervalMs) {
      if (stream !== null) clearInterval(stream.timer)
      const target = current()
      const results = []
      const timer = setInterval(() => {
        if (results.length >= count) return clearInterval(timer)
        results.push(target.send(type, { n: results.length + 1 }))
      }, intervalMs)
      stream = { timer, results, count }
    },
    streamResults() {
      if (stream === null) throw new Error('call e2e.startStream() first')
      return { done: stream.results.length >= stream.count, results: stream.results }
    },
    setRetryDelay(ms) {
      retryDelayMs = ms
    },
    state: () => current().state,
    snapshot() {
      const s = current().getSnapshot()
      return {
        state: s.state,
        attempt: s.attempt,
        nextRetryAt: s.nextRetryAt,
        online: s.online,
        queuedMessages: s.queuedMessages,
        lastClose: describeClose(s.lastClose),
        lastErrorCode: s.lastError?.code ?? null,
      }
    },
    stats: () => current().stats,
    events: () => events,
    messages: () => messages,
    tokenRequests: () => tokenRequests,
    close(code, reason) {
      current().close(code, reason)
    },
  }
  window.e2e = api
}
