// Where start-up time goes: dist/tracker.js loaded and started as in `npm run bench`'s "load + init"
// (bench/start.mjs), in headless Chromium at 4× CPU throttling, sampled by the V8 profiler through
// CDP between console.profile() and console.profileEnd() around that window. Plausible's bundle
// (built by `npm run bench`) is profiled the same way, in turns, when it is there.
// Prints, per tracker, the median over RUNS page loads of the time spent inside each of its functions
// (callees included, so nested rows overlap) and outside any (the browser's own work: fetching,
// compiling, idle). Run after a build: `node bench/startup-profile.mjs`.
import { chromium } from '@playwright/test'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { startInPage } from './start.mjs'

const RUNS = Number(process.env.BENCH_RUNS || 15)
const paths = { signet: '/signet/tracker.js', plausible: '/build/plausible/index.js' }
const scripts = { signet: readFileSync(new URL('../dist/tracker.js', import.meta.url), 'utf8') }
const plausible = new URL('.' + paths.plausible, import.meta.url)
if (existsSync(plausible)) scripts.plausible = readFileSync(plausible, 'utf8')

const server = createServer((req, res) => {
  const name = Object.keys(scripts).find((n) => paths[n] == req.url)
  if (name) return res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' }).end(scripts[name])
  if (req.url.startsWith('/track') || req.url.startsWith('/api/')) {
    return req.resume().on('end', () => res.writeHead(200, { 'Access-Control-Allow-Origin': '*' }).end('{"accepted":0,"rejected":[]}'))
  }
  res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><html><head><meta charset="utf-8"><title>Bench page</title></head><body><h1>Bench</h1></body></html>')
})
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${server.address().port}`
const browser = await chromium.launch(
  existsSync('/usr/bin/chromium') ? { executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'] } : {},
)

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const names = Object.keys(scripts)
const runs = Object.fromEntries(names.map((n) => [n, { totals: [], times: [] }]))
for (let run = 0; run < RUNS; run++) {
  for (const name of run % 2 ? [...names].reverse() : names) {
    const context = await browser.newContext()
    const page = await context.newPage()
    const cdp = await context.newCDPSession(page)
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
    await page.goto(base + '/page')
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 })
    const finished = new Promise((r) => cdp.once('Profiler.consoleProfileFinished', (e) => r(e.profile)))
    await page.evaluate(() => console.profile('start'))
    runs[name].totals.push(await page.evaluate(startInPage, { name, base }))
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
}
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
