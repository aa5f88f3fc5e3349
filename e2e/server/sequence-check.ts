/** What a numbered stream looked like on arrival: each number 1, 2, 3, … expected once, in order. */
export interface SequenceCounts {
  /** Numbers that arrived, duplicates included. */
  arrived: number
  /** The highest number that arrived. */
  highest: number
  /** Numbers below `highest` that have not arrived (yet): a gap. */
  missing: number
  /** Numbers that arrived a second time. */
  duplicates: number
  /** Numbers that arrived after a higher one (they filled a gap late). */
  reordered: number
}

/**
 * At most this many gaps are remembered by number. Beyond it they are still counted, as
 * `overflow`, but one that fills in late can no longer be told from a duplicate. A stream
 * that loses this many is broken enough; the bound keeps a long demo's memory flat.
 */
const MAX_TRACKED_GAPS = 10_000

/**
 * Checks a stream numbered from 1 for gaps, duplicates and reordering in O(gaps) memory:
 * only the highest number and the numbers missing below it are kept. Shared by the
 * reference server (what a client sent) and the playground (what the server sent), so the
 * two directions are judged by one rule.
 */
export class SequenceCheck {
  #arrived = 0
  #highest = 0
  #duplicates = 0
  #reordered = 0
  #overflow = 0
  readonly #gaps = new Set<number>()

  /** Records one arrival of `n` (a positive integer). */
  add(n: number): 'ok' | 'duplicate' | 'reordered' | 'gap' {
    this.#arrived += 1
    if (n === this.#highest + 1) {
      this.#highest = n
      return 'ok'
    }
    if (n > this.#highest) {
      for (let missing = this.#highest + 1; missing < n; missing += 1) {
        if (this.#gaps.size < MAX_TRACKED_GAPS) this.#gaps.add(missing)
        else this.#overflow += 1
      }
      this.#highest = n
      return 'gap'
    }
    if (this.#gaps.delete(n)) {
      this.#reordered += 1
      return 'reordered'
    }
    this.#duplicates += 1
    return 'duplicate'
  }

  /** The numbers still missing, lowest first, at most `limit` of them. */
  missingNumbers(limit: number): number[] {
    const out: number[] = []
    for (const n of this.#gaps) {
      if (out.length >= limit) break
      out.push(n)
    }
    return out.sort((a, b) => a - b)
  }

  counts(): SequenceCounts {
    return {
      arrived: this.#arrived,
      highest: this.#highest,
      missing: this.#gaps.size + this.#overflow,
      duplicates: this.#duplicates,
      reordered: this.#reordered,
    }
  }
}
