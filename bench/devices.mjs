// Issue 34: where a request's User-Agent header becomes the console's browser, system and device
// type. (a) At ingestion: the collector's handler parses each request's header (remembering headers
// it has seen) and keeps a short label with each event. (b) In the summaries: each event keeps the
// header, and the summing up parses it. Measured here, in one run, against a baseline of no device
// at all (schema 5): the handler's time per event, the summing up's parsing, and the bytes each
// stored event takes on SQLite. Writes bench/devices.md.
//
// npm run build && node bench/devices.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSignetHandler, openStore } from '../dist/server.mjs'
import { progress } from './progress.mjs'

const require = createRequire(import.meta.url)
const Database = require('better-sqlite3')
const UAParser = require('ua-parser-js')

const EVENTS = Number(process.env.BENCH_EVENTS || 100_000)
const PER_REQUEST = 20
const ROUNDS = 5

// Headers as a site's visitors send them: browsers in several versions on several systems, the
// most common far more often than the rest (a Zipf-like draw over the list).
const HEADERS = []
for (let v = 120; v < 132; v++) {
  HEADERS.push(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`)
  HEADERS.push(`Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`)
  HEADERS.push(`Mozilla/5.0 (Linux; Android 14; Pixel ${v % 9}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Mobile Safari/537.36`)
  HEADERS.push(`Mozilla/5.0 (X11; Linux x86_64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`)
  HEADERS.push(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36 Edg/${v}.0.0.0`)
}
for (let v = 15; v < 19; v++) {
  HEADERS.push(`Mozilla/5.0 (iPhone; CPU iPhone OS ${v}_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v}.0 Mobile/15E148 Safari/604.1`)
  HEADERS.push(`Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v}.0 Safari/605.1.15`)
}
let seed = 7
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
const draw = () => HEADERS[Math.floor(HEADERS.length * random() ** 3)]

const SECRET = 'bench-devices'
const projects = { P: { secureMode: 'off', secrets: [SECRET] } }
const now = Date.now()
const bodies = []
for (let r = 0; r < EVENTS / PER_REQUEST; r++)
  bodies.push({
    ua: draw(),
    body: JSON.stringify({
      v: 1,
      project: 'P',
      events: Array.from({ length: PER_REQUEST }, (_, i) => ({ id: `${r}-${i}`.padStart(32, '0'), type: 'pageview', ts: now, anonymousId: `a${r % 500}`, page: { url: `https://shop.test/p/${i}`, title: 'A page' } })),
    }),
  })

/** The handler's time for every request, with or without the header; what it accepted. */
async function ingest(withHeader) {
  const accepted = []
  const signet = createSignetHandler({ projects, budget: false, onEvents: (events) => void accepted.push(...events) })
  const started = performance.now()
  for (const { ua, body } of bodies) await signet.handle(body, '203.0.113.9', withHeader ? ua : undefined)
  return { ms: performance.now() - started, accepted }
}

/** The summing up's parsing under (b): each event's header to its label, headers seen remembered (as the handler does). */
function parseInSummaries(events) {
  const known = new Map()
  const started = performance.now()
  for (const e of events) {
    let label = known.get(e.header)
    if (label === undefined) {
      const { browser, os, device } = new UAParser(e.header).getResult()
      label = [browser.name, os.name, device.type || 'desktop'].join('|')
      known.set(e.header, label)
    }
  }
  return performance.now() - started
}

/** Bytes per event of a SQLite store holding these records: the events table and its indexes, and the whole file's pages. */
async function bytesPerEvent(records) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-devices-'))
  try {
    const store = await openStore({ file: join(dir, 'signet.db'), log: () => {} })
    for (let i = 0; i < records.length; i += 5000) await store.add(records.slice(i, i + 5000))
    await store.close()
    const db = new Database(join(dir, 'signet.db'))
    db.pragma('wal_checkpoint(TRUNCATE)')
    const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all()
    db.close()
    const events = rows.filter((r) => /^signet_events|^sqlite_autoindex_signet_events/.test(r.name)).reduce((s, r) => s + r.bytes, 0)
    return { events: events / records.length, all: rows.reduce((s, r) => s + r.bytes, 0) / records.length }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const times = { none: [], label: [], summaries: [] }
let labelled
let bare
const rounds = progress('devices: rounds', ROUNDS)
for (let round = 0; round < ROUNDS; round++) {
  // Turn about, so that neither gets the warmer machine.
  const first = round % 2 ? [true, false] : [false, true]
  for (const withHeader of first) {
    const { ms, accepted } = await ingest(withHeader)
    times[withHeader ? 'label' : 'none'].push(ms)
    if (withHeader) labelled = accepted
    else bare = accepted
  }
  times.summaries.push(parseInSummaries(bodies.flatMap(({ ua }) => Array.from({ length: PER_REQUEST }, () => ({ header: ua })))))
  rounds.tick(`round ${round + 1}`)
}
rounds.stop()
const perEvent = (ms) => (1000 * ms) / EVENTS
const base = median(times.none)
const uncached = (() => {
  const started = performance.now()
  for (let i = 0; i < 2000; i++) new UAParser(HEADERS[i % HEADERS.length] + ' ' + i).getResult()
  return (1000 * (performance.now() - started)) / 2000
})()

// Bytes: no device (schema 5's events), the label (a), the whole header (b).
const bytes = {
  none: await bytesPerEvent(bare),
  label: await bytesPerEvent(labelled),
  header: await bytesPerEvent(labelled.map((e, i) => ({ ...e, device: bodies[Math.floor(i / PER_REQUEST)].ua }))),
}
const f = (n, d = 2) => n.toFixed(d)
const ratio = (n, of) => `${f(n / of)}×`
const table = [
  `# Devices: parsed at ingestion or in the summaries`,
  '',
  `\`node bench/devices.mjs\`, ${new Date().toISOString().slice(0, 10)}: Node ${process.version}. ${EVENTS.toLocaleString('en-US')} pageviews in requests of ${PER_REQUEST}, each request with one of`,
  `${HEADERS.length} User-Agent headers (the most common far more often); ${ROUNDS} rounds, turn about, medians. Baseline: the same requests`,
  'through the same handler with no header (no device: schema 5).',
  '',
  '| | µs per event | against the baseline |',
  '| --- | --- | --- |',
  `| handler, no header (baseline) | ${f(perEvent(base))} | 1.00× |`,
  `| (a) handler, header parsed per request into a label (what the collector does) | ${f(perEvent(median(times.label)))} | ${ratio(median(times.label), base)} |`,
  `| (b) summing up, each event's header parsed (headers seen remembered) | ${f(perEvent(median(times.summaries)))} | ${ratio(base + median(times.summaries), base)} (with the handler's) |`,
  `| one header parsed, not remembered (ua-parser-js 1.x) | ${f(uncached)} per header | |`,
  '',
  '| stored on SQLite | events table and indexes, B/event | whole store, B/event |',
  '| --- | --- | --- |',
  `| no device (baseline) | ${f(bytes.none.events, 1)} | ${f(bytes.none.all, 1)} |`,
  `| (a) the label (\`Chrome\\|Windows\\|desktop\`) | ${f(bytes.label.events, 1)} (${ratio(bytes.label.events, bytes.none.events)}) | ${f(bytes.label.all, 1)} (${ratio(bytes.label.all, bytes.none.all)}) |`,
  `| (b) the whole header | ${f(bytes.header.events, 1)} (${ratio(bytes.header.events, bytes.none.events)}) | ${f(bytes.header.all, 1)} (${ratio(bytes.header.all, bytes.none.all)}) |`,
  '',
  'Both keep a number per event in the events table, the string once in the dictionary; (b) keeps every header seen',
  '(more text, and a step towards fingerprinting a visitor) and parses it per event, where (a) parses once per request.',
  'Where neither costs more than this run can tell apart, the collector does (a), for what it does not keep.',
  '',
]
writeFileSync(new URL('devices.md', import.meta.url), table.join('\n'))
console.log(table.join('\n'))
