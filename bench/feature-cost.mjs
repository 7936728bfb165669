// What each feature of dist/tracker.js costs: the tracker is built again with one feature taken out
// of the sources (in memory, never on disk), and the difference to the full build is that feature's
// price in gzip bytes. A cut that no longer matches its source fails loudly rather than report 0.
// Run alone (`node bench/feature-cost.mjs`) or as part of `npm run bench`.
import terser from '@rollup/plugin-terser'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { rollup } from 'rollup'
import ts from 'typescript'
import { terserOptions } from '../scripts/terser-options.mjs'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

// [feature, [file in src/, what to cut, what stays instead]...]
export const FEATURES = [
  ['Secure Mode: signature providers (ask, retry, bind answers)', ['secure.ts', /  const ask = \(personId: string, attempt = 0\) => \{[\s\S]*?\n  \}\n/, '  const ask = (_p: string) => {}\n']],
  ['Secure Mode: auth queue timeout and its warning', ['secure.ts', /  const expireLater = [\s\S]*?, timeout\)\n/, '  const expireLater = (_a?: number) => {}\n']],
  ['Secure Mode: rejections reported, signatures refreshed', ['secure.ts', /    rejected\(sent: WireEvent\[\], rejections[\s\S]*?\n    \},\n  \}/, '    rejected(_s: WireEvent[], _r: unknown) {},\n  }']],
  ['Secure Mode: development signature checks', ['checks.ts', /export function signatureProblem\(signature: string\): string \| undefined \{[\s\S]*?\n\}/, 'export function signatureProblem(_s: string): string | undefined { return }']],
  ['Delivery: a closed page\'s backlog claimed by one tab', ['pagequeue.ts', /    claim\(\) \{[\s\S]*?\n    \},\n  \}/, '    claim() {},\n  }']],
  ['Delivery: outbox stored, capped at 1,000 events / 512 KB', ['outbox.ts', /    while \(json\.length > MAX_BYTES\) \{[\s\S]*?\n    \}\n/, ''], ['outbox.ts', /hooks\.save\(json\)/, '']],
  ['Delivery: backoff with jitter, Retry-After', ['outbox.ts', /const wait = Math\.ceil\([\s\S]*?\)\)\n/, 'const wait = 1000\n']],
  ['Delivery: beacon chunks on page hide', ['outbox.ts', /    if \(unloading\) \{[\s\S]*?\n      return\n    \}\n/, '    if (unloading) return\n']],
  ['Consent, opt-out, GPC / DNT, across tabs', ['tracker.ts', /const refused = \(\) => .*\n/, 'const refused = () => false\n'], ['tracker.ts', /const may = \(\) => .*\n/, 'const may = () => !!project\n'], ['consent.ts', /  addEventListener\('storage'[\s\S]*?\n  \}\)\n/, '']],
  ['Single-page app pageviews', ['spa.ts', /\{\n  const route[\s\S]*\n\}/, '{}']],
  ['Named trackers (_gs(token, name), name.command)', ['queue.ts', /    if \(isString\(first\)\) \{[\s\S]*?\n    \}\n    tracker\.run/, '    tracker.run']],
]

// Loads the TypeScript sources, with the cuts applied, as plain JavaScript.
const sources = (cuts) => ({
  name: 'sources-with-cuts',
  resolveId: (id, importer) => (importer && id.startsWith('.') ? join(dirname(importer), id + '.ts') : null),
  load(id) {
    let code = readFileSync(id, 'utf8')
    for (const [file, cut, instead] of cuts) {
      if (id != join(SRC, file)) continue
      if (!cut.test(code)) throw new Error(`feature-cost: ${file} no longer has what ${cut} cuts; update bench/feature-cost.mjs`)
      code = code.replace(cut, instead)
    }
    return ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2017, module: ts.ModuleKind.ESNext } }).outputText
  },
})

const gzipOf = async (cuts) => {
  const bundle = await rollup({ input: join(SRC, 'index.ts'), plugins: [sources(cuts), terser(terserOptions())] })
  const { output } = await bundle.generate({ format: 'iife', strict: false })
  return gzipSync(output[0].code, { level: 9 }).length
}

/** The full build's gzip bytes, per feature the bytes it adds, and what is left with all of them cut. */
export async function featureCosts() {
  const full = await gzipOf([])
  const rows = []
  for (const [feature, ...cuts] of FEATURES) rows.push({ feature, bytes: full - (await gzipOf(cuts)) })
  return { full, rows, rest: await gzipOf(FEATURES.flatMap(([, ...cuts]) => cuts)) }
}

if (process.argv[1] == fileURLToPath(import.meta.url)) {
  const { full, rows, rest } = await featureCosts()
  console.log(`tracker.js, full build: ${full} B gzip`)
  for (const r of rows) console.log(`${String(r.bytes).padStart(5)} B  ${r.feature}`)
  console.log(`${String(rest).padStart(5)} B  what is left with all of them cut`)
}
