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
  ['Secure Mode: signature providers (ask, retry, bind answers)', ['tracker.ts', /  const ask = \(personId: string, attempt = 0\) => \{[\s\S]*?\n  \}\n/, '  const ask = (_p: string) => {}\n']],
  ['Secure Mode: auth queue timeout and its warning', ['tracker.ts', /  const expireLater = \(at = Date\.now\(\)\) =>[\s\S]*?\}, timeout\)\n/, '  const expireLater = (_a?: number) => {}\n']],
  ['Secure Mode: rejections reported, signatures refreshed', ['tracker.ts', /  const onRejected = \(sent: WireEvent\[\], rejected: Rejection\[\]\) => \{[\s\S]*?\n  \}\n/, '  const onRejected = (_s: WireEvent[], _r: Rejection[]) => {}\n']],
  ['Secure Mode: development signature checks', ['checks.ts', /export function signatureProblem\(signature: string\): string \| undefined \{[\s\S]*?\n\}/, 'export function signatureProblem(_s: string): string | undefined { return }']],
  ["Delivery: a closed page's backlog claimed by one tab", ['tracker.ts', /  const claim = \(\) => \{[\s\S]*?\n  \}\n/, '  const claim = () => {}\n']],
  ['Delivery: outbox stored, capped at 1,000 events / 512 KB', ['tracker.ts', /  const persist = \(\) => \{[\s\S]*?\n  \}\n/, '  const persist = () => {}\n'], ['tracker.ts', /    drop\(items\.length - MAX_ITEMS\)\n/, '']],
  ['Delivery: backoff with jitter, Retry-After', ['tracker.ts', /after! >= 0 \? after : Math\.min\(MAX_BACKOFF, 1000 << Math\.min\(failures\+\+, 6\)\) \* \(0\.5 \+ Math\.random\(\)\)/, '1000'], ['transport.ts', /retryAfter\(res\.headers\.get\('Retry-After'\)\)/, 'undefined']],
  ['Delivery: beacon chunks on page hide', ['tracker.ts', /if \(unloading && !beacon\(endpoint, body\)\) return/, 'if (unloading) return'], ['tracker.ts', /unloading \? now \+ BEACON_LEASE : 1 \/ 0/, '1 / 0']],
  ['Consent, opt-out, GPC / DNT, across tabs', ['tracker.ts', /  const refused = \(\) => .*\n/, '  const refused = () => false\n'], ['tracker.ts', /  const may = \(\) => .*\n/, '  const may = () => !!project\n'], ['tracker.ts', /  consent\.on\(\(given\) => \{[\s\S]*?\n  \}\)\n/, ''], ['consent.ts', /  addEventListener\('storage'[\s\S]*?\n  \}\)\n/, '']],
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

// Every string literal of the minified build emptied: what the code alone weighs, warnings and keys aside.
const STRINGS = /"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'/g

const gzipOf = async (cuts, withoutStrings = false) => {
  const bundle = await rollup({ input: join(SRC, 'index.ts'), plugins: [sources(cuts), terser(terserOptions())] })
  const { output } = await bundle.generate({ format: 'iife', strict: false })
  const code = withoutStrings ? output[0].code.replace(STRINGS, '""') : output[0].code
  return gzipSync(code, { level: 9 }).length
}

/**
 * The full build's gzip bytes, per feature the bytes it adds, what is left with all of them cut, and
 * the full build with every string emptied.
 */
export async function featureCosts() {
  const full = await gzipOf([])
  const rows = []
  for (const [feature, ...cuts] of FEATURES) rows.push({ feature, bytes: full - (await gzipOf(cuts)) })
  return { full, rows, rest: await gzipOf(FEATURES.flatMap(([, ...cuts]) => cuts)), codeOnly: await gzipOf([], true) }
}

if (process.argv[1] == fileURLToPath(import.meta.url)) {
  const { full, rows, rest, codeOnly } = await featureCosts()
  console.log(`tracker.js, full build: ${full} B gzip`)
  for (const r of rows) console.log(`${String(r.bytes).padStart(5)} B  ${r.feature}`)
  console.log(`${String(rest).padStart(5)} B  what is left with all of them cut`)
  console.log(`${String(codeOnly).padStart(5)} B  the full build with every string emptied`)
}
