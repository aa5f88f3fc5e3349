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
// `npm run size:report -- --core` adds a second table: the import of `ReconnectingSocket`
// alone, bundled from dist/index.js the way an SPA bundler would (run `npm run build` first).
//
// Writes nothing; takes a few seconds.

import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import {
  eachMapping,
  GREATEST_LOWER_BOUND,
  originalPositionFor,
  TraceMap,
} from '@jridgewell/trace-mapping'
import commonjs from '@rollup/plugin-commonjs'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'
import { rolldown } from 'rolldown'
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
  compress: { passes: 2 },
  format: { comments: false },
  sourceMap: { content: chunk.map as never },
})
const gzip = (text: string): number => gzipSync(text, { level: 9 }).length
type Mapping = { line: number; column: number; source: string }
const moduleName = (source: string | null | undefined): string =>
  (source ?? '(bundler glue)').replace(/.*\/(src|node_modules)\//, '$1/')

/** Per-module minified bytes and marginal gzip bytes of `code`, from its mappings (0-based lines). */
function attribute(code: string, mappings: Mapping[]) {
  const lines = code.split('\n')
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
  return { rows, total }
}

function print(title: string, code: string, mappings: Mapping[]): void {
  const { rows, total } = attribute(code, mappings)
  console.log(`${title}\n`)
  console.log('module'.padEnd(42), 'minified'.padStart(9), 'marginal gz'.padStart(12))
  for (const row of rows) {
    console.log(
      row.source.padEnd(42),
      String(row.minified).padStart(9),
      String(row.marginalGzip).padStart(12),
    )
  }
  console.log(`\ntotal: ${code.length} B minified, ${(total / 1000).toFixed(2)} kB min+gzip\n`)
}

const cdnCode = minified.code as string
const cdnMappings: Mapping[] = []
eachMapping(new TraceMap(minified.map as string), (m) => {
  cdnMappings.push({
    line: m.generatedLine - 1,
    column: m.generatedColumn,
    source: moduleName(m.source),
  })
})
print('CDN file (src/index.ts, all in, terser)', cdnCode, cdnMappings)

// `--core`: what an SPA pays for `import { ReconnectingSocket }`: dist/index.js and its
// dependencies bundled by rolldown, minified, gzip -9. Run `npm run build` first. Its map
// points into dist/index.js, whose own map points into src/: each span is traced through both.
if (process.argv.includes('--core')) {
  const entry = '\0core-entry'
  const build = await rolldown({
    input: entry,
    plugins: [
      {
        name: 'core-entry',
        resolveId: (id) => (id === entry ? id : null),
        load: (id) =>
          id === entry ? "export { ReconnectingSocket } from './dist/index.js'" : null,
      },
    ],
  })
  const [core] = (await build.generate({ format: 'esm', minify: true, sourcemap: true })).output
  const distMap = new TraceMap(readFileSync('dist/index.js.map', 'utf8'))
  const coreMappings: Mapping[] = []
  eachMapping(new TraceMap(core.map as never), (m) => {
    let source = m.source
    // rolldown names dist/index.js relative to the output, as `index.js`.
    if (source && /^(?:.*\/dist\/)?index\.js$/.test(source) && m.originalLine !== null) {
      source = originalPositionFor(distMap, {
        line: m.originalLine,
        column: m.originalColumn,
        bias: GREATEST_LOWER_BOUND,
      }).source
    }
    coreMappings.push({
      line: m.generatedLine - 1,
      column: m.generatedColumn,
      source: moduleName(source),
    })
  })
  print(
    'core import (ReconnectingSocket from dist/index.js, rolldown minify)',
    core.code,
    coreMappings,
  )
}
