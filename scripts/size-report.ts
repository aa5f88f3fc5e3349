// Where the bytes of the CDN bundle come from, per source module: `npm run size:report`.
//
// size-limit says how big each entry is; this says why. It bundles src/index.ts the way the
// CDN build does (dependencies included), minifies it with terser, and attributes every
// minified byte to the module it came from through the source map. Two figures per module:
//
// - minified bytes: exact, and additive;
// - marginal gzip bytes: how much smaller the gzipped bundle gets without that module's code.
//   gzip is not additive (a module that repeats another's patterns compresses well), so
//   these do not sum to the total, but they rank the modules by what removing one would save.
//
// Writes nothing; takes a few seconds.
import { gzipSync } from 'node:zlib'
import { eachMapping, TraceMap } from '@jridgewell/trace-mapping'
import commonjs from '@rollup/plugin-commonjs'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'
import { rollup } from 'rollup'
import { minify } from 'terser'

const bundle = await rollup({
  input: 'src/index.ts',
  plugins: [
    nodeResolve({ browser: true }),
    commonjs(),
    typescript({
      tsconfig: './tsconfig.build.json',
      compilerOptions: { declaration: false, declarationMap: false, sourceMap: true },
    }),
  ],
  onwarn() {},
})
const [chunk] = (
  await bundle.generate({
    format: 'iife',
    name: 'ResilientSocket',
    exports: 'named',
    sourcemap: true,
  })
).output
// The same terser options as the CDN build in rollup.config.mjs.
const minified = await minify(chunk.code, {
  ecma: 2020,
  module: false,
  format: { comments: false },
  sourceMap: { content: chunk.map as never },
})
const code = minified.code as string
const lines = code.split('\n')
const gzip = (text: string): number => gzipSync(text, { level: 9 }).length

// Consecutive mappings delimit the minified spans; each span belongs to one source module.
const mappings: { line: number; column: number; source: string }[] = []
eachMapping(new TraceMap(minified.map as string), (m) => {
  mappings.push({
    line: m.generatedLine - 1,
    column: m.generatedColumn,
    source: (m.source ?? '(bundler glue)').replace(/.*\/(src|node_modules)\//, '$1/'),
  })
})
mappings.sort((a, b) => a.line - b.line || a.column - b.column)
const spans = new Map<string, [line: number, start: number, end: number][]>()
mappings.forEach((m, i) => {
  const next = mappings[i + 1]
  const end = next?.line === m.line ? next.column : (lines[m.line] as string).length
  spans.set(m.source, [...(spans.get(m.source) ?? []), [m.line, m.column, end]])
})

const total = gzip(code)
const rows = [...spans].map(([source, list]) => {
  const without = lines.map((line) => [...line])
  for (const [line, start, end] of list) without[line]?.fill('', start, end)
  return {
    source,
    minified: list.reduce((sum, [, start, end]) => sum + end - start, 0),
    marginalGzip: total - gzip(without.map((chars) => chars.join('')).join('\n')),
  }
})
rows.sort((a, b) => b.marginalGzip - a.marginalGzip)

console.log('module'.padEnd(42), 'minified'.padStart(9), 'marginal gz'.padStart(12))
for (const row of rows) {
  console.log(
    row.source.padEnd(42),
    String(row.minified).padStart(9),
    String(row.marginalGzip).padStart(12),
  )
}
console.log(`\ntotal: ${code.length} B minified, ${(total / 1000).toFixed(2)} kB min+gzip`)
