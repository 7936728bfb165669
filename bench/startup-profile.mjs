// Where start-up time goes: dist/tracker.js loaded and started as in `npm run bench`'s "load + init"
// (bench/start.mjs), in headless Chromium at 4× CPU throttling, sampled by the V8 profiler through
// CDP between console.profile() and console.profileEnd() around that window. Plausible's bundle
// (built by `npm run bench`) is profiled the same way, in turns, when it is there.
// Prints three tables, from RUNS page loads each:
// - the phases of load + init, without the profiler: until the file starts to run (request, download,
//   compile), its own top-level run, until its load event or import() settles, the init call; beside
//   the same for a file with no code, loaded each tracker's way, and for tracker.js built with every
//   optional feature off; then each file by a script element against Plausible loaded so;
// - what the first use of each browser API Signet touches at start-up costs in a fresh page;
// - per tracker, the median time spent inside each of its functions (callees included, so nested
//   rows overlap) and outside any (the browser's own work: fetching, compiling, idle).
// Run after a build: `node bench/startup-profile.mjs`.
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { launchChromium, median } from './browser.mjs'
import { buildWithout, FEATURES } from './feature-cost.mjs'
import { startInPage } from './start.mjs'
import { progress } from './progress.mjs'

const RUNS = Number(process.env.BENCH_RUNS || 15)
// tracker.js twice: as users get it, and built with every optional feature of src/features.ts off
// (what the feature-cost table calls what is left), so that what cutting features could bring is
// measured, not guessed. Plausible twice: its bundle by import() as a bundler user loads it, and the
// same code as a classic script by a script element, as tracker.js is loaded.
const BARE = 'signet, no optional feature'
const paths = {
  signet: '/signet/tracker.js',
  [BARE]: '/signet-bare/tracker.js',
  'plausible-script': '/build/plausible-script/index.js',
  plausible: '/build/plausible/index.js',
}
// Each file is served between two marks of the time, so its own top-level run can be told apart from
// what comes before (request, download, compile) and after it. The builds are one line: the marks
// shift the profile's columns, which are read in the text served.
const marked = (code) => `window.benchRan=[performance.now()];${code}\n;benchRan.push(performance.now());`
const scripts = {
  signet: marked(readFileSync(new URL('../dist/tracker.js', import.meta.url), 'utf8')),
  [BARE]: marked(await buildWithout(Object.keys(FEATURES))),
}
for (const name of ['plausible-script', 'plausible']) {
  const file = new URL('.' + paths[name], import.meta.url)
  if (existsSync(file)) scripts[name] = marked(readFileSync(file, 'utf8'))
}

// While set, each tracker's path serves a file that only defines what the bench calls: what loading
// a file costs by each tracker's way (a script element for Signet, import() for a peer) with no code.
let empty = false
const EMPTY = marked('window._gs = function () {}; window.bench = { init: _gs }')
const server = createServer((req, res) => {
  const name = Object.keys(scripts).find((n) => paths[n] == req.url)
  if (name) return res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' }).end(empty ? EMPTY : scripts[name])
  if (req.url.startsWith('/track') || req.url.startsWith('/api/')) {
    return req.resume().on('end', () => res.writeHead(200, { 'Access-Control-Allow-Origin': '*' }).end('{"accepted":0,"rejected":[]}'))
  }
  res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><html><head><meta charset="utf-8"><title>Bench page</title></head><body><h1>Bench</h1></body></html>')
})
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${server.address().port}`
const browser = await launchChromium()

const names = Object.keys(scripts)
// How startInPage loads each: the bare build as tracker.js is loaded, from its own path.
const load = (name) => (name == BARE ? { name: 'signet', base, src: paths[BARE] } : { name, base })

// A fresh page at 4× CPU, as bench/run.mjs loads each tracker.
const freshPage = async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
  await page.goto(base + '/page')
  return { context, page, cdp }
}

// The phases of load + init, in loads without the profiler (it slows script more than the browser).
const PHASES = ['until the file runs', "the file's top-level run", 'until loaded', 'the init call', 'load + init']
// The bare build is loaded as tracker.js is: one file with no code stands for both.
const columns = names.flatMap((name) => (name == BARE ? [name] : [name, `empty, as ${name}`]))
const phases = Object.fromEntries(columns.map((c) => [c, PHASES.map(() => [])]))
const phasing = progress('phases', RUNS)
for (let run = 0; run < RUNS; run++) {
  for (const column of run % 2 ? [...columns].reverse() : columns) {
    const name = names.find((n) => column.endsWith(n))
    empty = column != name
    const { context, page } = await freshPage()
    const total = await page.evaluate(startInPage, load(name))
    const [start, loaded, [ran, done]] = await page.evaluate(() => [benchStart, benchLoaded, benchRan])
    ;[ran - start, done - ran, loaded - done, start + total - loaded, total].forEach((ms, i) => phases[column][i].push(ms))
    await context.close()
  }
  phasing.tick(`run ${run + 1}`)
}
phasing.stop()
empty = false
// Medians, with means beside them: the phases' means add up to the total's, their medians need not.
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
console.log(`load + init at 4× CPU by phase, ms over ${RUNS} loads without the profiler, median (mean):`)
console.log(`${''.padEnd(26)}${columns.map((c) => c.padStart(30)).join('')}`)
PHASES.forEach((phase, i) =>
  console.log(`${phase.padEnd(26)}${columns.map((c) => `${median(phases[c][i]).toFixed(1)} (${mean(phases[c][i]).toFixed(1)})`.padStart(30)).join('')}`),
)
// Each file loaded by a script element against Plausible's bundle loaded the same way (issue 33's
// measure): the file with no code is the floor under any build of tracker.js.
const TOTAL = PHASES.length - 1
if (phases['plausible-script']) {
  const plausible = median(phases['plausible-script'][TOTAL])
  console.log(`load + init by a script element, median ÷ plausible-script's ${plausible.toFixed(1)} ms:`)
  for (const c of ['signet', BARE, 'empty, as signet'])
    console.log(`${(median(phases[c][TOTAL]) / plausible).toFixed(2).padStart(7)}×  ${c}`)
}

// What the first use of each browser API Signet's start-up touches costs in a fresh page, in the
// order tracker.js first uses them: a cost the page pays once, whoever pays it first.
const FIRST_USES = {
  'localStorage.getItem': () => localStorage.getItem('signet_consent'),
  "addEventListener('storage')": () => addEventListener('storage', () => {}),
  'a regular expression': () => /^[a-z]+$/.test('signet'),
  'crypto.getRandomValues': () => crypto.getRandomValues(new Uint8Array(16)),
  'new URL': () => new URL('/track', location.href).href,
  'setTimeout, setInterval': () => {
    clearTimeout(setTimeout(() => {}))
    clearInterval(setInterval(() => {}, 5000))
  },
  'localStorage.setItem': () => localStorage.setItem('signet_bench', '1'),
}
// The ways tabs could share the identity (ARCHITECTURE.md, "Several tabs"), timed in the same pages
// after the uses above, as they would come after them in tracker.js: what each adds to start-up,
// and what Signet's way (the record read again before each command) costs a thousand commands.
const TAB_SYNC = {
  "a second addEventListener('storage') (storage events)": () => addEventListener('storage', () => {}),
  'new BroadcastChannel and a postMessage (BroadcastChannel)': () => new BroadcastChannel('signet').postMessage(0),
  'the identity record read again before each of 1,000 commands (Signet)': () => {
    let seen = null
    for (let i = 0; i < 1000; i++) if (localStorage.getItem('signet_bench') != seen) seen = localStorage.getItem('signet_bench')
  },
}
const firstUses = Object.fromEntries([...Object.keys(FIRST_USES), ...Object.keys(TAB_SYNC)].map((k) => [k, []]))
const source = `({${Object.entries({ ...FIRST_USES, ...TAB_SYNC })
  .map(([k, fn]) => `${JSON.stringify(k)}: ${fn}`)
  .join(',')}})`
const using = progress('first uses', RUNS)
for (let run = 0; run < RUNS; run++) {
  const { context, page } = await freshPage()
  const costs = await page.evaluate((source) => {
    const uses = (0, eval)(source)
    const costs = {}
    for (const k in uses) {
      const t = performance.now()
      uses[k]()
      costs[k] = performance.now() - t
    }
    return costs
  }, source)
  for (const k in costs) firstUses[k].push(costs[k])
  await context.close()
  using.tick(`page ${run + 1}`)
}
using.stop()
console.log(`\nfirst use of a browser API in a fresh page at 4× CPU, median ms over ${RUNS} pages:`)
for (const k in FIRST_USES) console.log(`${median(firstUses[k]).toFixed(2).padStart(7)}  ${k}`)
console.log(`\nsharing the identity between tabs, after those, median ms:`)
for (const k in TAB_SYNC) console.log(`${median(firstUses[k]).toFixed(2).padStart(7)}  ${k}`)

const runs = Object.fromEntries(names.map((n) => [n, { totals: [], times: [] }]))
const profiling = progress('profiles', RUNS)
for (let run = 0; run < RUNS; run++) {
  for (const name of run % 2 ? [...names].reverse() : names) {
    const { context, page, cdp } = await freshPage()
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 })
    const finished = new Promise((r) => cdp.once('Profiler.consoleProfileFinished', (e) => r(e.profile)))
    await page.evaluate(() => console.profile('start'))
    runs[name].totals.push(await page.evaluate(startInPage, load(name)))
    await page.evaluate(() => console.profileEnd('start'))
    const profile = await finished
    // Time inside each function of the tracker's file (by its column: the builds are one line), and
    // the browser's own work where a sample's innermost frame is not in a script.
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
    const parent = new Map(profile.nodes.flatMap((n) => (n.children || []).map((c) => [c, n.id])))
    const times = new Map()
    profile.samples.forEach((id, i) => {
      const keys = new Set()
      for (let n = id; n != null; n = parent.get(n)) {
        const f = nodes.get(n).callFrame
        if (f.url.endsWith(paths[name])) keys.add(f.columnNumber)
        else if (n == id && !f.url) keys.add(`(browser) ${f.functionName || '(program)'}`)
      }
      for (const k of keys) times.set(k, (times.get(k) || 0) + profile.timeDeltas[i] / 1000)
    })
    runs[name].times.push(times)
    await context.close()
  }
  profiling.tick(`run ${run + 1}`)
}
profiling.stop()
await browser.close()
server.close()

for (const name of names) {
  const { totals, times } = runs[name]
  const keys = new Set(times.flatMap((t) => [...t.keys()]))
  const rows = [...keys].map((k) => [k, median(times.map((t) => t.get(k) || 0))]).filter(([, ms]) => ms >= 0.5)
  rows.sort((a, b) => b[1] - a[1])
  console.log(`\n${name}: load + init at 4× CPU, median ${median(totals).toFixed(1)} ms over ${RUNS} runs; median ms inside:`)
  for (const [k, ms] of rows.slice(0, 24)) {
    const where = typeof k == 'number' ? `${paths[name]} @${k}  ${JSON.stringify(scripts[name].slice(k, k + 70))}` : k
    console.log(`${ms.toFixed(1).padStart(7)}  ${where}`)
  }
}
