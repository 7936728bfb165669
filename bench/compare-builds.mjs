// Whether a change made the tracker slower: dist/tracker.js against tracker.js built at an earlier
// commit, on the measures of `npm run bench` (load + init at 4× CPU; main-thread time of 1,000
// event calls), the two builds taking turns in fresh pages so a slow stretch of the machine falls on
// both. A ratio between two builds of the same tracker in one run is steadier than two ratios to a
// peer taken in different runs.
// Run after a build: `node bench/compare-builds.mjs <commit>` (BENCH_RUNS, default 30).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { launchChromium, median } from './browser.mjs'
import { eventCallsInPage, startInPage } from './start.mjs'

const ref = process.argv[2]
if (!ref) {
  console.error('compare-builds: name the commit to compare with, e.g. node bench/compare-builds.mjs HEAD~3')
  process.exit(2)
}
const RUNS = Number(process.env.BENCH_RUNS || 30)
const EVENTS = 1000
const ROOT = new URL('..', import.meta.url).pathname

// The earlier tracker, built by that commit's own rollup config in a worktree of its own.
const tree = mkdtempSync(join(tmpdir(), 'signet-compare-'))
let before
try {
  execFileSync('git', ['worktree', 'add', '--detach', tree, ref], { cwd: ROOT, stdio: 'ignore' })
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'))
  execFileSync('npx', ['rollup', '-c', '--silent'], { cwd: tree, stdio: ['ignore', 'ignore', 'inherit'] })
  before = readFileSync(join(tree, 'dist/tracker.js'))
} catch (e) {
  console.error(`compare-builds: no tracker.js built at ${ref}: ${String(e.message).split('\n')[0]}`)
} finally {
  rmSync(tree, { recursive: true, force: true })
  execFileSync('git', ['worktree', 'prune'], { cwd: ROOT, stdio: 'ignore' })
}
if (!before) process.exit(1)
const files = { [ref]: before, 'dist/tracker.js': readFileSync(join(ROOT, 'dist/tracker.js')) }
const names = Object.keys(files)

// Each build under a path of its own (/0/signet/tracker.js, /1/…), its events answered by a stub.
const server = createServer((req, res) => {
  const [, n, rest] = req.url.match(/^\/(\d)(\/.*)$/) || []
  if (rest == '/signet/tracker.js')
    return res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' }).end(files[names[n]])
  if (rest == '/track') return req.resume().on('end', () => res.writeHead(200, { 'Access-Control-Allow-Origin': '*' }).end('{"accepted":0,"rejected":[]}'))
  res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><html><head><meta charset="utf-8"><title>Bench page</title></head><body></body></html>')
})
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const origin = `http://127.0.0.1:${server.address().port}`
const browser = await launchChromium()

async function inPage(fn, throttle) {
  const context = await browser.newContext()
  const page = await context.newPage()
  if (throttle > 1) await (await context.newCDPSession(page)).send('Emulation.setCPUThrottlingRate', { rate: throttle })
  await page.goto(origin + '/page')
  try {
    return await fn(page)
  } finally {
    await context.close()
  }
}

const times = names.map(() => ({ init4x: [], events: [] }))
// Run -1 warms the browser up and is not counted.
for (let i = -1; i < RUNS; i++) {
  for (const n of i % 2 ? [1, 0] : [0, 1]) {
    const start = (page) => page.evaluate(startInPage, { name: 'signet', base: `${origin}/${n}` })
    const init4x = await inPage(start, 4)
    const { ms: events } = await inPage(async (page) => {
      await start(page)
      return page.evaluate(eventCallsInPage, EVENTS)
    }, 1)
    if (i < 0) continue
    times[n].init4x.push(init4x)
    times[n].events.push(events)
  }
}
await browser.close()
server.close()

const row = (label, key) => {
  const [a, b] = times.map((t) => median(t[key]))
  return `| ${label} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}× |`
}
console.log(`${RUNS} runs each, taking turns; medians in ms; ratio: dist/tracker.js to ${ref}\n`)
console.log(`| measure | ${ref} | dist/tracker.js | ratio |\n| --- | --- | --- | --- |`)
console.log(`| gzip B | ${names.map((n) => gzipSync(files[n], { level: 9 }).length.toLocaleString('en')).join(' | ')} | |`)
console.log(row('load + init, 4× CPU', 'init4x'))
console.log(row(`${EVENTS.toLocaleString('en')} event calls`, 'events'))
