import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { builtinModules } from 'node:module'
import { terserOptions } from './scripts/terser-options.mjs'

const ts = (target) =>
  typescript({ tsconfig: './tsconfig.json', include: ['src/**/*.ts'], compilerOptions: { target, noEmit: false } })

const browser = (input, file, format = 'iife', mangleProperties = true) => ({
  input,
  output: { file, format, strict: false },
  plugins: [ts('ES2017'), terser(terserOptions(mangleProperties))],
})

export default [
  browser('src/index.ts', 'dist/tracker.js'),
  browser('src/esm.ts', 'dist/signet.mjs', 'es'),
  // The dashboard reads the server's JSON by name and has no size budget: no property mangling.
  browser('src/dashboard/dashboard.ts', 'dist/dashboard.js', 'iife', false),
  browser('src/adapters/beacon.ts', 'dist/adapters/beacon.js'),
  browser('src/adapters/engagespot.ts', 'dist/adapters/engagespot.js'),
  {
    input: { server: 'src/server/index.ts', start: 'src/server/start.ts', cli: 'src/server/cli.ts' },
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].mjs',
      chunkFileNames: 'lib/[name].mjs',
      banner: (chunk) => (chunk.name == 'cli' ? '#!/usr/bin/env node' : ''),
    },
    // The database drivers are optional peers, loaded only when a collector starts.
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'better-sqlite3', 'pg'],
    plugins: [ts('ES2022')],
  },
]
