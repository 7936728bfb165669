import type BetterSqlite3 from 'better-sqlite3'
import { once } from 'node:events'
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import { jsonOf, type StoredEvent } from '../verify/batch'
import { anonymousPattern, countBy, DAY, daysOf, groupAttempts, isoDay, MAX_ATTEMPTS, rowOf, summarise, type AttemptRow, type EventRow, type Summaries } from './rollup'
import { attemptColumns, loadDriver, sameEvent, tally, type Outcome, type PersonSummary, type Store, type StoreOptions } from './store'

type Database = BetterSqlite3.Database

/**
 * The schema, one step per version (PRAGMA user_version counts the steps applied). A new version
 * appends a step; a published step never changes. docs/storage.md shows the same SQL.
 */
export const SQLITE_MIGRATIONS = [
  `CREATE TABLE signet_events (
  seq INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  person_id TEXT,
  verdict TEXT NOT NULL,
  event TEXT NOT NULL,
  UNIQUE (project, id)
);
CREATE INDEX signet_events_time ON signet_events (project, received_at);
CREATE INDEX signet_events_person ON signet_events (project, person_id, received_at) WHERE person_id IS NOT NULL;
CREATE TABLE signet_counts (
  project TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  shard INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project, kind, name, shard)
) WITHOUT ROWID;`,
  // The console: its summaries by day (filled by rollUp from signet_rollup's seq on), the refused
  // attempts that claimed a person, and the ids of forgotten events.
  `CREATE TABLE signet_days (
  project TEXT NOT NULL,
  day INTEGER NOT NULL,
  verdict TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project, day, verdict)
) WITHOUT ROWID;
CREATE TABLE signet_day_people (
  project TEXT NOT NULL,
  day INTEGER NOT NULL,
  person_id TEXT NOT NULL,
  PRIMARY KEY (project, day, person_id)
) WITHOUT ROWID;
CREATE TABLE signet_day_names (
  project TEXT NOT NULL,
  day INTEGER NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project, day, kind, name)
) WITHOUT ROWID;
CREATE TABLE signet_people (
  project TEXT NOT NULL,
  person_id TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  n INTEGER NOT NULL,
  props TEXT,
  PRIMARY KEY (project, person_id)
) WITHOUT ROWID;
CREATE INDEX signet_people_seen ON signet_people (project, last_seen);
CREATE TABLE signet_attempts (
  seq INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  person_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  ip TEXT,
  origin TEXT
);
CREATE INDEX signet_attempts_time ON signet_attempts (project, received_at);
CREATE TABLE signet_forgotten (
  project TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (project, id)
) WITHOUT ROWID;
CREATE TABLE signet_rollup (upto INTEGER NOT NULL);
INSERT INTO signet_rollup VALUES (0);`,
]

// An event forgotten (erased) is not stored again when a tracker sends it once more. Checked by a
// lookup of its own: as one INSERT … SELECT … WHERE NOT EXISTS, the insert measured 3.5x
// the writer thread's time of a plain INSERT … VALUES, and the collector 0.86x its events/s.
const INSERT = 'INSERT INTO signet_events (project, id, received_at, person_id, verdict, event) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING'
const FORGOTTEN = 'SELECT 1 FROM signet_forgotten WHERE project = ? AND id = ?'
const ATTEMPT = 'INSERT INTO signet_attempts (project, person_id, reason, received_at, ip, origin) VALUES (?, ?, ?, ?, ?, ?)'
// Rows of a summary a chunk adds (or, with negative counts, takes away), and events of a chunk.
const ROLLUP_CHUNK = 2000
const PURGE_CHUNK = 1000
const COUNT = 'INSERT INTO signet_counts (project, kind, name, shard, n) VALUES (?, ?, ?, 0, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n'
// Another process holding the write lock is waited for this long before a write fails.
const BUSY_MS = 5000
const CHECKPOINT = { everyMs: 100, restartFrames: 4096 }
const INSTALL = 'npm install better-sqlite3@12'

/**
 * A batch for the writer thread: six columns per event, flat, and the rejections, six columns each:
 * project and reason to count, and the person it claimed (or null), when, address, origin, to keep.
 */
interface WriteJob {
  n: number
  rows: (string | number | null)[]
  rejected: (string | number | null)[]
}
type WriteResult = { n: number; outcomes: Outcome[] } | { n: number; error: string }

/**
 * The writer thread, which alone writes to the database for this process, so that a commit (and,
 * now and then, a checkpoint with its fsync) never holds up the thread that answers requests.
 * Batches that arrive while it writes are committed together. It runs from its own source text,
 * so nothing outside this function is in scope there: what it needs comes in workerData.
 */
function writerThread() {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const { driver, file, insertSql, forgottenSql, countSql, attemptSql, busyMs, maxAttempts } = workerData as Record<string, string & number>
  // store.ts's sameEvent, whose source this thread's is prefixed with.
  const same = (globalThis as unknown as { sameEvent: typeof sameEvent }).sameEvent
  const Driver = require(driver) as typeof BetterSqlite3
  const db = new Driver(file, { timeout: busyMs })
  // NORMAL: a commit survives the process being killed (not a power cut), without an fsync per commit.
  db.pragma('synchronous = NORMAL')
  // Checkpoints (copying the log into the database, with an fsync) are the checkpoint thread's.
  db.pragma('wal_autocheckpoint = 0')
  const insert = db.prepare(insertSql)
  const forgotten = db.prepare(forgottenSql).pluck()
  const count = db.prepare(countSql)
  const existing = db.prepare('SELECT event FROM signet_events WHERE project = ? AND id = ?').pluck()
  const attempt = db.prepare(attemptSql)
  const bound = db.prepare('DELETE FROM signet_attempts WHERE seq <= (SELECT max(seq) FROM signet_attempts) - ?')
  const write = db.transaction((jobs: WriteJob[]) => {
    // Keyed kind, name, project: kind and name are words, so the project is whatever follows them.
    const added = new Map<string, number>()
    const up = (kind: string, name: unknown, project: unknown) => {
      const key = `${kind}\n${name}\n${project}`
      added.set(key, (added.get(key) || 0) + 1)
    }
    const results = jobs.map(({ rows, rejected }) => {
      const outcomes: Outcome[] = []
      for (let i = 0; i < rows.length; i += 6) {
        const stored = !forgotten.get(rows[i], rows[i + 1]) && insert.run(rows[i], rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], rows[i + 5]).changes > 0
        // Not stored, and no row under its id: a forgotten event, absorbed as a repeat.
        const held = stored ? undefined : (existing.get(rows[i], rows[i + 1]) as string | undefined)
        const outcome = stored ? 'stored' : held === undefined || same(held, rows[i + 5] as string) ? 'repeat' : 'conflict'
        outcomes.push(outcome)
        if (outcome == 'stored') up('stored', rows[i + 4], rows[i])
        else if (outcome == 'conflict') up('rejected', 'conflict', rows[i])
      }
      for (let i = 0; i < rejected.length; i += 6) {
        up('rejected', rejected[i + 1], rejected[i])
        if (rejected[i + 2] !== null) attempt.run(rejected[i], rejected[i + 2], rejected[i + 1], rejected[i + 3], rejected[i + 4], rejected[i + 5])
      }
      return outcomes
    })
    if (jobs.some((job) => job.rejected.length)) bound.run(maxAttempts)
    for (const [key, n] of added) {
      const [kind, name] = key.split('\n', 2)
      count.run(key.slice(kind.length + name.length + 2), kind, name, n)
    }
    return results
  })
  const post = (result: WriteResult) => parentPort!.postMessage(result)
  let pending: WriteJob[] = []
  const flush = () => {
    const jobs = pending
    pending = []
    const error = (err: unknown) => (err instanceof Error ? err.message : String(err))
    try {
      write.immediate(jobs).forEach((outcomes, i) => post({ n: jobs[i].n, outcomes }))
    } catch (err) {
      // The database is locked, full or failing: every batch fails alike, at once.
      if (jobs.length == 1 || /BUSY|LOCKED|FULL|IOERR|READONLY/.test((err as { code?: string }).code || ''))
        return jobs.forEach(({ n }) => post({ n, error: error(err) }))
      // Otherwise one batch may be at fault: alone, each succeeds or fails on its own.
      for (const job of jobs)
        try {
          post({ n: job.n, outcomes: write.immediate([job])[0] })
        } catch (err) {
          post({ n: job.n, error: error(err) })
        }
    }
  }
  parentPort!.on('message', (jobs: WriteJob[] | 'close') => {
    if (jobs != 'close') {
      if (!pending.length) setImmediate(flush)
      pending.push(...jobs)
      return
    }
    if (pending.length) flush()
    db.close()
    parentPort!.close()
  })
}

/**
 * The checkpoint thread: every `everyMs` it copies what the writers logged into the database file
 * beside them (a PASSIVE checkpoint takes no lock a writer waits for), so that commits do not wait
 * for that copy and its fsync. Writers never stop, so such a checkpoint never quite reaches the end
 * of the log, and the log would grow without end: once it holds `restartFrames` pages, a RESTART
 * checkpoint waits for the writer to finish its transaction and copies the little that is left, so
 * that the next commit writes the log from its start again. Run from its source text, like the writer.
 */
function checkpointThread() {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const { driver, file, busyMs, everyMs, restartFrames } = workerData as Record<string, string & number>
  const Driver = require(driver) as typeof BetterSqlite3
  const db = new Driver(file, { timeout: busyMs })
  const timer = setInterval(() => {
    try {
      const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[]
      if (log > restartFrames) db.pragma('wal_checkpoint(RESTART)')
    } catch {
      // Busy or failing now: the next round tries again, and the log keeps every commit meanwhile.
    }
  }, everyMs)
  parentPort!.on('message', () => {
    clearInterval(timer)
    db.pragma('wal_checkpoint(PASSIVE)')
    db.close()
    parentPort!.close()
  })
}

const driver = () => loadDriver('better-sqlite3', () => import('better-sqlite3').then((m) => m.default), INSTALL)

function migrate(db: Database, file: string) {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > SQLITE_MIGRATIONS.length)
      throw new Error(`signet: ${file} has schema version ${version}, newer than this Signet knows (${SQLITE_MIGRATIONS.length}): upgrade Signet`)
    for (const step of SQLITE_MIGRATIONS.slice(version)) db.exec(step)
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`)
  }).immediate()
}

export async function openSqliteStore(file: string, { readonly = false, mustExist = false }: StoreOptions = {}): Promise<Store> {
  if ((readonly || mustExist) && !existsSync(file)) throw new Error(`signet: no store at ${file}`)
  if (!readonly) mkdirSync(dirname(file), { recursive: true })
  const Driver = await driver()
  // This thread's connection reads; the writer thread has its own.
  const db = new Driver(file, { timeout: BUSY_MS, readonly })
  if (!readonly) {
    // For a new database: pages of 16 KiB hold about 25 events, and events are added at the end:
    // measured, 4% to 9% more events stored per second than with SQLite's 4 KiB. (No effect on an existing one.)
    db.pragma('page_size = 16384')
    // WAL: readers never block the writer, and writers in other processes take turns.
    db.pragma('journal_mode = WAL')
    migrate(db, file)
  }
  const selectCounts = db.prepare('SELECT kind, name, n FROM signet_counts WHERE project = ?')
  const selectRecent = db.prepare('SELECT event FROM signet_events WHERE project = ? ORDER BY received_at DESC, seq DESC LIMIT ?').pluck()
  const selectPerson = db
    .prepare('SELECT event FROM signet_events WHERE project = ? AND person_id = ? ORDER BY received_at DESC, seq DESC LIMIT ?')
    .pluck()

  // The console's summaries, read and kept up on this connection (WAL: one writer at a time, the
  // writer thread and this one waiting their turns).
  const person = (row: { person_id: string; first_seen: number; last_seen: number; n: number; props: string | null }): PersonSummary => ({
    id: row.person_id,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    events: row.n,
    ...(row.props && { props: JSON.parse(row.props) }),
  })
  const console_ = readonly
    ? undefined
    : {
        upto: db.prepare('SELECT upto FROM signet_rollup').pluck(),
        chunk: db.prepare(`SELECT seq, project, received_at AS receivedAt, person_id AS personId, verdict, json_extract(event, '$.type') AS type,
          json_extract(event, '$.name') AS name, json_extract(event, '$.page.url') AS url, json_extract(event, '$.page.referrer') AS referrer,
          CASE WHEN verdict = 'verified' AND json_extract(event, '$.type') IN ('identify', 'properties') THEN json_extract(event, '$.props') END AS props
          FROM signet_events WHERE seq > ? ORDER BY seq LIMIT ?`),
        setUpto: db.prepare('UPDATE signet_rollup SET upto = ?'),
        day: db.prepare('INSERT INTO signet_days VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n'),
        dayPerson: db.prepare('INSERT INTO signet_day_people VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
        name: db.prepare('INSERT INTO signet_day_names VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n'),
        person: db.prepare(`INSERT INTO signet_people VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),
          last_seen = max(last_seen, excluded.last_seen), n = n + excluded.n, props = coalesce(excluded.props, props)`),
        count: db.prepare(COUNT),
        emptied: db.prepare('DELETE FROM signet_days WHERE n <= 0'),
        emptiedNames: db.prepare('DELETE FROM signet_day_names WHERE n <= 0'),
      }
  /** Adds summaries (sign 1), or takes them away (-1: events being deleted; people and their days go with forget). */
  const apply = (sums: Summaries, sign: 1 | -1) => {
    const c = console_!
    for (const [project, day, verdict, n] of sums.days) c.day.run(project, day, verdict, sign * n)
    for (const [project, day, kind, name, n] of sums.names) c.name.run(project, day, kind, name, sign * n)
    if (sign > 0) {
      for (const row of sums.dayPeople) c.dayPerson.run(...row)
      for (const row of sums.people) c.person.run(...row)
    } else {
      c.emptied.run()
      c.emptiedNames.run()
    }
  }
  // A chunk read and summed in one transaction: a forget in another process waits, and sees it whole.
  const rollUp = db.transaction(() => {
    const rows = console_!.chunk.all(console_!.upto.get(), ROLLUP_CHUNK) as (EventRow & { seq: number })[]
    if (!rows.length) return 0
    apply(summarise(rows), 1)
    console_!.setUpto.run(rows[rows.length - 1].seq)
    return rows.length
  })
  // Events of one person, and the anonymous events of the anonymous ids theirs carried.
  const own = db.prepare('SELECT seq, project, id, received_at AS receivedAt, person_id AS personId, verdict, event FROM signet_events WHERE person_id = ? AND (? IS NULL OR project = ?)')
  const carried = db.prepare(
    "SELECT seq, project, id, received_at AS receivedAt, person_id AS personId, verdict, event FROM signet_events WHERE project = ? AND person_id IS NULL AND event LIKE ? ESCAPE '\\'",
  )
  const forget = db.transaction((personId: string, project: string | null) => {
    type Row = { seq: number; project: string; id: string; receivedAt: number; personId: string | null; verdict: string; event: string }
    const rows = new Map<number, Row>()
    for (const r of own.all(personId, project, project) as Row[]) rows.set(r.seq, r)
    const anonymous = new Set([...rows.values()].map((r) => JSON.stringify([r.project, (JSON.parse(r.event) as { anonymousId: string }).anonymousId])))
    for (const key of anonymous) {
      const [p, a] = JSON.parse(key) as [string, string]
      for (const r of carried.all(p, anonymousPattern(a)) as Row[]) rows.set(r.seq, r)
    }
    const upto = console_!.upto.get() as number
    apply(summarise([...rows.values()].filter((r) => r.seq <= upto).map(rowOf)), -1)
    for (const [p, verdict, n] of countBy(rows.values())) console_!.count.run(p, 'stored', verdict, -n)
    const gone = db.prepare('DELETE FROM signet_events WHERE seq = ?')
    const remember = db.prepare('INSERT INTO signet_forgotten VALUES (?, ?) ON CONFLICT DO NOTHING')
    for (const r of rows.values()) {
      gone.run(r.seq)
      remember.run(r.project, r.id)
    }
    for (const table of ['signet_people', 'signet_day_people', 'signet_attempts'])
      db.prepare(`DELETE FROM ${table} WHERE person_id = ? AND (? IS NULL OR project = ?)`).run(personId, project, project)
    return rows.size
  })
  const purgeChunk = db.transaction((before: number) => {
    const gone = db.prepare('DELETE FROM signet_events WHERE seq IN (SELECT seq FROM signet_events WHERE received_at < ? ORDER BY seq LIMIT ?) RETURNING project, verdict').all(before, PURGE_CHUNK) as {
      project: string
      verdict: string
    }[]
    for (const [project, verdict, n] of countBy(gone)) console_!.count.run(project, 'stored', verdict, -n)
    return gone.length
  })
  const purgeSummaries = db.transaction((before: number) => {
    const day = Math.floor(before / DAY)
    for (const table of ['signet_days', 'signet_day_people', 'signet_day_names']) db.prepare(`DELETE FROM ${table} WHERE day < ?`).run(day)
    db.prepare('DELETE FROM signet_people WHERE last_seen < ?').run(before)
    db.prepare('DELETE FROM signet_attempts WHERE received_at < ?').run(before)
  })
  // SQLite has one writer: a long task of many chunks (a purge, summing up a backlog) that went from
  // one chunk to the next took the write lock from ingestion most of the time (a purge of 1,000,000
  // events measured 0.16x the events/s, p99 20x). After each chunk it now leaves the lock free twice
  // as long as the chunk held it: ingestion keeps two thirds of the writer, the task takes 3x longer.
  const breathe = (since: number) => new Promise((r) => setTimeout(r, Math.min(1000, 2 * (performance.now() - since))))

  const calls = new Map<number, { resolve: (outcomes: Outcome[]) => void; reject: (err: Error) => void }>()
  let n = 0
  let thread: Worker | undefined
  const fail = (err: Error) => {
    calls.forEach((call) => call.reject(err))
    calls.clear()
  }
  const shared = { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file, busyMs: BUSY_MS }
  const start = () => {
    const started = new Worker(`globalThis.sameEvent = ${sameEvent};\n(${writerThread})()`, {
      eval: true,
      workerData: { ...shared, insertSql: INSERT, forgottenSql: FORGOTTEN, countSql: COUNT, attemptSql: ATTEMPT, maxAttempts: MAX_ATTEMPTS },
    })
    started.on('message', (result: WriteResult) => {
      const call = calls.get(result.n)
      calls.delete(result.n)
      if ('error' in result) call?.reject(new Error(result.error))
      else call?.resolve(result.outcomes)
      // Writes under way keep the process alive; an idle store does not.
      if (!calls.size) started.unref()
    })
    started.on('error', fail)
    // A writer that died is started again by the next write; what it held is answered as failed (503, sent again).
    started.on('exit', () => {
      if (thread == started) thread = undefined
      fail(new Error('the SQLite writer stopped'))
    })
    started.unref()
    return started
  }
  if (!readonly) thread = start()
  let outgoing: WriteJob[] = []
  const send = () => {
    const writer = (thread ??= start())
    writer.ref()
    writer.postMessage(outgoing)
    outgoing = []
  }
  const checkpoints = readonly ? undefined : new Worker(`(${checkpointThread})()`, { eval: true, workerData: { ...shared, ...CHECKPOINT } })
  checkpoints?.unref()

  return {
    description: `sqlite ${file}`,
    add(events, rejected = []) {
      if (readonly) return Promise.reject(new Error('signet: this store is open for reading only'))
      const rows: WriteJob['rows'] = []
      for (const e of events) rows.push(e.project, e.id, e.receivedAt, e.personId ?? null, e.verdict, jsonOf(e))
      return new Promise((resolve, reject) => {
        calls.set(++n, { resolve, reject })
        // The batches of the requests read in one turn of the event loop go to the writer as one message.
        if (!outgoing.length) setImmediate(send)
        outgoing.push({ n, rows, rejected: rejected.flatMap(attemptColumns) })
      })
    },
    async counts(project) {
      return tally(selectCounts.all(project) as { kind: string; name: string; n: number }[])
    },
    async recent(project, { limit, person }) {
      const rows = (person === undefined ? selectRecent.all(project, limit) : selectPerson.all(project, person, limit)) as string[]
      return rows.map((row) => JSON.parse(row) as StoredEvent)
    },
    async *lines({ project, since } = {}) {
      // Its own connection: an open iteration keeps a connection busy, and it may last long.
      const reader = new Driver(file, { readonly: true, timeout: BUSY_MS })
      try {
        const where = [project !== undefined && 'project = ?', since !== undefined && 'received_at >= ?'].filter(Boolean)
        const rows = reader
          .prepare(`SELECT event FROM signet_events${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY seq`)
          .pluck()
          .iterate(...[project, since].filter((v) => v !== undefined))
        for (const row of rows) yield row as string
      } finally {
        reader.close()
      }
    },
    async rollUp() {
      if (!console_) return
      // One chunk at a time, with a pause after each (breathe), so that requests are answered in between.
      for (let since = performance.now(); rollUp.immediate() == ROLLUP_CHUNK; since = performance.now()) await breathe(since)
    },
    async overview(project, period) {
      const [first, last] = daysOf(period)
      const events = new Map(db.prepare('SELECT day, sum(n) AS n FROM signet_days WHERE project = ? AND day BETWEEN ? AND ? GROUP BY day').raw().all(project, first, last) as [number, number][])
      const people = new Map(db.prepare('SELECT day, count(*) FROM signet_day_people WHERE project = ? AND day BETWEEN ? AND ? GROUP BY day').raw().all(project, first, last) as [number, number][])
      const verdicts = db.prepare('SELECT verdict, sum(n) FROM signet_days WHERE project = ? AND day BETWEEN ? AND ? GROUP BY verdict').raw().all(project, first, last) as [string, number][]
      const rejected = db
        .prepare('SELECT reason, count(*) FROM signet_attempts WHERE project = ? AND received_at >= ? AND received_at < ? GROUP BY reason')
        .raw()
        .all(project, period.from, period.to) as [string, number][]
      const days = []
      for (let day = first; day <= last; day++) days.push({ day: isoDay(day), events: events.get(day) || 0, people: people.get(day) || 0 })
      return { days, verdicts: Object.fromEntries(verdicts), rejected: Object.fromEntries(rejected) }
    },
    async people(project, { period, prefix, limit, offset = 0 }) {
      const rows = db
        .prepare(
          `SELECT person_id, first_seen, last_seen, n, props FROM signet_people WHERE project = ? AND last_seen >= ? AND first_seen < ?${prefix ? ' AND person_id >= ? AND person_id < ?' : ''} ORDER BY last_seen DESC LIMIT ? OFFSET ?`,
        )
        .all(project, period.from, period.to, ...(prefix ? [prefix, prefix + '\uffff'] : []), limit, offset) as Parameters<typeof person>[0][]
      return rows.map(person)
    },
    async person(project, personId) {
      const row = db.prepare('SELECT person_id, first_seen, last_seen, n, props FROM signet_people WHERE project = ? AND person_id = ?').get(project, personId)
      return row ? person(row as Parameters<typeof person>[0]) : undefined
    },
    async timeline(project, personId, { limit, offset = 0 }) {
      const rows = db
        .prepare('SELECT event FROM signet_events WHERE project = ? AND person_id = ? ORDER BY received_at DESC, seq DESC LIMIT ? OFFSET ?')
        .pluck()
        .all(project, personId, limit, offset) as string[]
      return rows.map((row) => JSON.parse(row) as StoredEvent)
    },
    async names(project, period, limit) {
      const [first, last] = daysOf(period)
      const top = (kind: string) =>
        db
          .prepare('SELECT name, sum(n) AS n FROM signet_day_names WHERE project = ? AND day BETWEEN ? AND ? AND kind = ? GROUP BY name ORDER BY n DESC, name LIMIT ?')
          .all(project, first, last, kind, limit) as { name: string; n: number }[]
      return { pages: top('page'), events: top('event'), referrers: top('referrer') }
    },
    async attempts(project, period, limit) {
      const rows = db
        .prepare('SELECT person_id, reason, received_at, ip, origin FROM signet_attempts WHERE project = ? AND received_at >= ? AND received_at < ?')
        .all(project, period.from, period.to) as AttemptRow[]
      return groupAttempts(rows, limit)
    },
    async forget(personId, project) {
      if (!console_) throw new Error('signet: this store is open for reading only')
      return forget.immediate(personId, project ?? null)
    },
    async purge(before) {
      if (!console_) throw new Error('signet: this store is open for reading only')
      let total = 0
      for (let n, since = performance.now(); (n = purgeChunk.immediate(before)); total += n, since = performance.now()) await breathe(since)
      purgeSummaries.immediate(before)
      return total
    },
    async close() {
      if (outgoing.length) send()
      const writer = thread
      thread = undefined
      for (const worker of [writer, checkpoints])
        if (worker && worker.threadId >= 0) {
          worker.ref()
          worker.postMessage('close')
          await once(worker, 'exit')
        }
      if (db.open) db.close()
    },
  }
}
