import type { NetworkSource } from 'resilient-socket'

/**
 * The browser's own network signals plus a switch to pretend being offline, so the demo
 * can show what the socket does offline without touching the machine's network.
 * Listeners go on `window` (real online/offline/visibility/page events) and on a private
 * target that the switch dispatches to.
 */
export interface SimulatedNetwork {
  readonly source: NetworkSource
  setOffline(offline: boolean): void
}

export function createSimulatedNetwork(): SimulatedNetwork {
  const simulated = new EventTarget()
  let offline = false
  return {
    source: {
      target: {
        addEventListener(type, listener) {
          simulated.addEventListener(type, listener)
          window.addEventListener(type, listener)
        },
        removeEventListener(type, listener) {
          simulated.removeEventListener(type, listener)
          window.removeEventListener(type, listener)
        },
      },
      isOnline: () => !offline && navigator.onLine !== false,
      isVisible: () => document.visibilityState !== 'hidden',
    },
    setOffline(next) {
      if (next === offline) return
      offline = next
      simulated.dispatchEvent(new Event(next ? 'offline' : 'online'))
    },
  }
}
