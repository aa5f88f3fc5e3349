/**
 * Where network and page-lifecycle signals come from. In browsers this is `window`
 * (`online`, `offline`, `pageshow`, `pagehide` fire there; `visibilitychange`, `freeze`
 * and `resume` fire on `document` and bubble up to it). Tests inject their own.
 */
export interface NetworkSource {
  target: {
    addEventListener(type: string, listener: (event: Event) => void): void
    removeEventListener(type: string, listener: (event: Event) => void): void
  }
  /** `false` means certainly offline; `true` means possibly online. @default () => true */
  isOnline?: () => boolean
  /** Whether the page is visible. @default () => true */
  isVisible?: () => boolean
}

/**
 * - `online` / `offline`: connectivity changed.
 * - `wake`: the page became visible or was resumed after being frozen: probe at once.
 * - `suspend`: the page is going into the back/forward cache: close cleanly.
 * - `restore`: the page came back from the back/forward cache: connect at once.
 */
export type NetworkSignal = 'online' | 'offline' | 'wake' | 'suspend' | 'restore'

/** The browser's own source, or `null` where there is no `window` (Node). */
export function browserNetwork(): NetworkSource | null {
  // Read through globalThis: a bare `window` is a ReferenceError on Node.
  const { window, navigator, document } = globalThis as Partial<typeof globalThis>
  return typeof window?.addEventListener === 'function'
    ? {
        target: window,
        isOnline: () => navigator?.onLine !== false,
        isVisible: () => document?.visibilityState !== 'hidden',
      }
    : null
}

/** The events listened to, and the signal each one means (when it counts, see below). */
const SIGNALS: Record<string, NetworkSignal> = {
  online: 'online',
  offline: 'offline',
  visibilitychange: 'wake',
  resume: 'wake',
  pageshow: 'restore',
  pagehide: 'suspend',
}

/** Subscribes to a source; returns the disposer that removes every listener. */
export function watchNetwork(
  source: NetworkSource,
  onSignal: (signal: NetworkSignal) => void,
): () => void {
  const listener = ({ type, persisted }: Event & { persisted?: boolean }): void => {
    if (
      type === 'visibilitychange'
        ? (source.isVisible?.() ?? true)
        : // A normal load fires pageshow too, and an unload pagehide: only the back/forward
          // cache (persisted) matters.
          persisted || !type.startsWith('page')
    ) {
      onSignal(SIGNALS[type] as NetworkSignal)
    }
  }
  const each = (method: 'addEventListener' | 'removeEventListener'): void => {
    for (const type in SIGNALS) source.target[method](type, listener)
  }
  each('addEventListener')
  return () => each('removeEventListener')
}
