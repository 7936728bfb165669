import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { rmSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dts } from 'rollup-plugin-dts'
import { terserOptions } from './scripts/terser-options.mjs'

// The property names the minifier shortens in tracker.js, written beside it: test/size.test.ts
// compares them with the committed scripts/mangled-names.json, so that a wire key someone forgot
// to reserve (it would be shortened, and the collector would not know it) shows up in review.
const trackerNames = {}
const writeMangledNames = {
  name: 'mangled-names',
  writeBundle() {
    const names = Object.keys(trackerNames.props?.props || {}).map((key) => key.slice(1)).sort()
    writeFileSync('dist/mangled-names.json', JSON.stringify(names, null, 1) + '\n')
  },
}

const ts = (target) =>
  typescript({ tsconfig: './tsconfig.json', include: ['src/**/*.ts'], compilerOptions: { target, noEmit: false } })

// A build starts from an empty dist/, so nothing a former build wrote is packed.
rmSync('dist', { recursive: true, force: true })

const browser = (input, file, format = 'iife', mangleProperties = true, extra = {}, plugins = [], sourcemap = false) => ({
  input,
  output: { file, format, strict: false, sourcemap },
  plugins: [ts('ES2017'), terser({ ...terserOptions(mangleProperties), ...extra }), ...plugins],
})

export default [
  browser('src/index.ts', 'dist/tracker.js', 'iife', true, { nameCache: trackerNames }, [writeMangledNames]),
  browser('src/esm.ts', 'dist/signet.mjs', 'es', true, {}, [], true),
  // The dashboard reads the server's JSON by name and has no size budget: no property mangling.
  browser('src/dashboard/dashboard.ts', 'dist/dashboard.js', 'iife', false),
  browser('src/adapters/beacon.ts', 'dist/adapters/beacon.js'),
  browser('src/adapters/engagespot.ts', 'dist/adapters/engagespot.js'),
  {
    input: { server: 'src/server/index.ts', start: 'src/server/cli/start.ts', cli: 'src/server/cli/cli.ts' },
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].mjs',
      chunkFileNames: 'lib/[name].mjs',
      // The code server, start and cli share is named for what it is, whichever module comes first in it.
      manualChunks: (id) => (/src\/server\/http\/(collector|snippet)\.ts$/.test(id) ? 'collector' : undefined),
      banner: (chunk) => (chunk.name == 'cli' ? '#!/usr/bin/env node' : ''),
      sourcemap: true,
    },
    // The database drivers are optional peers, loaded only when a collector starts.
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'better-sqlite3', 'pg', 'jose', 'pino', 'prom-client', 'ua-parser-js'],
    plugins: [ts('ES2022')],
  },
  // signet-tracker/server's types in one file: no relative import in it that a resolution mode
  // (node16, nodenext, bundler) could read differently.
  {
    input: 'src/server/index.ts',
    output: { file: 'dist/server.d.mts', format: 'es' },
    plugins: [dts({ tsconfig: './tsconfig.json' })],
  },
]
