// Builds the package: ESM + CJS for both entries, a minified IIFE for <script> tags, and
// bundled declarations (.d.ts for import, .d.cts for require).
import { readFileSync } from 'node:fs'
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

import commonjs from '@rollup/plugin-commonjs'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { dts } from 'rollup-plugin-dts'

const root = dirname(fileURLToPath(import.meta.url))
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'))
const srcDir = resolve(root, 'src')
const reactDir = resolve(srcDir, 'react')
const coreIndex = resolve(srcDir, 'index')

const entries = {
  index: 'src/index.ts',
  react: 'src/react/index.ts',
}

// Runtime dependencies (and their subpaths, e.g. `nanoid/non-secure`) and React stay imports.
const externalPackages = [...Object.keys(pkg.dependencies ?? {}), 'react', pkg.name]
const isExternal = (id) => externalPackages.some((name) => id === name || id.startsWith(`${name}/`))

const stripExtension = (file) => file.replace(/\.(?:[cm]?[jt]sx?)$/, '')

/**
 * `resilient-socket/react` must share the one core instance that `resilient-socket` loads
 * (one class identity for `instanceof`, one set of error classes, one copy of the code). So
 * every import of the core from `src/react/` is rewritten to the package's own name and left
 * external: at runtime Node and bundlers resolve it back to `dist/index.*` via `exports`, and
 * the react declarations reference the core's declarations instead of inlining a second copy
 * (which would make classes with private fields incompatible across the two entries).
 * The react code may only reach the core through `../index.ts`; anything else is an error,
 * because it would duplicate that module into the react bundle.
 */
function reactImportsCoreByPackageName() {
  return {
    name: 'react-imports-core-by-package-name',
    resolveId(source, importer) {
      if (!importer || !source.startsWith('.')) return null
      const from = resolve(importer.replace(/\0.*$/, ''), '..')
      if (!from.startsWith(reactDir)) return null
      const target = resolve(from, source)
      if (target.startsWith(reactDir + sep) || target === reactDir) return null
      if (stripExtension(target) === coreIndex || target === srcDir) {
        return { id: pkg.name, external: true }
      }
      if (target.startsWith(srcDir + sep)) {
        this.error(
          `${relative(root, importer)} imports '${source}'. Code in src/react/ may reach the core ` +
            `only through '../index.ts' (it becomes an import of '${pkg.name}', so both entries ` +
            'share one instance). Export what you need from src/index.ts and import it from there.',
        )
      }
      return null
    },
  }
}

const typescriptPlugin = () =>
  typescript({
    tsconfig: './tsconfig.build.json',
    // Declarations come from rollup-plugin-dts below; type errors fail `npm run typecheck`.
    compilerOptions: {
      declaration: false,
      declarationMap: false,
      sourceMap: true,
      inlineSources: true,
    },
  })

// `resilient-socket/server`: Node only. The client's shared words it imports (wire, codec,
// errors) are bundled in, so it loads no browser entry; node: built-ins stay imports.
const serverEntry = { server: 'server/index.ts' }
const isNodeBuiltin = (id) => id.startsWith('node:')
const serverTypescriptPlugin = () =>
  typescript({
    tsconfig: './server/tsconfig.build.json',
    compilerOptions: {
      declaration: false,
      declarationMap: false,
      sourceMap: true,
      inlineSources: true,
    },
  })

/** @type {import('rollup').RollupOptions[]} */
export default [
  // ESM + CJS for `resilient-socket` and `resilient-socket/react`.
  {
    input: entries,
    external: isExternal,
    plugins: [reactImportsCoreByPackageName(), typescriptPlugin()],
    output: [
      {
        dir: 'dist',
        format: 'es',
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name]-[hash].js',
        sourcemap: true,
        generatedCode: 'es2015',
      },
      {
        dir: 'dist',
        format: 'cjs',
        entryFileNames: '[name].cjs',
        chunkFileNames: 'chunks/[name]-[hash].cjs',
        exports: 'named',
        sourcemap: true,
        generatedCode: 'es2015',
      },
    ],
  },

  // One self-contained, minified file for a CDN <script> tag: window.ResilientSocket.
  {
    input: entries.index,
    plugins: [
      nodeResolve({ browser: true, exportConditions: ['browser'] }),
      // No dependency is CommonJS today (nanoid is ESM); this keeps one that is bundling.
      commonjs(),
      typescriptPlugin(),
    ],
    output: {
      file: 'dist/resilient-socket.iife.min.js',
      format: 'iife',
      name: 'ResilientSocket',
      exports: 'named',
      sourcemap: true,
      generatedCode: 'es2015',
      plugins: [
        // Two compress passes: about 25 B less after gzip, for a second or two of build time.
        terser({ ecma: 2020, module: false, compress: { passes: 2 }, format: { comments: false } }),
      ],
    },
  },

  // Bundled declarations. @standard-schema/spec is a devDependency whose types appear in the
  // public API, so they are inlined and consumers never need that package.
  {
    input: entries,
    external: isExternal,
    plugins: [
      reactImportsCoreByPackageName(),
      dts({
        tsconfig: './tsconfig.build.json',
        includeExternal: ['@standard-schema/spec'],
      }),
    ],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts' },
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.cts' },
    ],
  },

  {
    input: serverEntry,
    external: isNodeBuiltin,
    plugins: [serverTypescriptPlugin()],
    output: [
      {
        dir: 'dist',
        format: 'es',
        entryFileNames: '[name].js',
        sourcemap: true,
        generatedCode: 'es2015',
      },
      {
        dir: 'dist',
        format: 'cjs',
        entryFileNames: '[name].cjs',
        exports: 'named',
        sourcemap: true,
        generatedCode: 'es2015',
      },
    ],
  },
  {
    input: serverEntry,
    external: isNodeBuiltin,
    plugins: [dts({ tsconfig: './server/tsconfig.build.json' })],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts' },
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.cts' },
    ],
  },
]
