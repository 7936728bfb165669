// npm run bench:console: the operator's console over a full store. A store (SQLite, and PostgreSQL
// with SIGNET_BENCH_DATABASE_URL) is filled with BENCH_FILL events (default 2,500,000) over 60 days,
// 1,000,000 of them older than 35 days, and summed up; `signet collector` is started on it and each
// view of the console is asked for over HTTP, as the dashboard asks. Then ingestion is measured
// twice in the same run: on the collector as it is, and after a restart with --retention-days 35,
// whose purge of those old events runs while the load goes on. Writes bench/console.md.
import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '../dist/server.mjs'
import { progress } from './progress.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FILL = Number(process.env.BENCH_FILL || 2_500_000)
const OLD = Math.round(FILL * 0.4)
const PG_URL = process.env.SIGNET_BENCH_DATABASE_URL
const PROJECT = 'GSN-BENCH-1'
const SECRET = randomBytes(16).toString('hex')
const TOKEN = randomBytes(16).toString('hex')
const PEOPLE = 20_000
const DAY = 86_400_000
const TIMES = 7
const LOAD_SECONDS = 8
const require = createRequire(import.meta.url)

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

/** The benchmark's typical traffic: pageviews, events and purchases of 20,000 people (60% verified), on 200 pages, from 10 referrers, on 12 kinds of device. */
// What pageviews came from (device.ts's labels), the first far more often than the last.
const DEVICES = ['Chrome|Windows|desktop', 'Mobile Safari|iOS|mobile', 'Chrome|Android|mobile', 'Safari|Mac OS|desktop', 'Chrome|Mac OS|desktop', 'Edge|Windows|desktop', 'Firefox|Windows|desktop', 'Mobile Safari|iOS|tablet', 'Samsung Browser|Android|mobile', 'Firefox|Linux|desktop', 'Chrome|Linux|desktop', 'Opera|Windows|desktop']

function events(from, count, timeOf) {
  const list = []
  for (let i = 0; i < count; i++) {
    const n = from + i
    const receivedAt = Math.round(timeOf(n))
    const who = n % PEOPLE
    const verified = who % 10 < 6
    list.push({
      id: n.toString(16).padStart(12, '0') + 'e'.repeat(20),
      // One event in 100 a purchase.
      type: n % 100 == 1 ? 'transaction' : n % 4 ? 'event' : 'pageview',
      ts: receivedAt - 50,
      anonymousId: `anon-${who}`,
      ...(verified && { personId: `person-${who}@example.com` }),
      ...(n % 4 && { name: `event_${n % 20}`, props: { sku: `SKU-${n % 500}`, price: 19.99 } }),
      ...(n % 100 == 1 && { name: `order-${n}`, props: { revenue: 10 + (n % 90), quantity: 1 } }),
      page: { url: `https://shop.example.com/products/${n % 200}?ref=home`, title: `Product ${n % 200}`, referrer: `https://site${n % 10}.example/` },
      project: PROJECT,
      receivedAt,
      time: receivedAt - 50,
      verdict: verified ? 'verified' : 'anonymous',
      ip: `203.0.${n % 250}.0`,
      device: DEVICES[Math.floor(DEVICES.length * ((n * 7919) % 1000 / 1000) ** 2)],
    })
  }
  return list
}

async function pgSchema() {
  const pg = require('pg')
  const schema = `signet_bench_${randomBytes(4).toString('hex')}`
  const sql = async (url, text) => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      return (await c.query(text)).rows
    } finally {
      await c.end()
    }
  }
  await sql(PG_URL, `CREATE SCHEMA ${schema}`)
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.href,
    size: async () => Number((await sql(url.href, `SELECT sum(pg_total_relation_size(c.oid))::bigint AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = '${schema}' AND c.relkind = 'r'`))[0].n),
    drop: () => sql(PG_URL, `DROP SCHEMA ${schema} CASCADE`),
  }
}

/** `signet collector` on the store; resolves once it listens. */
function collector(env, args = []) {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.mjs'), 'collector', '--port', '0', '--project', PROJECT, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, SIGNET_SECRET: SECRET, SIGNET_DASHBOARD_TOKEN: TOKEN, ...env },
  })
  let log = ''
  let purgedAt
  const exited = new Promise((resolve) => child.on('exit', resolve))
  const url = new Promise((resolve, reject) => {
    const read = (d) => {
      log += d
      if (!purgedAt && /Deleted \d+ events/.test(log)) purgedAt = performance.now()
      const m = /Collector: (http:\/\/\S+)\/track/.exec(log)
      if (m) resolve(m[1])
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    exited.then((code) => reject(new Error(`collector exited ${code}\n${log}`)))
  })
  return { url, log: () => log, purgedAt: () => purgedAt, stop: async () => (child.exitCode === null && child.kill('SIGTERM'), await exited) }
}

/** The load of bench/collector.mjs for LOAD_SECONDS, in its own process; resolves to its figures. */
function load(url) {
  const child = spawn(process.execPath, [join(ROOT, 'bench/load.mjs'), '--url', url + '/track', '--secret', SECRET, '--project', PROJECT, '--seconds', String(LOAD_SECONDS)])
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  return new Promise((resolve, reject) => child.on('exit', (code) => (code ? reject(new Error(out)) : resolve(JSON.parse(out)))))
}

const VIEWS = [
  ['overview, 24 h', '/api/overview?period=24h'],
  ['overview, 7 days', '/api/overview?period=7d'],
  ['overview, 30 days', '/api/overview?period=30d'],
  ['overview, 60 days (custom)', null],
  ['people, 30 days', '/api/people?period=30d'],
  ['people, id prefix', '/api/people?period=30d&prefix=person-123'],
  ['people, search by part of an id', '/api/people?period=30d&search=son-123'],
  ['people, search by a property (key=value)', '/api/people?period=30d&search=plan%3Dpro'],
  ['a person', '/api/people/person-1234%40example.com'],
  ['a person’s timeline', '/api/people/person-1234%40example.com/events'],
  ['a person’s timeline, page 3', '/api/people/person-1234%40example.com/events?offset=100'],
  ['pages and events, 30 days', '/api/pages?period=30d'],
  ['goals, 30 days (3 event names)', '/api/goals?period=30d&name=event_1&name=event_2&name=event_3'],
  ['security, 30 days', '/api/security?period=30d'],
]

async function engine(name, options, env, size, drop) {
  const now = Date.now()
  const first = now - 60 * DAY
  const cut = now - 35 * DAY - DAY
  const filling = progress(`${name}: filling`, FILL)
  const store = await openStore(options)
  let started = performance.now()
  const BATCH = 5000
  for (let n = 0; n < FILL; ) {
    // The first OLD events before the retention's cut, the rest spread over the last 30 days.
    const count = Math.min(BATCH, FILL - n)
    const batch =
      n < OLD
        ? events(n, Math.min(count, OLD - n), (k) => first + ((cut - first) * k) / OLD)
        : events(n, count, (k) => now - 30 * DAY + (30 * DAY * (k - OLD)) / (FILL - OLD))
    // Refused attempts that claimed someone: a forged signature now and then.
    const rejected = n % 50_000 >= BATCH ? [] : Array.from({ length: 200 }, (_, i) => ({ project: PROJECT, reason: i % 3 ? 'bad_signature' : 'expired_signature', personId: `person-${i}@example.com`, receivedAt: now - (i % 30) * DAY, ip: `198.51.100.${i % 50}`, origin: 'https://evil.example' }))
    await store.add(batch, rejected)
    filling.tick(`${fmt(n + batch.length)} events`, batch.length)
    n += batch.length
  }
  filling.stop()
  const fillSeconds = (performance.now() - started) / 1000
  started = performance.now()
  await store.rollUp()
  const rollUpSeconds = (performance.now() - started) / 1000
  await store.close()
  const bytes = await size()
  console.log(`${name}: filled in ${fillSeconds.toFixed(0)} s, summed up in ${rollUpSeconds.toFixed(0)} s, ${fmt(bytes / 2 ** 20)} MB`)

  const server = collector(env)
  const base = await server.url
  const views = []
  // Each view's figures, printed once all are measured (a bar meanwhile, on a terminal).
  const viewLines = []
  const timing = progress(`${name}: views`, VIEWS.length)
  for (const [label, path] of VIEWS) {
    const day = (t) => new Date(t).toISOString().slice(0, 10)
    const url = `${base}${path || `/api/overview?from=${day(first)}&to=${day(now)}`}${path && !path.includes('?') ? '?' : '&'}project=${PROJECT}`
    const times = []
    let answer
    for (let i = 0; i < TIMES; i++) {
      const t = performance.now()
      const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })
      answer = await res.text()
      if (res.status != 200) throw new Error(`${label}: ${res.status} ${answer}`)
      times.push(performance.now() - t)
    }
    views.push({ label, median: median(times), max: Math.max(...times), bytes: answer.length })
    viewLines.push(`  ${label}: median ${median(times).toFixed(1)} ms, slowest ${Math.max(...times).toFixed(1)} ms`)
    timing.tick(label)
  }
  timing.stop()
  console.log(viewLines.join('\n'))
  // The live view: the time to its first message (the counters and the latest rows).
  const streamTimes = []
  for (let i = 0; i < TIMES; i++) {
    const t = performance.now()
    const res = await fetch(`${base}/api/stream?project=${PROJECT}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    const reader = res.body.getReader()
    let text = ''
    while (!text.includes('event: snapshot')) text += new TextDecoder().decode((await reader.read()).value)
    streamTimes.push(performance.now() - t)
    await reader.cancel()
  }
  views.push({ label: 'live view, first snapshot', median: median(streamTimes), max: Math.max(...streamTimes) })

  const plain = await load(base)
  await server.stop()
  // The same collector restarted with a retention that deletes the OLD events: the load meanwhile.
  const purging = collector(env, ['--retention-days', '35'])
  const purgeBase = await purging.url
  const t = performance.now()
  const during = await load(purgeBase)
  const purgeEndedAfterLoad = !purging.purgedAt()
  for (let i = 0; i < 6000 && !purging.purgedAt(); i++) await new Promise((r) => setTimeout(r, 100))
  const deleted = Number(/Deleted (\d+) events/.exec(purging.log())?.[1] || 0)
  const purgeSeconds = (purging.purgedAt() - t) / 1000
  await purging.stop()
  await drop()
  return { name, fillSeconds, rollUpSeconds, bytes, views, plain, during, deleted, purgeSeconds, purgeEndedAfterLoad }
}

const results = []
{
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-console-'))
  const file = join(dir, 'signet.db')
  const size = async () => ['', '-wal'].reduce((sum, s) => sum + (statSync(file + s, { throwIfNoEntry: false })?.size || 0), 0)
  results.push(await engine('SQLite', { file }, { SIGNET_DB: file }, size, async () => rmSync(dir, { recursive: true, force: true })))
}
if (PG_URL) {
  const db = await pgSchema()
  results.push(await engine('PostgreSQL', { url: db.url }, { SIGNET_DATABASE_URL: db.url }, db.size, db.drop))
}

const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] || 'unknown CPU'
const lines = [
  '# The operator’s console over a full store',
  '',
  `\`npm run bench:console\`, ${new Date().toISOString().slice(0, 10)}: ${cpu}, Node ${process.version}.`,
  `Each store holds ${fmt(FILL)} events over 60 days (${fmt(OLD)} of them older than 35 days; ${fmt(PEOPLE)} people, 60% verified; 200 pages,`,
  '20 event names, 10 referrers, 12 browser/system/device labels, a purchase in 100) and refused attempts, summed up; `signet collector` (1 worker) serves it. Each view is asked for',
  `${TIMES} times over HTTP with the token, as the dashboard asks (the summaries' catch-up included); median and slowest.`,
  '',
  `| view | ${results.map((r) => `${r.name} median ms | slowest ms`).join(' | ')} |`,
  `| --- | ${results.map(() => '--- | ---').join(' | ')} |`,
  ...results[0].views.map((v, i) => `| ${v.label} | ${results.map((r) => `${r.views[i].median.toFixed(1)} | ${r.views[i].max.toFixed(1)}`).join(' | ')} |`),
  '',
  '## Filling, summing up, purging',
  '',
  `Ingestion: bench/load.mjs (32 senders, signed batches of 20) for ${LOAD_SECONDS} s against the collector on the full store, then against it`,
  `restarted with \`--retention-days 35\`, whose purge of ${fmt(OLD)} events (chunks of 1,000 on SQLite, each followed by a pause twice its time, and 5,000 on PostgreSQL) starts with it.`,
  '',
  `| | ${results.map((r) => r.name).join(' | ')} |`,
  `| --- | ${results.map(() => '---').join(' | ')} |`,
  `| store filled (store.add, 5,000 a call) | ${results.map((r) => `${fmt(r.fillSeconds)} s`).join(' | ')} |`,
  `| summaries caught up from nothing | ${results.map((r) => `${fmt(r.rollUpSeconds)} s (${fmt(FILL / r.rollUpSeconds)} events/s)`).join(' | ')} |`,
  `| size (tables and indexes) | ${results.map((r) => `${fmt(r.bytes / 2 ** 20)} MB`).join(' | ')} |`,
  `| ingestion, no purge | ${results.map((r) => `${fmt(r.plain.rate)} events/s, p99 ${r.plain.p99.toFixed(0)} ms`).join(' | ')} |`,
  `| ingestion while purging | ${results.map((r) => `${fmt(r.during.rate)} events/s (${(r.during.rate / r.plain.rate).toFixed(2)}×), p99 ${r.during.p99.toFixed(0)} ms (${(r.during.p99 / r.plain.p99).toFixed(2)}×)`).join(' | ')} |`,
  `| purge | ${results.map((r) => `${fmt(r.deleted)} events in ${r.purgeSeconds.toFixed(1)} s${r.purgeEndedAfterLoad ? ' (went on after the load)' : ' (ended within the load)'}`).join(' | ')} |`,
  '',
]
writeFileSync(join(ROOT, 'bench/console.md'), lines.join('\n'))
console.log(lines.join('\n'))
