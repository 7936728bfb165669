import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { builtinModules } from 'node:module'

const ts = (target) =>
  typescript({ tsconfig: './tsconfig.json', include: ['src/**/*.ts'], compilerOptions: { target, noEmit: false } })

const browser = (input, file) => ({
  input,
  output: { file, format: 'iife', strict: false },
  plugins: [
    ts('ES2017'),
    terser({ ecma: 2017, compress: { passes: 3, unsafe_arrows: true }, format: { comments: false } }),
  ],
})

export default [
  browser('src/index.ts', 'dist/tracker.js'),
  browser('src/adapters/beacon.ts', 'dist/adapters/beacon.js'),
  browser('src/adapters/engagespot.ts', 'dist/adapters/engagespot.js'),
  {
    input: { server: 'src/server/index.ts', start: 'src/server/start.ts' },
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'lib/[name].mjs' },
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    plugins: [ts('ES2022')],
  },
]
