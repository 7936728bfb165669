// What each optional feature of dist/tracker.js costs: the tracker is built again with one feature
// of src/features.ts turned off (a compile-time constant: terser drops the code it guards), and the
// difference to the full build is that feature's price in gzip bytes. The full build, with every
// feature, is the tracker.js users get. Run alone (`node bench/feature-cost.mjs`) or as part of
// `npm run bench`.
import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { rollup } from 'rollup'
import { terserOptions } from '../scripts/terser-options.mjs'
import { progress } from './progress.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FEATURES_FILE = fileURLToPath(new URL('../src/features.ts', import.meta.url))

// What each feature is called in the table.
export const FEATURES = {
  providers: 'Secure Mode: signature providers (ask, retry, bind answers)',
  authTimeout: 'Secure Mode: auth queue timeout and its warning',
  rejections: 'Secure Mode: rejections reported, signatures refreshed',
  devChecks: 'Secure Mode: development signature checks',
  backlog: "Delivery: a closed page's backlog claimed by one tab",
  storedOutbox: 'Delivery: outbox stored, capped at 1,000 events / 512 KB',
  backoff: 'Delivery: backoff with jitter, Retry-After',
  beacons: 'Delivery: beacon chunks on page hide',
  consent: 'Consent, opt-out, GPC / DNT, across tabs',
  spa: 'Single-page app pageviews',
  namedTrackers: 'Named trackers (_gs(token, name), name.command)',
  compression: 'Delivery: requests gzipped (CompressionStream)',
  settings: 'GoSquared settings: trackParams, trackHash, trackLocal, useCookies, cookieDomain, referrer',
  transactions: 'GoSquared transactions',
  lateAuth: 'Secure Mode: events refused for want of a signature sent again when it comes',
  sharedIdentity: 'Identity: one per browser, newest wins, re-read before every command',
  requestTimeout: 'Delivery: a request unanswered for 10 s aborted and retried',
}

// src/features.ts with the given features turned off; a name it does not have fails loudly rather than report 0.
const withFeaturesOff = (off) => ({
  name: 'features-off',
  transform(code, id) {
    if (id != FEATURES_FILE) return null
    for (const name of off) {
      const flag = new RegExp(`(\\n\\s*${name}: )true,`)
      if (!flag.test(code)) throw new Error(`feature-cost: src/features.ts has no feature ${name}`)
      code = code.replace(flag, '$1false,')
    }
    return code
  },
})

// Every string literal of the minified build emptied: what the code alone weighs, warnings and keys aside.
const STRINGS = /"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'/g

/** tracker.js built again with the given features off, minified as `npm run build` does. */
export const buildWithout = async (off) => {
  const bundle = await rollup({
    input: ROOT + 'src/index.ts',
    plugins: [
      withFeaturesOff(off),
      typescript({ tsconfig: ROOT + 'tsconfig.json', include: [ROOT + 'src/**/*.ts'], compilerOptions: { target: 'ES2017', noEmit: false } }),
      terser(terserOptions()),
    ],
    onwarn() {},
  })
  const { output } = await bundle.generate({ format: 'iife', strict: false })
  return output[0].code
}

const gzipOf = async (off, withoutStrings = false) => {
  const code = await buildWithout(off)
  return gzipSync(withoutStrings ? code.replace(STRINGS, '""') : code, { level: 9 }).length
}

/**
 * The full build's gzip bytes, per feature the bytes it adds, what is left with all of them off, and
 * the full build with every string emptied.
 */
export async function featureCosts() {
  const full = await gzipOf([])
  if (full != gzipSync(readFileSync(ROOT + 'dist/tracker.js'), { level: 9 }).length)
    throw new Error('feature-cost: the full build differs from dist/tracker.js (run npm run build)')
  const rows = []
  const builds = progress('feature builds', Object.keys(FEATURES).length + 2)
  for (const [flag, feature] of Object.entries(FEATURES)) {
    rows.push({ flag, feature, bytes: full - (await gzipOf([flag])) })
    builds.tick(`without ${flag}`)
  }
  const rest = await gzipOf(Object.keys(FEATURES))
  builds.tick('without any')
  const codeOnly = await gzipOf([], true)
  builds.stop()
  return { full, rows, rest, codeOnly }
}

if (process.argv[1] == fileURLToPath(import.meta.url)) {
  const { full, rows, rest, codeOnly } = await featureCosts()
  console.log(`tracker.js, full build: ${full} B gzip`)
  for (const r of rows) console.log(`${String(r.bytes).padStart(5)} B  ${r.feature}`)
  console.log(`${String(rest).padStart(5)} B  what is left with all of them off`)
  console.log(`${String(codeOnly).padStart(5)} B  the full build with every string emptied`)
}
