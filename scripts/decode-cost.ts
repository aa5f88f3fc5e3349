// What the default codec's decode costs on large frames, next to a bare JSON.parse of the
// same text: `npx node scripts/decode-cost.ts` (Node 22 from node_modules; about a minute).
//
// A peer chooses what it sends, so the figure that matters is the worst one: a frame that
// makes the prototype-key guard do more than one pass over the text. Each shape below is
// 1 MiB and 16 MiB of the same array of small records, which differ only in what makes the
// guard work: nothing, one `\u` escape, an escape in every string, or a key that ends in
// `"constructor` (it looks like a forbidden key to a scan of the text, so the parsed tree
// is walked). Prints the fastest and the median of several runs, in milliseconds, with a
// full garbage collection before each run; the fastest is the least disturbed by other load.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { jsonCodec } from '../src/codec.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const MiB = 1024 * 1024

type Shape = 'plain' | 'one escape' | 'escape in every string' | 'walk forced'

function frame(bytes: number, shape: Shape): string {
  const items: unknown[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const name = shape === 'escape in every string' ? `caf\u00e9 ${i}` : `item ${i}`
    const item = { id: i, name, tags: ['alpha', 'beta'], price: i * 1.5, ok: i % 2 === 0 }
    size += JSON.stringify(item).length + 1
    items.push(item)
  }
  const data: Record<string, unknown> = { items }
  if (shape === 'walk forced') data['x"constructor'] = true
  let text = JSON.stringify({ type: 'batch', data })
  // JSON.stringify writes é as is; a peer may escape it.
  if (shape === 'one escape') text = text.replace('"item 7"', '"it\\u00e9m 7"')
  if (shape === 'escape in every string') text = text.replaceAll('\u00e9', '\\u00e9')
  return text
}

/** Both runs alternate, so that load from elsewhere on the machine falls on both alike. */
function measure(a: () => unknown, b: () => unknown, runs: number): Timing[] {
  const times: [number[], number[]] = [[], []]
  for (let i = 0; i < runs; i++) {
    for (const [k, run] of [a, b].entries()) {
      gc()
      const start = performance.now()
      run()
      times[k]?.push(performance.now() - start)
    }
  }
  return times.map((t) => {
    t.sort((x, y) => x - y)
    return { min: t[0] ?? 0, median: t[Math.floor(t.length / 2)] ?? 0 }
  })
}

interface Timing {
  min: number
  median: number
}

const shapes: Shape[] = ['plain', 'one escape', 'escape in every string', 'walk forced']
console.log(
  '| frame | shape | JSON.parse ms (min / median) | jsonCodec.decode ms (min / median) | ratio of mins |',
)
console.log('| --- | --- | --- | --- | --- |')
for (const mib of [1, 16]) {
  // Bounded: about 2 s per cell at the old guard's worst (7 s per 16 MiB decode).
  const runs = mib === 1 ? 15 : 5
  for (const shape of shapes) {
    const text = frame(mib * MiB, shape)
    const envelope = jsonCodec.decode(text)
    if (envelope?.type !== 'batch') throw new Error(`${shape}: did not decode`)
    const timings = measure(
      () => JSON.parse(text),
      () => jsonCodec.decode(text),
      runs,
    )
    const [parse, decode] = timings as [Timing, Timing]
    const cells = timings.map((t) => `${t.min.toFixed(1)} / ${t.median.toFixed(1)}`)
    const ratio = (decode.min / parse.min).toFixed(2)
    console.log(
      `| ${(text.length / MiB).toFixed(1)} MiB | ${shape} | ${cells.join(' | ')} | ${ratio}× |`,
    )
  }
}
