// npm run bench:migrate: a store of schema 2 (each event's record as JSON, as Signet kept them before
// schema 3) with MIGRATE_EVENTS events of the collector benchmark's shape, then `signet collector`
// started on it: how long the migration takes, the primary's peak memory, the store's size before
// and after, and `signet export` before and after, compared record by record (keys sorted: the
// order of a record's keys aside). SQLite, and PostgreSQL when SIGNET_BENCH_DATABASE_URL is set.
// Writes bench/migrate.md.
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { progress } from './progress.mjs'

const ROOT = new URL('..', import.meta.url).pathname
const EVENTS = Number(process.env.MIGRATE_EVENTS || 2_500_000)
const PG_URL = process.env.SIGNET_BENCH_DATABASE_URL
const PROJECT = 'GSN-BENCH-1'
const require = createRequire(import.meta.url)
const Sqlite = require('better-sqlite3')

// Schema 2's tables, as docs/storage.md shows them (the collector of this version makes schema 3).
const doc = readFileSync(join(ROOT, 'docs/storage.md'), 'utf8')
// Schema 2 is the first four SQL blocks there: SQLite's version 1, PostgreSQL's, then version 2 of each.
const blocks = [...doc.slice(0, doc.indexOf('SQLite, version 3')).matchAll(/```sql\n([\s\S]*?)\n```/g)].map((m) => m[1])
if (blocks.length != 4 || !blocks[0].includes('INTEGER PRIMARY KEY') || !blocks[1].includes('GENERATED ALWAYS')) throw new Error('docs/storage.md: schema 2 not where this expects it')
const steps = (engine) => (engine == 'SQLite' ? [blocks[0], blocks[2]] : [blocks[1], blocks[3]])

/** The records, as bench/load.mjs's events become them: 20 a person, 5,000 people, spread over 30 days. */
function* records() {
  const start = Date.now() - 30 * 86_400_000
  for (let i = 0; i < EVENTS; i++) {
    const at = start + Math.floor(i * (30 * 86_400_000) / EVENTS)
    const n = i % 20
    yield {
      id: at.toString(16).padStart(12, '0') + randomBytes(10).toString('hex'),
      type: n ? 'event' : 'pageview',
      ts: at - 40,
      time: at,
      anonymousId: createHash('md5').update(String(Math.floor(i / 20) % 5000)).digest('hex'),
      personId: `person-${Math.floor(i / 20) % 5000}@example.com`,
      ...(n && { name: 'add_to_cart', props: { sku: 'SKU-' + n, price: 19.99, quantity: 1 } }),
      page: { url: 'https://shop.example.com/products/socks?ref=home', title: 'Socks — Example Shop', referrer: 'https://shop.example.com/' },
      project: PROJECT,
      receivedAt: at,
      verdict: 'verified',
      ip: '127.0.0.0',
    }
  }
}

/** Runs `signet …`; resolves to its stdout's lines hashed (keys sorted), counted, or its log once it listens. */
function signet(args, env, { listen = false } = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.mjs'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } })
  let log = ''
  child.stderr.on('data', (d) => (log += d))
  const started = performance.now()
  if (listen)
    return new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        log += d
        if (/Collector: http/.test(log)) {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
          const peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024
          const ms = performance.now() - started
          child.kill('SIGTERM')
          child.on('exit', () => resolve({ ms, peak, log }))
        }
      })
      child.on('exit', (code) => code && reject(new Error(log)))
    })
  const hash = createHash('sha256')
  let count = 0
  const sorted = (v) => (v && typeof v == 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v)
  createInterface({ input: child.stdout }).on('line', (line) => {
    hash.update(JSON.stringify(sorted(JSON.parse(line))) + '\n')
    count++
  })
  return new Promise((resolve, reject) => child.on('exit', (code) => (code ? reject(new Error(log)) : resolve({ count, hash: hash.digest('hex'), ms: performance.now() - started }))))
}

async function sqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-migrate-'))
  const file = join(dir, 'signet.db')
  const db = new Sqlite(file)
  db.pragma('page_size = 16384')
  db.pragma('journal_mode = WAL')
  db.exec(steps('SQLite').join(';\n'))
  db.pragma('user_version = 2')
  const insert = db.prepare('INSERT INTO signet_events (project, id, received_at, person_id, verdict, event) VALUES (?, ?, ?, ?, ?, ?)')
  const all = db.transaction((rows) => rows.forEach((r) => insert.run(r.project, r.id, r.receivedAt, r.personId, r.verdict, JSON.stringify(r))))
  const bar = progress('SQLite', Math.ceil(EVENTS / 50_000) + 3)
  let rows = []
  for (const r of records()) if (rows.push(r) == 50_000) all(rows), (rows = []), bar.tick('schema 2 filled')
  all(rows)
  bar.tick('schema 2 filled')
  db.prepare("INSERT INTO signet_counts VALUES (?, 'stored', 'verified', 0, ?)").run(PROJECT, EVENTS)
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  const env = { SIGNET_SECRET: 'x'.repeat(32), SIGNET_PROJECT: PROJECT }
  const sizeBefore = statSync(file).size
  const before = await signet(['export', '--db', file], env)
  bar.tick('exported before')
  const run = await signet(['collector', '--port', '0', '--db', file], env, { listen: true })
  bar.tick('migrated')
  const after = await signet(['export', '--db', file], env)
  bar.stop()
  const check = new Sqlite(file, { readonly: true })
  const free = check.pragma('freelist_count', { simple: true }) * check.pragma('page_size', { simple: true })
  check.close()
  const sizeAfter = statSync(file).size
  rmSync(dir, { recursive: true, force: true })
  return { engine: 'SQLite', before, after, run, sizeBefore, sizeAfter: sizeAfter - free, note: `file ${fmt(sizeAfter / 2 ** 20)} MB of which ${fmt(free / 2 ** 20)} MB free pages (VACUUM gives them back)` }
}

async function postgres() {
  const pg = require('pg')
  const schema = `signet_bench_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.end()
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  const client = new pg.Client({ connectionString: url.href })
  await client.connect()
  const size = async () => Number((await client.query(`SELECT sum(pg_relation_size(c.oid)) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}'`)).rows[0].n)
  try {
    await client.query(steps('PostgreSQL').join(';\n'))
    await client.query('CREATE TABLE signet_schema (version integer NOT NULL); INSERT INTO signet_schema VALUES (2)')
    const bar = progress('PostgreSQL', Math.ceil(EVENTS / 20_000) + 3)
    let rows = []
    const flush = async () => {
      await client.query(
        'INSERT INTO signet_events (project, id, received_at, person_id, verdict, event) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])',
        [rows.map((r) => r.project), rows.map((r) => r.id), rows.map((r) => r.receivedAt), rows.map((r) => r.personId), rows.map((r) => r.verdict), rows.map((r) => JSON.stringify(r))],
      )
      rows = []
      bar.tick('schema 2 filled')
    }
    for (const r of records()) if (rows.push(r) == 20_000) await flush()
    await flush()
    await client.query("INSERT INTO signet_counts VALUES ($1, 'stored', 'verified', 0, $2)", [PROJECT, EVENTS])
    await client.query('VACUUM ANALYZE')
    const sizeBefore = await size()
    const env = { SIGNET_SECRET: 'x'.repeat(32), SIGNET_PROJECT: PROJECT, SIGNET_DATABASE_URL: url.href }
    const before = await signet(['export'], env)
    bar.tick('exported before')
    const run = await signet(['collector', '--port', '0'], env, { listen: true })
    bar.tick('migrated')
    const after = await signet(['export'], env)
    bar.stop()
    await client.query('VACUUM')
    return { engine: 'PostgreSQL', before, after, run, sizeBefore, sizeAfter: await size(), note: 'every table and index of the schema, after a VACUUM' }
  } finally {
    await client.query(`DROP SCHEMA ${schema} CASCADE`)
    await client.end()
  }
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const results = [await sqlite(), ...(PG_URL ? [await postgres()] : [])]
for (const r of results) console.log(r.engine, JSON.stringify({ ...r, run: { ...r.run, log: undefined } }), '\n' + r.run.log)
const rows = results.map(
  (r) =>
    `| ${r.engine} | ${fmt(r.run.ms / 1000, 1)} s | ${fmt(r.run.peak)} MB | ${fmt(r.sizeBefore / EVENTS)} → ${fmt(r.sizeAfter / EVENTS)} B/event (${r.note}) | ${fmt(r.before.count)} → ${fmt(r.after.count)} | ${r.before.hash == r.after.hash ? 'the same' : '**different**'} |`,
)
const md = `# Migrating to schema 3

\`npm run bench:migrate\`, ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0].model}), Node ${process.version}.
A store of schema 2 (each record as JSON) with ${fmt(EVENTS)} events of the collector benchmark's shape (5,000 people, 30 days),
then \`signet collector\` started on it: from the start to listening, which is the migration (docs/storage.md). Peak memory is
the primary's (VmHWM), which migrates before any worker starts. \`signet export\` before and after, each record's keys sorted,
hashed (SHA-256) and counted.

| engine | start, migration included | peak memory | store | records exported | export before and after |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

What the collector printed (SQLite${PG_URL ? ', then PostgreSQL' : ''}):

\`\`\`
${results.map((r) => r.run.log.split('\n').filter((l) => l.startsWith('signet:')).join('\n')).join('\n\n')}
\`\`\`
`
writeFileSync(new URL('migrate.md', import.meta.url), md)
console.log(md)
