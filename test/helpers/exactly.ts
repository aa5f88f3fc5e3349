import { expect } from 'vitest'

/**
 * Fails unless `got` is exactly 1..n in order: nothing lost, duplicated or reordered. The
 * counts come first, so a failure says which of the three went wrong before the full diff.
 */
export function expectExactly(got: number[], n: number, direction: string): void {
  const distinct = new Set(got).size
  const counts = {
    direction,
    lost: n - distinct,
    duplicated: got.length - distinct,
    reordered: got.filter((value, i) => i > 0 && value < (got[i - 1] as number)).length,
  }
  expect(counts).toEqual({ direction, lost: 0, duplicated: 0, reordered: 0 })
  expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1))
}
