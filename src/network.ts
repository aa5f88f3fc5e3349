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
  if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') return null
  return {
    target: window,
    isOnline: () => typeof navigator === 'undefined' || navigator.onLine !== false,
    isVisible: () => typeof document === 'undefined' || document.visibilityState !== 'hidden',
  }
}

const EVENTS = ['online', 'offline', 'visibilitychange', 'resume', 'pageshow', 'pagehide']

/** Subscribes to a source; returns the disposer that removes every listener. */
export function watchNetwork(
  source: NetworkSource,
  onSignal: (signal: NetworkSignal) => void,
): () => void {
  const listener = (event: Event): void => {
    const persisted = (event as Event & { persisted?: boolean }).persisted === true
    switch (event.type) {
      case 'online':
      case 'offline':
        onSignal(event.type)
        break
      case 'visibilitychange':
        if (source.isVisible?.() ?? true) onSignal('wake')
        break
      case 'resume':
        onSignal('wake')
        break
      case 'pageshow':
        // A normal load fires pageshow too; only a restore from the bfcache matters.
        if (persisted) onSignal('restore')
        break
      case 'pagehide':
        // Not persisted means the page is being unloaded for good: nothing to keep.
        if (persisted) onSignal('suspend')
        break
    }
  }
  for (const type of EVENTS) source.target.addEventListener(type, listener)
  return () => {
    for (const type of EVENTS) source.target.removeEventListener(type, listener)
  }
}
