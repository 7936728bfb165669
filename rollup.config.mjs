import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { builtinModules } from 'node:module'

const ts = (target) =>
  typescript({ tsconfig: './tsconfig.json', include: ['src/**/*.ts'], compilerOptions: { target, noEmit: false } })

export default [
  {
    input: 'src/index.ts',
    output: { file: 'dist/tracker.js', format: 'iife', strict: false },
    plugins: [
      ts('ES2017'),
      terser({ ecma: 2017, compress: { passes: 3, unsafe_arrows: true }, format: { comments: false } }),
    ],
  },
  {
    input: { server: 'src/server/index.ts', start: 'src/server/start.ts' },
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'lib/[name].mjs' },
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    plugins: [ts('ES2022')],
  },
]
