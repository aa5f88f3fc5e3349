/**
 * `{ ...defaults, ...given }`, except that a field given as `undefined` or `null` keeps its
 * default, as a top-level option does: `{ timeoutMs: config.timeoutMs }` with no configured
 * value means "the default", not "no timeout".
 */
export function withDefaults<T extends object>(defaults: T, given: Partial<T> | undefined): T {
  const merged = { ...defaults }
  for (const key in given) if (given[key] != null) merged[key] = given[key] as T[typeof key]
  return merged
}
