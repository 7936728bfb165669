// npm run bench:collector: the reference collector under load, against a bare node:http server that
// parses, verifies each HMAC and appends to a file (bench/bare-server.mjs), and on PostgreSQL against
// a floor that parses and verifies as the collector does and inserts each batch with one statement
// into a minimal table (bench/pg-floor-server.mjs), in one run. 32 senders
// (bench/load.mjs, its own process) post signed batches of 20 events. The configurations take turns
// for ROUNDS rounds, so a slow stretch of the machine slows all of them; each figure is the median
// of its rounds, each ratio the median of the per-round ratios to the bare server. Then the SQLite
// store is filled to 2.5 million events, the collector restarted on it, and its memory and restart
// time read, and the bytes each stored event takes on each engine. Writes bench/collector.md.
// PostgreSQL rows run when SIGNET_BENCH_DATABASE_URL is set (each run in a schema of its own,
// dropped after); PostgreSQL's CPU is that of the server's processes on this machine (pgrep -u postgres).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes, createHmac } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../dist/server.mjs'
import { progress } from './progress.mjs'

const ROOT = new URL('..', import.meta.url).pathname
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3)
const SECONDS = Number(process.env.BENCH_SECONDS || 8)
const FILL = Number(process.env.BENCH_FILL || 2_500_000)
const PG_URL = process.env.SIGNET_BENCH_DATABASE_URL
const SECRET = randomBytes(16).toString('hex')
const PROJECT = 'GSN-BENCH-1'
const require = createRequire(import.meta.url)
const Sqlite = require('better-sqlite3')
const pg = PG_URL ? require('pg') : undefined

/** Starts a server; resolves once it prints its collect URL. */
function start(args, env) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, SIGNET_SECRET: SECRET, SIGNET_PROJECT: PROJECT, ...env } })
  let log = ''
  const started = Date.now()
  const exited = new Promise((resolve) => child.on('exit', resolve))
  const url = new Promise((resolve, reject) => {
    const read = (d) => {
      log += d
      const m = /Collector: (http:\/\/\S+\/track)/.exec(log)
      if (m) resolve({ url: m[1], ms: Date.now() - started })
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    exited.then((code) => reject(new Error(`${args.join(' ')} exited ${code}\n${log}`)))
  })
  url.catch(() => {})
  return {
    url,
    pids: () => [child.pid, ...(/pids ([\d, ]+)\)/.exec(log)?.[1].split(', ').map(Number) || [])],
    stop: async () => (child.exitCode === null && child.kill('SIGTERM'), { code: await exited }),
    log: () => log,
  }
}

const status = (pid, key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] || 0) / 1024
/** Resident memory of the server's processes together, in MB, now. */
const rss = (server) => server.pids().reduce((sum, pid) => sum + status(pid, 'VmRSS'), 0)
/** CPU time of the server's processes together (every thread), in ms. */
const cpuOf = (pids) =>
  pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return sum + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
    } catch {
      return sum // a backend that ended meanwhile
    }
  }, 0)
const cpu = (server) => cpuOf(server.pids())
/** CPU time of the PostgreSQL server's processes on this machine, in ms. */
const pgCpu = () => cpuOf((spawnSync('pgrep', ['-u', 'postgres', 'postgres'], { encoding: 'utf8' }).stdout || '').split('\n').filter(Boolean).map(Number))

function load(url, args) {
  // Its stderr is this one's: its progress bar, or why it failed.
  const r = spawnSync(process.execPath, [join(ROOT, 'bench/load.mjs'), '--url', url, '--secret', SECRET, '--project', PROJECT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status) throw new Error(`bench/load.mjs exited ${r.status}`)
  return JSON.parse(r.stdout)
}

async function pgSchema() {
  const schema = `signet_bench_${randomBytes(4).toString('hex')}`
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`CREATE SCHEMA ${schema}`)
  await client.end()
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  const sql = async (text) => {
    const c = new pg.Client({ connectionString: url.href })
    await c.connect()
    try {
      return (await c.query(text)).rows
    } finally {
      await c.end()
    }
  }
  return {
    url: url.href,
    count: async (table = 'signet_events') => Number((await sql(`SELECT count(*) AS n FROM ${table}`))[0].n),
    // Every table and index of the schema (the events' partitions, the dictionary, the summaries), after a VACUUM.
    bytes: async () => {
      await sql('VACUUM')
      const rows = await sql(`SELECT c.relname AS name, pg_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}'`)
      const events = rows.filter((r) => r.name.startsWith('signet_events_y')).reduce((sum, r) => sum + Number(r.bytes), 0)
      return { events, all: rows.reduce((sum, r) => sum + Number(r.bytes), 0) }
    },
    drop: () => sql(`DROP SCHEMA ${schema} CASCADE`),
  }
}

/** The events table and its indexes, and every page of the file, in bytes (SQLite's dbstat). */
const sqliteBytes = (file) => {
  const db = new Sqlite(file, { readonly: true })
  try {
    const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all()
    return { events: rows.filter((r) => /^signet_events|^sqlite_autoindex_signet_events/.test(r.name)).reduce((s, r) => s + r.bytes, 0), all: rows.reduce((s, r) => s + r.bytes, 0) }
  } finally {
    db.close()
  }
}

const sqliteCount = (file) => {
  const db = new Sqlite(file, { readonly: true })
  try {
    return db.prepare('SELECT count(*) AS n FROM signet_events').get().n
  } finally {
    db.close()
  }
}

// What SQLite's secure_delete (erasure: what is deleted or overwritten is zeroed) costs ingestion:
// the collector built without it, a copy of dist/ with the pragma turned off, measured turn about.
// Inside node_modules, so that the copy finds the packages dist/ does.
const VARIANT = join(ROOT, 'node_modules/.cache/signet-bench/dist-no-secure-delete')
rmSync(VARIANT, { recursive: true, force: true })
cpSync(join(ROOT, 'dist'), VARIANT, { recursive: true })
const sqliteChunk = join(VARIANT, 'lib/sqlite.mjs')
const patched = readFileSync(sqliteChunk, 'utf8').replaceAll("secure_delete = ON'", "secure_delete = OFF'")
if (!patched.includes('secure_delete = OFF')) throw new Error('bench: no secure_delete pragma in dist/lib/sqlite.mjs to turn off')
writeFileSync(sqliteChunk, patched)

const CONFIGS = [
  { name: 'bare node:http: parse, verify, append', bare: true },
  { name: 'collector, SQLite, 1 worker', workers: 1 },
  { name: 'collector, SQLite, 2 workers', workers: 2 },
  { name: 'collector, SQLite, 1 worker, secure_delete off', workers: 1, dist: VARIANT, without: 'collector, SQLite, 1 worker' },
  { name: 'collector, SQLite, 2 workers, secure_delete off', workers: 2, dist: VARIANT, without: 'collector, SQLite, 2 workers' },
  ...(PG_URL
    ? [
        { name: 'PostgreSQL floor: parse and verify as the collector, one INSERT … ON CONFLICT a batch', pg: true, floor: true },
        { name: 'collector, PostgreSQL, 1 worker', workers: 1, pg: true },
        { name: 'collector, PostgreSQL, 2 workers', workers: 2, pg: true },
        // Two processes on different ports, as on two machines, and every batch sent to both of them.
        { name: 'two collectors, one PostgreSQL, each batch sent to both', workers: 1, pg: true, two: true },
      ]
    : []),
]

async function measure(config) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-collector-'))
  const db = config.pg ? await pgSchema() : undefined
  const collector = () =>
    start([join(config.dist || 'dist', 'cli.mjs'), 'collector', '--port', '0', '--workers', String(config.workers), '--db', join(dir, 'signet.db')], db ? { SIGNET_DATABASE_URL: db.url } : {})
  const servers = config.bare
    ? [start(['bench/bare-server.mjs'], { BARE_FILE: join(dir, 'events.jsonl'), BARE_SECRET: SECRET })]
    : config.floor
      ? [start(['bench/pg-floor-server.mjs'], { FLOOR_DATABASE_URL: db.url, FLOOR_SECRET: SECRET, FLOOR_PROJECT: PROJECT })]
      : config.two
        ? [collector(), collector()]
        : [collector()]
  // The figures of several processes are their sums.
  const server = { pids: () => servers.flatMap((s) => s.pids()), stop: async () => (await Promise.all(servers.map((s) => s.stop())))[0] }
  try {
    const urls = (await Promise.all(servers.map((s) => s.url))).map((u) => u.url)
    const [before, pgBefore] = [cpu(server), db && pgCpu()]
    const r = load(urls.join(','), ['--seconds', String(SECONDS), ...(config.two ? ['--twice'] : [])])
    const [used, pgUsed] = [cpu(server) - before, db && pgCpu() - pgBefore]
    const memory = rss(server)
    await server.stop()
    const stored = config.bare ? r.acked : config.floor ? await db.count('floor_events') : db ? await db.count() : sqliteCount(join(dir, 'signet.db'))
    // Bytes per stored event, of the one-worker collectors.
    const bytes = config.bare || config.floor || config.workers != 1 || config.two ? undefined : db ? await db.bytes() : sqliteBytes(join(dir, 'signet.db'))
    const perEvent = bytes && { events: bytes.events / stored, all: bytes.all / stored }
    const pgCpuUs = db && (pgUsed * 1000) / r.acked
    return { rate: r.rate, p50: r.p50, p99: r.p99, rss: memory, cpuUs: (used * 1000) / r.acked, pgCpuUs, acked: r.acked, failures: r.failures, stored, perEvent }
  } finally {
    await server.stop()
    await db?.drop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const results = CONFIGS.map(() => [])
// Each round's figures, printed once every round has run (a bar meanwhile, on a terminal).
const roundLines = []
const rounds = progress('rounds', ROUNDS * CONFIGS.length)
for (let round = 0; round < ROUNDS; round++)
  for (const [i, config] of CONFIGS.entries()) {
    const r = await measure(config)
    results[i].push(r)
    rounds.tick(`round ${round + 1}: ${config.name}`)
    roundLines.push(
      `round ${round + 1}: ${config.name}: ${Math.round(r.rate)} events/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.rss.toFixed(0)} MB, stored ${r.stored} of ${r.acked} acknowledged` +
        (r.pgCpuUs ? `, PostgreSQL CPU ${r.pgCpuUs.toFixed(1)} µs/event` : '') +
        (r.perEvent ? `, ${r.perEvent.events.toFixed(0)} B/event (store ${r.perEvent.all.toFixed(0)})` : ''),
    )
  }
rounds.stop()
console.log(roundLines.join('\n'))

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const rows = CONFIGS.map((config, i) => {
  const rs = results[i]
  const ratio = (key) => median(rs.map((r, round) => r[key] / results[0][round][key]))
  return {
    name: config.name,
    rate: median(rs.map((r) => r.rate)),
    rateRatio: ratio('rate'),
    p50: median(rs.map((r) => r.p50)),
    p50Ratio: ratio('p50'),
    p99: median(rs.map((r) => r.p99)),
    p99Ratio: ratio('p99'),
    rss: median(rs.map((r) => r.rss)),
    rssRatio: ratio('rss'),
    cpuUs: median(rs.map((r) => r.cpuUs)),
    pgCpuUs: rs[0].pgCpuUs === undefined ? undefined : median(rs.map((r) => r.pgCpuUs)),
    perEvent: rs[0].perEvent && { events: median(rs.map((r) => r.perEvent.events)), all: median(rs.map((r) => r.perEvent.all)) },
    lost: rs.reduce((sum, r) => sum + Math.max(0, r.acked - r.stored), 0),
    extra: rs.reduce((sum, r) => sum + Math.max(0, r.stored - r.acked), 0),
  }
})

// Fill: the default collector (SQLite, 1 worker) to FILL events, a restart, and what it holds.
console.log(`filling a SQLite store to ${FILL} events`)
const dir = mkdtempSync(join(tmpdir(), 'signet-bench-fill-'))
const file = join(dir, 'signet.db')
const args = ['dist/cli.mjs', 'collector', '--port', '0', '--db', file]
let server = start(args, {})
let { url } = await server.url
const tenth = load(url, ['--total', String(FILL / 10)])
const rssTenth = rss(server)
const rest = load(url, ['--total', String(FILL - FILL / 10)])
const rssFull = rss(server)
const acked = tenth.acked + rest.acked
const stopped = await server.stop()
const size = (await import('node:fs')).statSync(file).size
const fillBytes = sqliteBytes(file)
server = start(args, {})
const restarted = await server.url
url = restarted.url
const rssRestart = rss(server)
// What was stored before the restart, sent again: accepted, and not stored twice.
const reader = await openStore({ file, readonly: true })
const again = (await reader.recent(PROJECT, { limit: 20 })).reverse()
await reader.close()
const body = JSON.stringify({
  v: 1,
  project: PROJECT,
  sentAt: Date.now(),
  events: again.map(({ id, type, ts, anonymousId, personId, name, props, page }) => ({
    ...{ id, type, ts, anonymousId, personId, name, props, page },
    signature: personId && createHmac('sha256', SECRET).update(personId).digest('hex'),
  })),
})
const answer = await (await fetch(url, { method: 'POST', body })).json()
await server.stop()
const storedAfter = sqliteCount(file)
// An erasure on the full store: one of the 5,000 people, their events, and the write-ahead log emptied.
const erasing = await openStore({ file, log: () => {} })
const forgetStarted = performance.now()
const forgot = await erasing.forget('person-7@example.com')
const forgetMs = performance.now() - forgetStarted
await erasing.close()
rmSync(dir, { recursive: true, force: true })
rmSync(VARIANT, { recursive: true, force: true })
const fill = { bytes: fillBytes, acked, failures: tenth.failures + rest.failures, rssTenth, rssFull, stoppedCode: stopped.code, size, restartMs: restarted.ms, rssRestart, again: answer.accepted, storedAfter, forgot, forgetMs }
console.log(fill)

// The same fill on PostgreSQL, for its bytes.
let fillPg
if (PG_URL) {
  console.log(`filling a PostgreSQL store to ${FILL} events`)
  const db = await pgSchema()
  const server = start(['dist/cli.mjs', 'collector', '--port', '0'], { SIGNET_DATABASE_URL: db.url })
  try {
    const { url } = await server.url
    load(url, ['--total', String(FILL)])
    await server.stop()
    fillPg = { ...(await db.bytes()), stored: await db.count() }
    console.log(fillPg)
  } finally {
    await server.stop()
    await db.drop()
  }
}

const table = [
  '| server | events/s | ratio | p50 ms | ratio | p99 ms | ratio | RSS MB | ratio | server CPU µs/event | PostgreSQL CPU µs/event | acknowledged, not stored | stored, not acknowledged |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${fmt(r.rate)} | ${r.rateRatio.toFixed(2)} | ${fmt(r.p50, 1)} | ${r.p50Ratio.toFixed(2)} | ${fmt(r.p99, 1)} | ${r.p99Ratio.toFixed(2)} | ${fmt(r.rss)} | ${r.rssRatio.toFixed(2)} | ${fmt(r.cpuUs, 1)} | ${r.pgCpuUs === undefined ? '' : fmt(r.pgCpuUs, 1)} | ${r.lost} | ${r.extra} |`,
  ),
]
// The PostgreSQL collector against its floor, round by round (ratios of the same round).
const floorAt = CONFIGS.findIndex((c) => c.floor)
const floorRows = floorAt < 0 ? [] : CONFIGS.map((c, i) => [c, i]).filter(([c]) => c.pg && !c.floor)
const floorTable = floorRows.length
  ? [
      '| server | events/s, ratio to the floor | p99, ratio to the floor (lower is better) | PostgreSQL CPU, ratio to the floor |',
      '| --- | --- | --- | --- |',
      ...floorRows.map(([c, i]) => {
        const ratio = (key) => median(results[i].map((r, round) => r[key] / results[floorAt][round][key]))
        return `| ${c.name} | ${ratio('rate').toFixed(2)} | ${ratio('p99').toFixed(2)} | ${ratio('pgCpuUs').toFixed(2)} |`
      }),
    ]
  : []
const bytesTable = [
  '| store | events table and its indexes, B/event | the whole store, B/event |',
  '| --- | --- | --- |',
  ...rows.filter((r) => r.perEvent).map((r) => `| ${r.name} (medians of the rounds) | ${fmt(r.perEvent.events)} | ${fmt(r.perEvent.all)} |`),
]
const md = `# The collector under load

\`npm run bench:collector\`, ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0].model}), Node ${process.version}.
32 senders on keep-alive connections (bench/load.mjs, in its own process on the same machine) post signed batches
of 20 events for ${SECONDS} s, each batch one person's (5,000 people), event ids as the tracker makes them (time first).
${ROUNDS} rounds, the configurations taking turns; medians, and ratios to the bare server as the median of the per-round ratios.
RSS is the server's processes together at the end of a run; server CPU is every thread of them, per event acknowledged.
${PG_URL ? '' : 'PostgreSQL rows: not run (set SIGNET_BENCH_DATABASE_URL).\n'}
${table.join('\n')}
${
  floorTable.length
    ? `
## PostgreSQL against its floor

The floor (bench/pg-floor-server.mjs) parses and verifies each batch with the collector's own checkBatch and stores it
with one multi-row \`INSERT … ON CONFLICT DO NOTHING\` into a table of project, id and the record's JSON, a pool of
one connection per core: what PostgreSQL itself allows here. The collector also keeps its dictionary, counts and
summaries, and answers a repeat or a conflict by what is stored.

${floorTable.join('\n')}
`
    : ''
}
## Bytes per stored event

What the runs above stored, measured after them (SQLite: dbstat; PostgreSQL: pg_relation_size after a VACUUM, every
partition and index), and the ${fmt(FILL)}-event stores below. The events table's share is the table, its indexes and
(PostgreSQL) partitions; the whole store adds the dictionary, the console's summaries and the rest.

${bytesTable.join('\n')}
${fillPg ? `| PostgreSQL, ${fmt(FILL)} events | ${fmt(fillPg.events / FILL)} | ${fmt(fillPg.all / FILL)} |\n` : ''}| SQLite, ${fmt(FILL)} events | ${fmt(fill.bytes.events / FILL)} | ${fmt(fill.bytes.all / FILL)} (file: ${fmt(fill.size / FILL)}) |

## ${fmt(FILL)} events, then a restart (SQLite, 1 worker)

| | |
| --- | --- |
| acknowledged | ${fmt(fill.acked)} (${fill.failures} requests failed) |
| RSS at ${fmt(FILL / 10)} events | ${fmt(fill.rssTenth)} MB |
| RSS at ${fmt(FILL)} events | ${fmt(fill.rssFull)} MB (${(fill.rssFull / fill.rssTenth).toFixed(2)}× that at ${fmt(FILL / 10)}) |
| database file | ${fmt(fill.size / 2 ** 20)} MB |
| SIGTERM | exit code ${fill.stoppedCode} |
| restart, to listening | ${fmt(fill.restartMs)} ms (node start, schema check, worker start) |
| RSS after the restart | ${fmt(fill.rssRestart)} MB |
| 20 stored events sent again | ${fill.again} accepted, stored again: ${fill.storedAfter - fill.acked} |
| stored after all | ${fmt(fill.storedAfter)}: ${fill.storedAfter == fill.acked ? 'the same as acknowledged, 0 duplicates' : 'NOT the number acknowledged'} |
| \`forget\` of one person, collector stopped | ${fmt(fill.forgot)} events, ${fmt(fill.forgetMs)} ms (the dictionary's entries only they used deleted, the log emptied) |

## What erasure costs ingestion (SQLite's secure_delete)

Since schema 5 SQLite zeroes what is deleted or overwritten (\`PRAGMA secure_delete = ON\`), so that an erased
person's bytes do not stay in the file's free space. The same collector with the pragma off (a copy of dist/,
turned off there), in the same rounds: the ratio of each figure with secure_delete to that without, the median
of the per-round ratios.

| collector | events/s | p99 | server CPU per event |
| --- | --- | --- | --- |
${CONFIGS.filter((c) => c.without)
  .map((c) => {
    const [off, on] = [CONFIGS.indexOf(c), CONFIGS.findIndex((x) => x.name == c.without)]
    const ratio = (key) => median(results[on].map((r, round) => r[key] / results[off][round][key]))
    return `| ${c.without} | ${ratio('rate').toFixed(2)} | ${ratio('p99').toFixed(2)} | ${ratio('cpuUs').toFixed(2)} |`
  })
  .join('\n')}
`
writeFileSync(new URL('collector.md', import.meta.url), md)
console.log(md)
