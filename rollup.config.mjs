import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { builtinModules } from 'node:module'
import { PUBLIC_NAMES } from './scripts/public-names.mjs'

const ts = (target) =>
  typescript({ tsconfig: './tsconfig.json', include: ['src/**/*.ts'], compilerOptions: { target, noEmit: false } })

// Browser files: every internal property name is shortened (mangleProperties); the names other code
// reads or writes (wire keys, stored records, options, handler payloads, vendor globals) are kept.
const browser = (input, file, format = 'iife', mangleProperties = true) => ({
  input,
  output: { file, format, strict: false },
  plugins: [
    ts('ES2017'),
    terser({
      ecma: 2017,
      toplevel: true,
      compress: { passes: 5, unsafe_arrows: true, unsafe_methods: true, pure_getters: true },
      mangle: mangleProperties && { properties: { reserved: PUBLIC_NAMES } },
      format: { comments: false },
    }),
  ],
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
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    plugins: [ts('ES2022')],
  },
]
