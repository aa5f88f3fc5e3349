/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/** The p-th percentile by linear interpolation between the closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (p / 100) * (sorted.length - 1)
  const low = Math.floor(rank)
  const high = Math.ceil(rank)
  const a = sorted[low] as number
  const b = sorted[high] as number
  return a + (b - a) * (rank - low)
}

/** `value / base`, or NaN when there is no base to compare with. */
export function ratio(value: number, base: number): number {
  return base > 0 && Number.isFinite(value) ? value / base : Number.NaN
}

/** Rounds for display and for results.json (keeps 3 significant decimals where it matters). */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** A small seeded PRNG (mulberry32), so that random cut times are the same for every contender. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The largest number of `times` (ms) that fall within any window of `windowMs`. */
export function peakInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let peak = 0
  let low = 0
  for (let high = 0; high < sorted.length; high++) {
    while ((sorted[high] as number) - (sorted[low] as number) >= windowMs) low++
    peak = Math.max(peak, high - low + 1)
  }
  return peak
}
