// Minifies snippet/snippet.js into dist/snippet.min.js, the body of the <script> a site pastes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { minify } from 'terser'
import { SNIPPET_BUDGET } from './budget.mjs'

const source = readFileSync(new URL('./snippet.js', import.meta.url), 'utf8')
const { code } = await minify(source, {
  ecma: 5,
  compress: { passes: 2 },
  mangle: { toplevel: true },
  format: { comments: false, quote_style: 1 },
})
mkdirSync(new URL('../dist/', import.meta.url), { recursive: true })
writeFileSync(new URL('../dist/snippet.min.js', import.meta.url), code)
const bytes = Buffer.byteLength(code)
if (bytes > SNIPPET_BUDGET) {
  console.error(`snippet: ${bytes} B, over its ${SNIPPET_BUDGET} B budget by ${bytes - SNIPPET_BUDGET} B`)
  process.exit(1)
}
