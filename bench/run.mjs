// npm run bench: loads Signet and each peer on the same local page, in headless Chromium, and writes
// bench/results.md and bench/chart.svg. Every figure is the median of RUNS page loads, each in a new
// browser context (nothing cached); ratios are to Signet, measured in the same run.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { createCollector, openStore } from '../dist/server.mjs'
import { PEERS } from './build.mjs'
import { featureCosts } from './feature-cost.mjs'
import { launchChromium, median } from './browser.mjs'
import { progress } from './progress.mjs'
import { eventCallsInPage, startInPage } from './start.mjs'

const RUNS = Number(process.env.BENCH_RUNS || 15)
const EVENTS = 1000
const WIRE_EVENTS = 100
const ROOT = new URL('..', import.meta.url).pathname
const TRACKERS = ['signet', 'signet-npm', ...PEERS, 'plausible-script']

// Signet goes to the real reference collector (Secure Mode off); peers to a permissive mock.
const store = await openStore({ file: join(mkdtempSync(join(tmpdir(), 'signet-bench-')), 'signet.db') })
const collector = createCollector({ projects: { 'GSN-BENCH': { secureMode: 'off', secrets: [] } }, store })
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(req.url.split('?')[0]))
  const file = path.startsWith('/build/') ? join(ROOT, 'bench', path) : path == '/signet/tracker.js' ? join(ROOT, 'dist/tracker.js') : ''
  if (file && existsSync(file)) {
    // With its charset: otherwise a non-ASCII byte is decoded in the page's encoding and the bytes
    // read back from the browser grow.
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' })
    return res.end(readFileSync(file))
  }
  if (path.startsWith('/page/')) {
    res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-store' })
    return res.end('<!doctype html><html><head><meta charset="utf-8"><title>Bench page</title></head><body><h1>Bench</h1></body></html>')
  }
  if (collector.handle(req, res)) return
  req.resume()
  req.on('end', () => {
    res.writeHead(200, {
      'Content-Type': extname(path) == '.js' ? 'text/javascript' : 'application/json',
      'Access-Control-Allow-Origin': req.headers.origin || '*',
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] || '*',
    })
    res.end(extname(path) == '.js' ? '' : '{}')
  })
})
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${server.address().port}`

const browser = await launchChromium()

const load = (page, name) => page.evaluate(startInPage, { name, base })

async function withPage(fn, throttle = 1) {
  const context = await browser.newContext()
  const page = await context.newPage()
  if (throttle > 1) await (await context.newCDPSession(page)).send('Emulation.setCPUThrottlingRate', { rate: throttle })
  await page.goto(`${base}/page/bench`)
  try {
    return await fn(page)
  } finally {
    await context.close()
  }
}

const results = {}

const sizes = progress('sizes', TRACKERS.length)
for (const name of TRACKERS) {
  const r = (results[name] = { init: [], init4x: [], events: [], longTasks: [] })
  // Bytes: every script the page downloads for this tracker.
  await withPage(async (page) => {
    const scripts = []
    page.on('response', async (res) => {
      if (res.request().resourceType() == 'script') scripts.push(await res.body().catch(() => Buffer.alloc(0)))
    })
    await load(page, name)
    await page.waitForTimeout(1500)
    const all = Buffer.concat(scripts)
    r.files = scripts.length
    r.min = all.length
    r.gzip = scripts.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0)
    r.brotli = scripts.reduce((n, b) => n + brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length, 0)
  })
  sizes.tick(name)
}
sizes.stop()

// Timings: run by run, every tracker in turn (starting with a different one each run), so a slow
// stretch of a noisy machine falls on all of them alike.
const timings = progress('timings', RUNS * TRACKERS.length)
for (let i = 0; i < RUNS; i++) {
  for (const name of [...TRACKERS.slice(i % TRACKERS.length), ...TRACKERS.slice(0, i % TRACKERS.length)]) {
    const r = results[name]
    await withPage(async (page) => {
      r.init.push(await load(page, name))
      // 1,000 event calls on the main thread, and the long tasks they cause (during and just after).
      const { ms, longTasks } = await page.evaluate(eventCallsInPage, EVENTS)
      r.events.push(ms)
      r.longTasks.push(longTasks)
    })
    await withPage(async (page) => r.init4x.push(await load(page, name)), 4)
    timings.tick(`run ${i + 1}: ${name}`)
  }
}
timings.stop()

const wire = progress('the wire', TRACKERS.length)
for (const name of TRACKERS) {
  const r = results[name]
  // The wire: requests and bytes (URL + body) for 100 events, after the trackers' own batching timers.
  await withPage(async (page) => {
    let requests = 0
    let bytes = 0
    page.on('request', (req) => {
      const type = req.resourceType()
      if (type == 'document' || type == 'script') return
      if (req.method() == 'OPTIONS') return
      requests++
      bytes += req.url().length + (req.postDataBuffer() || Buffer.alloc(0)).length
    })
    await load(page, name)
    await page.waitForTimeout(1000)
    const before = { requests, bytes }
    await page.evaluate((n) => {
      for (let i = 0; i < n; i++) window.bench.event('bench_event', { i, plan: 'pro' })
    }, WIRE_EVENTS)
    await page.waitForTimeout(6000)
    r.wireRequests = requests - before.requests
    r.wireBytes = bytes - before.bytes
  })
  wire.tick(name)
}
wire.stop()

await browser.close()
server.close()
await store.close()

const s = results.signet
const fmt = (n, d = 0) => n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d })
const ratio = (a, b) => (b ? `${fmt(a / b, 1)}×` : '—')
const rows = TRACKERS.map((name) => {
  const r = results[name]
  const m = { init: median(r.init), init4x: median(r.init4x), events: median(r.events), long: median(r.longTasks) }
  r.medians = m
  return `| ${name} | ${fmt(r.min)} | ${fmt(r.gzip)} (${ratio(r.gzip, s.gzip)}) | ${fmt(r.brotli)} | ${r.files} | ${fmt(m.init, 1)} (${ratio(m.init, median(s.init))}) | ${fmt(m.init4x, 1)} (${ratio(m.init4x, median(s.init4x))}) | ${fmt(m.events, 1)} (${ratio(m.events, median(s.events))}) | ${m.long} | ${r.wireRequests} | ${fmt(r.wireBytes)} (${ratio(r.wireBytes, s.wireBytes)}) |`
})

const likeForLike = [
  ['a script element', 'signet', 'plausible-script'],
  ['import()', 'signet-npm', 'plausible'],
].map(([way, a, b]) => {
  const [x, y] = [results[a].medians, results[b].medians]
  return `| ${way} | ${a} | ${b} | ${fmt(x.init, 1)} vs ${fmt(y.init, 1)} (${fmt(x.init / y.init, 2)}×) | ${fmt(x.init4x, 1)} vs ${fmt(y.init4x, 1)} (${fmt(x.init4x / y.init4x, 2)}×) |`
})

const versions = Object.fromEntries(
  ['@plausible-analytics/tracker', '@segment/analytics-next', '@snowplow/browser-tracker', 'mixpanel-browser', 'posthog-js'].map((p) => [
    p,
    JSON.parse(readFileSync(join(ROOT, 'bench/node_modules', p, 'package.json'), 'utf8')).version,
  ]),
)
const chromiumVersion = browser.version()
const costs = await featureCosts()
writeFileSync(
  join(ROOT, 'bench/results.md'),
  `# Signet against the trackers users would pick instead

Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: headless Chromium ${chromiumVersion}, page and endpoints on
loopback, each figure the median of ${RUNS} page loads in fresh browser contexts (nothing cached), the trackers
taking turns run by run. Ratios (in brackets) are to Signet in the same run. Peers are bundled from npm
with the same rollup + terser settings, code-split where the library loads parts lazily, and configured as their docs advise, pointed at a local
permissive endpoint; Signet sends to the reference collector. PostHog gets \`opt_out_useragent_filter: true\`,
which its docs advise for automated browsers (otherwise it drops every event as bot traffic).

| tracker | minified B | gzip B | brotli B | script files | load + init ms | load + init ms, 4× CPU | 1,000 event calls ms | long tasks ≥ 50 ms | requests for ${WIRE_EVENTS} events | bytes on the wire for ${WIRE_EVENTS} events |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

- Bytes are what the page downloaded for the tracker (all script files), compressed here at gzip -9 / brotli 11.
- *signet* is \`tracker.js\` loaded by a script element, as the snippet loads it; *signet-npm* is the package's ES
  module (\`createTracker\`) bundled and loaded by \`import()\`, as every peer is; *plausible-script* is
  Plausible's same bundle built as one classic script and loaded by a script element.
- *load + init*: from inserting the script (or \`import()\`) to the init call returning, loopback network included.
  The two ways differ before any code runs: \`node bench/startup-profile.mjs\` times a file with no code loaded
  each way.
- *1,000 event calls*: main-thread time of the loop alone; long tasks are counted during it and for 1 s after.
- *the wire*: requests (not preflights) and URL + body bytes sent within 6 s of tracking ${WIRE_EVENTS} events.

## Start-up, like for like

Each way of loading against Plausible loaded the same way, from the table above (medians of
${RUNS} loads, ratios Signet ÷ Plausible):

| loaded by | Signet | Plausible | load + init ms | load + init ms, 4× CPU |
| --- | --- | --- | --- | --- |
${likeForLike.join('\n')}

\`node bench/startup-profile.mjs\` shows where each one's time goes, and loads \`tracker.js\` built with every
optional feature off beside them: it starts up no faster than the full build, so features are not what
start-up costs ([ARCHITECTURE.md](../ARCHITECTURE.md#start-up)).

Versions: ${Object.entries(versions).map(([p, v]) => `${p} ${v}`).join(', ')}.

## What Signet's bytes buy

Each row is the tracker built again without that one feature (\`bench/feature-cost.mjs\`): the gzip
bytes the feature adds to the ${fmt(costs.full)} B of the full build.

| feature | gzip B |
| --- | --- |
${costs.rows.map((r) => `| ${r.feature} | ${fmt(r.bytes)} |`).join('\n')}
| *what is left with all of the above cut* | *${fmt(costs.rest)}* |
| *the full build with every string (warning, key, name) emptied* | *${fmt(costs.codeOnly)}* |

Issue 6's hard budget is 3,072 B gzip with every feature. What is left with every optional feature cut
(${fmt(costs.rest)} B) already takes ${fmt((costs.rest / 3072) * 100)} % of it, and the code without a single character of
text (${fmt(costs.codeOnly)} B) is over it: the budget cannot be met by making the same features smaller, only by
choosing which of them \`tracker.js\` carries.
`,
)

// The chart: gzip bytes and load + init time, one bar each per tracker.
const bars = (title, key, unit, y0) => {
  const max = Math.max(...TRACKERS.map(key))
  return (
    `<text x="10" y="${y0}" font-weight="bold">${title}</text>` +
    TRACKERS.map((name, i) => {
      const v = key(name)
      const w = Math.max(2, (v / max) * 520)
      const y = y0 + 12 + i * 22
      return `<text x="10" y="${y + 14}">${name}</text><rect x="110" y="${y}" width="${w.toFixed(1)}" height="16" fill="${name.startsWith('signet') ? '#087f23' : '#8a8f98'}"/><text x="${(116 + w).toFixed(1)}" y="${y + 13}">${fmt(v, unit == 'ms' ? 1 : 0)} ${unit}</text>`
    }).join('')
  )
}
const h = 2 * (24 + TRACKERS.length * 22) + 30
writeFileSync(
  join(ROOT, 'bench/chart.svg'),
  `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${h}" font-family="system-ui,sans-serif" font-size="13"><rect width="100%" height="100%" fill="#fff"/>` +
    bars('Downloaded, gzip', (n) => results[n].gzip, 'B', 20) +
    bars(`Load + init (median of ${RUNS})`, (n) => results[n].medians.init, 'ms', 20 + 24 + TRACKERS.length * 22 + 20) +
    '</svg>\n',
)
console.log(readFileSync(join(ROOT, 'bench/results.md'), 'utf8'))
