import type BetterSqlite3 from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, statfsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import { encodeEvent, entryKey, entryOf, forgottenKey, idKey, kindOf, oldKeys, rekeyedTransaction, toRow, typeCode, recordOf, recordSelect, ROW_COLUMNS, sameRow, STRING_COLUMNS, verdictOfCode, type RecordRow } from './record'
import { ATTEMPTS_KEPT, ATTEMPTS_PER_SENDER, attemptCap, countBy, DAY, daysOf, groupAttempts, isoDay, MAX_ATTEMPTS, overviewDays, PERSON_TRANSACTIONS_SQL, personRevenue, REVENUE_SQL, rowOf, summarise, TRIM_ATTEMPTS, type AttemptRow, type Summaries } from './rollup'
import { attemptColumns, loadDriver, NAMED_KINDS, peopleSearch, tally, type NamedLists, type Outcome, type PersonSummary, type SchemaState, type Store, type StoreOptions } from './store'
import type { StoredEvent } from '../verify/batch'
import { SQLITE_SCHEMA } from './schema'

type Database = BetterSqlite3.Database
type Log = NonNullable<StoreOptions['log']>
type Progress = NonNullable<StoreOptions['onMigration']>

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

/**
 * Schema 3: events as rows of small columns (record.ts), their repeated strings in a dictionary.
 * Made in three parts: the new tables; the events copied over a chunk at a time (copyEvents), which
 * a start after a crash carries on from where it was; then the old table replaced by the new one.
 */
export const SQLITE_V3 = {
  begin: `CREATE TABLE IF NOT EXISTS signet_strings (
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  hash BLOB NOT NULL,
  value TEXT NOT NULL,
  first_day INTEGER NOT NULL,
  last_day INTEGER NOT NULL,
  UNIQUE (kind, hash)
);
CREATE TABLE IF NOT EXISTS signet_doomed (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS signet_events_3 (
  seq INTEGER PRIMARY KEY,
  project INTEGER NOT NULL,
  id BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  person INTEGER,
  anonymous INTEGER,
  type INTEGER,
  verdict INTEGER,
  name INTEGER,
  url INTEGER,
  title INTEGER,
  referrer INTEGER,
  ip INTEGER,
  ts_delta INTEGER,
  time_delta INTEGER,
  props TEXT,
  rest TEXT,
  UNIQUE (project, id)
);`,
  end: `DROP TABLE signet_events;
ALTER TABLE signet_events_3 RENAME TO signet_events;
CREATE INDEX signet_events_time ON signet_events (project, received_at);
CREATE INDEX signet_events_person ON signet_events (project, person, received_at) WHERE person IS NOT NULL;`,
}
/**
 * Schema 5, erasure that leaves no trace: forgotten ids kept as keyed digests (record.ts's
 * forgottenKey) with the day they were forgotten, under the store's salt; the dictionary's epoch,
 * which a forget raises when it deletes entries, so that every writer drops the numbers it has
 * cached before its next write (makeInterner); no more signet_doomed (entries are deleted at once).
 * The digests are made from the old table's ids by code (SQLITE_V5.copy).
 */
export const SQLITE_V5 = {
  begin: `CREATE TABLE signet_salt (salt BLOB NOT NULL);
CREATE TABLE signet_dictionary (epoch INTEGER NOT NULL);
INSERT INTO signet_dictionary VALUES (0);
CREATE TABLE signet_forgotten_5 (
  project TEXT NOT NULL,
  digest BLOB NOT NULL,
  day INTEGER NOT NULL,
  PRIMARY KEY (project, digest)
) WITHOUT ROWID;`,
  end: `DROP TABLE signet_forgotten;
ALTER TABLE signet_forgotten_5 RENAME TO signet_forgotten;
DROP TABLE signet_doomed;`,
}
/**
 * Schema 6: each event's browser, operating system and device type (the dictionary's `device`
 * kind). A column added (no table rewritten): to the events table of a store of schema 3 to 5 as
 * it is opened, and to schema 3's new table as a migration makes it.
 */
export const SQLITE_V6 = (table: string) => `ALTER TABLE ${table} ADD COLUMN device INTEGER`
// The schema this release keeps a SQLite store in (user_version): its SQL steps, schema 3's copy
// (the layout since: V3), then schema 4's transaction keys, schema 5's erasure and schema 6's
// column, steps of code taken once the store is open.
const VERSION = SQLITE_SCHEMA
const V3 = 3
if (SQLITE_MIGRATIONS.length + 4 != VERSION) throw new Error('signet: schema.ts and the SQLite migrations disagree')

const hasColumn = (db: Database, table: string, column: string) => !!db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column)
/** Schema 6's column, added to `table` unless it has it. */
const withDevice = (db: Database, table: string) => hasColumn(db, table, 'device') || db.exec(SQLITE_V6(table))
/** How records are read from this store's events table: without a device column in one opened to read only before schema 6. */
const recordsOf = (db: Database) => recordSelect(hasColumn(db, 'signet_events', 'device'))

// An event forgotten (erased) is not stored again when a tracker sends it once more. Checked by a
// lookup of its own: as one INSERT … SELECT … WHERE NOT EXISTS, the insert measured 3.5x
// the writer thread's time of a plain INSERT … VALUES, and the collector 0.86x its events/s.
const INSERT = `INSERT INTO signet_events (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`
const FORGOTTEN = 'SELECT 1 FROM signet_forgotten WHERE project = ? AND digest = ?'
const EPOCH = 'SELECT epoch FROM signet_dictionary'
const EXISTING = `SELECT ${ROW_COLUMNS.join(', ')} FROM signet_events WHERE project = ? AND id = ?`
const ATTEMPT = 'INSERT INTO signet_attempts (project, person_id, reason, received_at, ip, origin) VALUES (?, ?, ?, ?, ?, ?)'
// Rows of a summary a chunk adds (or, with negative counts, takes away), and events of a chunk.
const ROLLUP_CHUNK = 2000
const PURGE_CHUNK = 1000
const COPY_CHUNK = 5000
const COUNT = 'INSERT INTO signet_counts (project, kind, name, shard, n) VALUES (?, ?, ?, 0, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n'
// Another process holding the write lock is waited for this long before a write fails.
const BUSY_MS = 5000
const CHECKPOINT = { everyMs: 100, restartFrames: 4096 }
const INSTALL = 'npm install better-sqlite3@12'
// The dictionary's number of a project, of a person, given its entry (entryOf).
const PROJECT = `(SELECT id FROM signet_strings WHERE kind = ${kindOf('project')} AND hash = ?)`
const PERSON = `(SELECT id FROM signet_strings WHERE kind = ${kindOf('person')} AND hash = ?)`
const keyOf = (value: string) => entryKey(entryOf(value))

/**
 * The dictionary, as one connection writes it: the number of a kind's string, added when new (as
 * record.ts's entryOf and entryKey make its entry and key: `hash`), its first and last day (of the
 * events that use it) widened to `day`. What it has seen in a transaction that then failed must be
 * dropped (reset): the numbers may not exist. Its cache, a map per kind keyed by the string itself
 * (no key to build, no JSON to make for a string it knows: the collector went from 0.88x to 0.92x
 * the events/s of the one before schema 3, measured turn about), is
 * bounded in characters. A forget deletes the entries only its events used, and raises the
 * dictionary's epoch in the same transaction: a writer reads it in each of its own (which SQLite
 * runs one after another) and drops its cache when it changed, so no event gets a deleted number.
 * Self-contained: the writer thread runs its source.
 */
function makeInterner(db: Database, hash: (entry: string) => Uint8Array) {
  const upsert = db
    .prepare(
      `INSERT INTO signet_strings (kind, hash, value, first_day, last_day) VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, hash)
       DO UPDATE SET first_day = min(first_day, excluded.first_day), last_day = max(last_day, excluded.last_day) RETURNING id`,
    )
    .pluck()
  // Per kind, the string to its number and the days the database is known to have for it.
  let cache: Map<string, [number, number, number]>[] = []
  let chars = 0
  const intern = (kind: number, value: string, day: number): number => {
    const known = (cache[kind] ??= new Map())
    const hit = known.get(value)
    if (hit && hit[1] <= day && day <= hit[2]) return hit[0]
    const entry = JSON.stringify(value)
    const id = upsert.get(kind, hash(entry), entry, day, day) as number
    if (hit && hit[0] == id) (hit[1] = Math.min(hit[1], day)), (hit[2] = Math.max(hit[2], day))
    else {
      if ((chars += value.length) > 4_000_000) (cache = []), (chars = value.length)
      ;(cache[kind] ??= new Map()).set(value, [id, day, day])
    }
    return id
  }
  intern.reset = () => {
    cache = []
    chars = 0
  }
  return intern
}

/**
 * A batch for the writer thread: WRITE_FIELDS per event, flat (the project, id and verdict as text;
 * the record's strings, in STRING_COLUMNS order; then its row, toRow's, with null where the
 * dictionary's numbers go, at STRING_PLACES), and the rejections, six columns each: project and
 * reason to count, and the person it claimed (or null), when, address, origin, to keep.
 */
const WRITE_FIELDS = 3 + STRING_COLUMNS.length + ROW_COLUMNS.length
const STRING_PLACES = STRING_COLUMNS.map((c) => ROW_COLUMNS.indexOf(c))
const NO_NUMBERS = STRING_COLUMNS.map(() => null)
interface WriteJob {
  n: number
  rows: (string | number | Uint8Array | null)[]
  rejected: (string | number | null)[]
}
type WriteResult = { n: number; outcomes: Outcome[] } | { n: number; error: string; code?: string }

/**
 * The writer thread, which alone writes to the database for this process, so that a commit (and,
 * now and then, a checkpoint with its fsync) never holds up the thread that answers requests.
 * Batches that arrive while it writes are committed together. It runs from its own source text,
 * so nothing outside this function is in scope there: what it needs comes in workerData.
 */
function writerThread() {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const { driver, file, insertSql, existingSql, forgottenSql, epochSql, countSql, attemptSql, busyMs, day: DAY_MS, fields } = workerData as Record<string, string & number>
  const places = workerData.places as number[]
  const salt = workerData.salt as Uint8Array
  const { createHash, createHmac } = require('node:crypto') as typeof import('node:crypto')
  // record.ts's sameRow and this file's makeInterner, whose sources this thread's is prefixed with.
  const { sameRow: same, makeInterner: interner } = globalThis as unknown as { sameRow: typeof sameRow; makeInterner: typeof makeInterner }
  const Driver = require(driver) as typeof BetterSqlite3
  const db = new Driver(file, { timeout: busyMs })
  // NORMAL: a commit survives the process being killed (not a power cut), without an fsync per commit.
  db.pragma('synchronous = NORMAL')
  // Checkpoints (copying the log into the database, with an fsync) are the checkpoint thread's.
  db.pragma('wal_autocheckpoint = 0')
  // What is deleted or overwritten is overwritten with zeros, in the file and its log (erasure).
  db.pragma('secure_delete = ON')
  const insert = db.prepare(insertSql)
  const forgotten = db.prepare(forgottenSql).pluck()
  const count = db.prepare(countSql)
  const existing = db.prepare(existingSql).raw()
  const attempt = db.prepare(attemptSql)
  const intern = interner(db, (entry) => createHash('sha256').update(entry).digest().subarray(0, 16))
  const epoch = db.prepare(epochSql).pluck()
  let known: unknown
  // Whether any event is forgotten: while none is, no digest is made (5 µs an event). Read again
  // with the epoch, which every forget raises.
  const anyForgotten = db.prepare('SELECT 1 FROM signet_forgotten LIMIT 1').pluck()
  let forgetting = true
  // record.ts's forgottenKey.
  const forgottenKey = (id: string) => createHmac('sha256', salt).update(id).digest().subarray(0, 16)
  const write = db.transaction((jobs: WriteJob[]) => {
    const now = epoch.get()
    if (now !== known) intern.reset(), (known = now), (forgetting = !!anyForgotten.get())
    // Keyed kind, name, project: kind and name are words, so the project is whatever follows them.
    const added = new Map<string, number>()
    const up = (kind: string, name: unknown, project: unknown) => {
      const key = `${kind}\n${name}\n${project}`
      added.set(key, (added.get(key) || 0) + 1)
    }
    const results = jobs.map(({ rows, rejected }) => {
      const outcomes: Outcome[] = []
      for (let i = 0; i < rows.length; i += fields) {
        const [project, id, verdict] = rows.slice(i, i + 3) as string[]
        let outcome: Outcome = 'repeat'
        // A forgotten event is absorbed as a repeat.
        if (!(forgetting && forgotten.get(project, forgottenKey(id)))) {
          const row = rows.slice(i + 3 + places.length, i + fields)
          const day = Math.floor((row[2] as number) / DAY_MS)
          places.forEach((place, k) => {
            const value = rows[i + 3 + k]
            row[place] = value === null ? null : intern(k + 1, value as string, day)
          })
          const key = row[1] as Uint8Array
          row[1] = Buffer.from(key.buffer, key.byteOffset, key.byteLength)
          if (insert.run(...row).changes > 0) outcome = 'stored'
          else if (!same(row, existing.get(row[0], row[1]) as unknown[])) outcome = 'conflict'
        }
        outcomes.push(outcome)
        if (outcome == 'stored') up('stored', verdict, project)
        else if (outcome == 'conflict') up('rejected', 'conflict', project)
      }
      for (let i = 0; i < rejected.length; i += 6) {
        up('rejected', rejected[i + 1], rejected[i])
        if (rejected[i + 2] !== null) attempt.run(rejected[i], rejected[i + 2], rejected[i + 1], rejected[i + 3], rejected[i + 4], rejected[i + 5])
      }
      return outcomes
    })
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
    // The message and SQLite's code (SQLITE_FULL…), by which the store tells a full disk from a wrong batch.
    const error = (err: unknown) => ({ error: err instanceof Error ? err.message : String(err), code: (err as { code?: string }).code })
    try {
      write.immediate(jobs).forEach((outcomes, i) => post({ n: jobs[i].n, outcomes }))
    } catch (err) {
      intern.reset()
      // The database is locked, full or failing: every batch fails alike, at once.
      if (jobs.length == 1 || /BUSY|LOCKED|FULL|IOERR|READONLY/.test((err as { code?: string }).code || ''))
        return jobs.forEach(({ n }) => post({ n, ...error(err) }))
      // Otherwise one batch may be at fault: alone, each succeeds or fails on its own.
      for (const job of jobs)
        try {
          post({ n: job.n, outcomes: write.immediate([job])[0] })
        } catch (err) {
          intern.reset()
          post({ n: job.n, ...error(err) })
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
    // Closing checkpoints the log into the file, which a full disk refuses: the log keeps every
    // commit, and the next open copies it. Not a reason to die with an error instead of closing.
    try {
      db.close()
    } catch {}
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
    // As the writer's close: a full disk may refuse the checkpoint; the log keeps what it holds.
    try {
      db.pragma('wal_checkpoint(PASSIVE)')
      db.close()
    } catch {}
    parentPort!.close()
  })
}

const driver = () => loadDriver('better-sqlite3', () => import('better-sqlite3').then((m) => m.default), INSTALL)

const fmt = (n: number) => n.toLocaleString('en-US')

/**
 * Copies schema 2's events into schema 3's table a chunk at a time, each chunk in a transaction of
 * its own: memory stays that of a chunk, and a start after a crash (or a second process starting at
 * once) goes on from the last seq copied. Keeps each event's seq, which the summaries count up to.
 */
function copier(db: Database) {
  const after = '(SELECT coalesce(max(seq), 0) FROM signet_events_3)'
  const intern = makeInterner(db, entryKey)
  const read = db.prepare(`SELECT seq, project, received_at, verdict, event FROM signet_events WHERE seq > ${after} ORDER BY seq LIMIT ?`)
  const insert = db.prepare(`INSERT INTO signet_events_3 (seq, ${ROW_COLUMNS.join(', ')}) VALUES (?, ${ROW_COLUMNS.map(() => '?').join(', ')})`)
  const chunk = () => {
    const rows = read.all(COPY_CHUNK) as { seq: number; project: string; received_at: number; verdict: string; event: string }[]
    for (const r of rows) {
      // The columns are what the record says where it says it (every record since schema 1 does).
      const e = encodeEvent({ project: r.project, receivedAt: r.received_at, verdict: r.verdict, ...JSON.parse(r.event) })
      const day = Math.floor(e.receivedAt / DAY)
      insert.run(r.seq, ...toRow(e, e.strings.map((v, k) => (v === null ? null : intern(k + 1, v, day)))))
    }
    return rows.length
  }
  return {
    left: () => db.prepare(`SELECT count(*) FROM signet_events WHERE seq > ${after}`).pluck().get() as number,
    chunk: db.transaction(() => {
      try {
        return chunk()
      } catch (err) {
        intern.reset()
        throw err
      }
    }),
  }
}

async function copyEvents(copy: ReturnType<typeof copier>, log: Log, progress?: Progress) {
  const total = copy.left()
  if (!total) return
  log(`signet: storing ${fmt(total)} events in schema ${V3} (columns and a dictionary instead of JSON): this runs once`)
  const started = performance.now()
  let done = 0
  let told = 0
  for (let n; (n = copy.chunk.immediate()); done += n) {
    progress?.(done + n, total)
    if (performance.now() - started > told + 5000) {
      told = performance.now() - started
      log(`signet: ${fmt(done)} of ${fmt(total)} events stored in schema ${V3} (${Math.floor((100 * done) / total)}%)`)
    }
    // Other connections (a second process) get their turn between chunks.
    await new Promise((r) => setImmediate(r))
  }
  log(`signet: ${fmt(done)} events stored in schema ${V3} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  progress?.(0, 0)
}

async function migrate(db: Database, file: string, log: Log, progress?: Progress) {
  const version = () => db.pragma('user_version', { simple: true }) as number
  if (version() > VERSION) throw new Error(`signet: ${file} has schema version ${version()}, newer than this Signet knows (${VERSION}): upgrade Signet`)
  // Schema 4 and 5 are steps over the layout of 3, taken once the store is open (rekey, toV5); 6's
  // column comes first, as every statement of this release reads it.
  if (version() >= V3) return void db.transaction(() => withDevice(db, 'signet_events')).immediate()
  db.transaction(() => {
    for (const step of SQLITE_MIGRATIONS.slice(version())) db.exec(step)
    db.pragma(`user_version = ${Math.max(version(), SQLITE_MIGRATIONS.length)}`)
    db.exec(SQLITE_V3.begin)
    withDevice(db, 'signet_events_3')
  }).immediate()
  const copy = copier(db)
  await copyEvents(copy, log, progress)
  db.transaction(() => {
    if (version() >= V3) return
    // What another process stored meanwhile (an older Signet still running) is copied too.
    while (copy.chunk()) {}
    db.exec(SQLITE_V3.end)
    db.pragma(`user_version = ${V3}`)
  }).immediate()
  const free = freeMb(db)
  if (free > 64) log(`signet: the old events' ${fmt(Math.round(free))} MB are free pages inside ${file} now, used again as events come; to give them back to the disk, stop the collector and run: sqlite3 ${file} VACUUM`)
}

/** The pages an old table left free inside the file, in MB: VACUUM gives them back to the disk. */
const freeMb = (db: Database) => ((db.pragma('freelist_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number)) / 2 ** 20

/**
 * A store of an older schema opened for reading only (signet export before any collector started on
 * it): its events read as they were kept, JSON; nothing else of it.
 */
function legacyStore(file: string, db: Database, version: number): Store {
  const refuse = async (): Promise<never> => {
    throw new Error(`signet: ${file} has schema version ${version}: start the collector on it once to bring it to ${VERSION}`)
  }
  return {
    description: `sqlite ${file}`,
    async *lines({ project, since } = {}) {
      const where = [project !== undefined && 'project = ?', since !== undefined && 'received_at >= ?'].filter(Boolean)
      const rows = db
        .prepare(`SELECT event FROM signet_events${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY seq`)
        .pluck()
        .iterate(...[project, since].filter((v) => v !== undefined))
      for (const row of rows) yield row as string
    },
    add: refuse,
    counts: refuse,
    recent: refuse,
    rollUp: refuse,
    overview: refuse,
    people: refuse,
    person: refuse,
    timeline: refuse,
    names: refuse,
    eventsByDay: refuse,
    attempts: refuse,
    forget: refuse,
    expireForgotten: refuse,
    purge: refuse,
    async close() {
      db.close()
    },
  }
}

/**
 * The transactions of a schema 3 store that the release before schema 3 keyed "tx:<order>", with
 * the key they are to have (record.ts's rekeyedTransaction): their seq, project number and record.
 */
function rekeyed(db: Database) {
  const { columns: RECORD_COLUMNS, from: RECORD_FROM } = recordsOf(db)
  const rows = db.prepare(`SELECT e.project AS n_project, ${RECORD_COLUMNS} FROM ${RECORD_FROM} WHERE e.type = ?`).all(typeCode('transaction')) as (RecordRow & { n_project: number })[]
  return rows.flatMap((r) => {
    const record = recordOf(r)
    const key = rekeyedTransaction(record)
    return key ? [{ seq: Number(r.seq), project: r.n_project, record, key }] : []
  })
}

/**
 * What a file holds, read without changing it: its schema version, and the events a migration to
 * this release's would copy (those a migration cut short left). Undefined when there is no file.
 */
export async function sqliteSchemaOf(file: string): Promise<SchemaState | undefined> {
  if (!existsSync(file)) return undefined
  const Driver = await driver()
  const db = new Driver(file, { readonly: true, timeout: BUSY_MS })
  try {
    const version = db.pragma('user_version', { simple: true }) as number
    const has = (table: string) => !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)
    const forgotten = version < 5 && has('signet_forgotten') ? (db.prepare('SELECT count(*) FROM signet_forgotten').pluck().get() as number) : 0
    if (version >= V3 || !has('signet_events')) return { version, events: 0, transactions: version == V3 && has('signet_events') ? rekeyed(db).length : 0, forgotten }
    const after = has('signet_events_3') ? '(SELECT coalesce(max(seq), 0) FROM signet_events_3)' : '0'
    return {
      version,
      events: db.prepare(`SELECT count(*) FROM signet_events WHERE seq > ${after}`).pluck().get() as number,
      transactions: oldKeys(db.prepare("SELECT id, event FROM signet_events WHERE id LIKE 'tx:%'").all() as { id: string; event: string }[]),
      forgotten,
    }
  } finally {
    db.close()
  }
}

/**
 * The write-ahead log copied into the file and emptied (TRUNCATE): the frames that held what an
 * erasure deleted are gone from the disk's view of the store. Readers and writers of other
 * processes hold it up for a moment; tried for up to 30 s, then said in a line (the next
 * checkpoint of the collector's own copies the log, but does not empty it).
 */
async function checkpointed(db: Database, log: Log, file: string) {
  for (const started = Date.now(); ; await new Promise((r) => setTimeout(r, 50))) {
    try {
      const [{ busy }] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[]
      if (!busy) return
    } catch (err) {
      if (!/BUSY|LOCKED/.test((err as { code?: string }).code || '')) throw err
    }
    if (Date.now() - started > 30_000) return log(`sqlite ${file}: the write-ahead log could not be emptied after an erasure (other connections kept reading); what it held is overwritten as it is used again`, 'warn')
  }
}

export async function openSqliteStore(file: string, { readonly = false, mustExist = false, log = console.error, now = Date.now, onMigration }: StoreOptions = {}): Promise<Store> {
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
    // What is deleted or overwritten is overwritten with zeros, in the file and its log (erasure).
    db.pragma('secure_delete = ON')
    try {
      await migrate(db, file, log, onMigration)
    } catch (err) {
      db.close()
      throw err
    }
  } else {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version < V3) return legacyStore(file, db, version)
  }
  const { columns: RECORD_COLUMNS, from: RECORD_FROM, strings } = recordsOf(db)
  const selectCounts = db.prepare('SELECT kind, name, n FROM signet_counts WHERE project = ?')
  const records = (sql: string) => db.prepare(`SELECT ${RECORD_COLUMNS} FROM ${RECORD_FROM} ${sql}`)
  const selectRecent = records(`WHERE e.project = ${PROJECT} ORDER BY e.received_at DESC, e.seq DESC LIMIT ?`)
  const selectPerson = records(`WHERE e.project = ${PROJECT} AND e.person = ${PERSON} ORDER BY e.received_at DESC, e.seq DESC LIMIT ? OFFSET ?`)
  const personTransactions = db.prepare(PERSON_TRANSACTIONS_SQL(PROJECT, PERSON))

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
        chunk: records('WHERE e.seq > ? ORDER BY e.seq LIMIT ?'),
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
  // Attempts past their bound, cut from the biggest senders first (rollup.ts).
  const trimAttempts = db.transaction(() => {
    if ((db.prepare('SELECT count(*) FROM signet_attempts').pluck().get() as number) <= MAX_ATTEMPTS) return
    const cap = attemptCap(db.prepare(ATTEMPTS_PER_SENDER).pluck().all() as number[], ATTEMPTS_KEPT)
    db.prepare(TRIM_ATTEMPTS('?')).run(cap)
  })
  // A chunk read and summed in one transaction: a forget in another process waits, and sees it whole.
  const rollUp = db.transaction(() => {
    const rows = console_!.chunk.all(console_!.upto.get(), ROLLUP_CHUNK) as RecordRow[]
    if (!rows.length) return 0
    apply(summarise(rows.map((r) => rowOf(recordOf(r)))), 1)
    console_!.setUpto.run(rows[rows.length - 1].seq)
    return rows.length
  })
  // The dictionary's entries among `ids` that no event uses (a forget's, once its events are
  // deleted), deleted: looked for among the events of the days each was used on, as its first and
  // last day say. The caller raises the epoch in the same transaction (makeInterner).
  const unusedGone = (ids: Iterable<number>) => {
    const entry = db.prepare('SELECT kind, first_day, last_day FROM signet_strings WHERE id = ?')
    const drop = db.prepare('DELETE FROM signet_strings WHERE id = ?')
    let n = 0
    for (const id of ids) {
      const r = entry.get(id) as { kind: number; first_day: number; last_day: number } | undefined
      if (!r || r.kind == kindOf('project')) continue
      const used = db
        .prepare(`SELECT 1 FROM signet_events WHERE project IN (SELECT id FROM signet_strings WHERE kind = ${kindOf('project')}) AND received_at >= ? AND received_at < ? AND ${STRING_COLUMNS[r.kind - 1]} = ? LIMIT 1`)
        .get(r.first_day * DAY, (r.last_day + 1) * DAY, id)
      if (!used) n += drop.run(id).changes
    }
    return n
  }
  // Events of one person, and the anonymous events of the anonymous ids theirs carried; with the
  // dictionary's numbers of their strings, which may have no other use.
  const numbers = strings.map((c) => `e.${c} AS n_${c}`)
  const own = db.prepare(`SELECT ${RECORD_COLUMNS}, ${numbers} FROM ${RECORD_FROM} WHERE e.person = ${PERSON} AND (? IS NULL OR e.project = ${PROJECT})`)
  const carried = db.prepare(`SELECT ${RECORD_COLUMNS}, ${numbers} FROM ${RECORD_FROM} WHERE e.project = ? AND e.person IS NULL AND e.anonymous = ?`)
  const forget = db.transaction((personId: string, project: string | null) => {
    type Row = RecordRow & { [n: `n_${string}`]: number | null }
    const rows = new Map<number, Row>()
    for (const r of own.all(keyOf(personId), project, project === null ? null : keyOf(project)) as Row[]) rows.set(Number(r.seq), r)
    const anonymous = new Set([...rows.values()].filter((r) => r.n_anonymous !== null).map((r) => `${r.n_project} ${r.n_anonymous}`))
    for (const key of anonymous) for (const r of carried.all(...key.split(' ').map(Number)) as Row[]) rows.set(Number(r.seq), r)
    const upto = console_!.upto.get() as number
    const records = [...rows.values()].map((r) => ({ seq: Number(r.seq), record: recordOf(r) }))
    apply(summarise(records.filter((r) => r.seq <= upto).map((r) => rowOf(r.record))), -1)
    for (const [p, verdict, n] of countBy(records.map((r) => r.record))) console_!.count.run(p, 'stored', verdict, -n)
    const gone = db.prepare('DELETE FROM signet_events WHERE seq = ?')
    const remember = db.prepare('INSERT INTO signet_forgotten VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    const today = Math.floor(now() / DAY)
    for (const { seq, record } of records) {
      gone.run(seq)
      remember.run(record.project, forgottenKey(salt(), record.id), today)
    }
    unusedGone(new Set([...rows.values()].flatMap((r) => strings.slice(1).map((c) => r[`n_${c}`]).filter((n) => n != null) as number[])))
    // Every writer drops its cached numbers, and learns that events are forgotten (makeInterner, writerThread).
    if (rows.size) db.prepare('UPDATE signet_dictionary SET epoch = epoch + 1').run()
    for (const table of ['signet_people', 'signet_day_people', 'signet_attempts'])
      db.prepare(`DELETE FROM ${table} WHERE person_id = ? AND (? IS NULL OR project = ?)`).run(personId, project, project)
    return rows.size
  })
  // Schema 4: the transactions the release before schema 3 kept under "tx:<order>" take the key the
  // releases since give them, their maker's, so that an order sent again is absorbed; one sent
  // again already, and stored a second time under that key, goes (its first copy stays), out of the
  // counts and the summaries.
  const rekey = db.transaction(() => {
    if ((db.pragma('user_version', { simple: true }) as number) >= 4) return undefined
    const twin = db.prepare(`SELECT ${RECORD_COLUMNS} FROM ${RECORD_FROM} WHERE e.project = ? AND e.id = ?`)
    const setId = db.prepare('UPDATE signet_events SET id = ? WHERE seq = ?')
    const gone = db.prepare('DELETE FROM signet_events WHERE seq = ?')
    const upto = console_!.upto.get() as number
    const twice: { seq: number; record: StoredEvent }[] = []
    const found = rekeyed(db)
    for (const { seq, project, key } of found) {
      const second = twin.get(project, idKey(key)) as RecordRow | undefined
      if (second) {
        twice.push({ seq: Number(second.seq), record: recordOf(second) })
        gone.run(second.seq)
      }
      setId.run(idKey(key), seq)
    }
    const summed = twice.filter((t) => t.seq <= upto)
    apply(summarise(summed.map((t) => rowOf(t.record))), -1)
    for (const { record } of summed) if (record.verdict == 'verified') db.prepare('UPDATE signet_people SET n = n - 1 WHERE project = ? AND person_id = ?').run(record.project, record.personId)
    for (const [p, verdict, n] of countBy(twice.map((t) => t.record))) console_!.count.run(p, 'stored', verdict, -n)
    db.pragma('user_version = 4')
    return { rekeyed: found.length, twice: twice.length }
  })
  // Schema 5 (SQLITE_V5): the forgotten ids become digests under a salt made now; the entries a
  // forget of an earlier release left for later are deleted now if nothing uses them.
  const toV5 = db.transaction(() => {
    if ((db.pragma('user_version', { simple: true }) as number) >= 5) return undefined
    db.exec(SQLITE_V5.begin)
    const made = randomBytes(32)
    db.prepare('INSERT INTO signet_salt VALUES (?)').run(made)
    const today = Math.floor(now() / DAY)
    const copy = db.prepare('INSERT INTO signet_forgotten_5 VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    const old = db.prepare('SELECT project, id FROM signet_forgotten').all() as { project: string; id: string }[]
    for (const { project, id } of old) copy.run(project, forgottenKey(made, id), today)
    unusedGone((db.prepare('SELECT id FROM signet_doomed').pluck().all() as number[]).values())
    db.exec(SQLITE_V5.end)
    db.pragma('user_version = 5')
    return old.length
  })
  // Schema 6: its column was added as the store was opened (migrate).
  const toV6 = db.transaction(() => (db.pragma('user_version', { simple: true }) as number) < 6 && db.pragma('user_version = 6'))
  let salt_: Buffer | undefined
  const salt = () => (salt_ ??= db.prepare('SELECT salt FROM signet_salt').pluck().get() as Buffer)
  const purgeChunk = db.transaction((before: number) => {
    const gone = db
      .prepare(
        'DELETE FROM signet_events WHERE seq IN (SELECT seq FROM signet_events WHERE received_at < ? ORDER BY seq LIMIT ?) RETURNING (SELECT value FROM signet_strings WHERE id = project) AS project, verdict',
      )
      .all(before, PURGE_CHUNK) as { project: string; verdict: number | null }[]
    for (const [project, verdict, n] of countBy(gone.map((g) => ({ project: JSON.parse(g.project), verdict: verdictOfCode(g.verdict)! }))))
      console_!.count.run(project, 'stored', verdict, -n)
    return gone.length
  })
  const purgeSummaries = db.transaction((before: number) => {
    const day = Math.floor(before / DAY)
    for (const table of ['signet_days', 'signet_day_people', 'signet_day_names']) db.prepare(`DELETE FROM ${table} WHERE day < ?`).run(day)
    db.prepare('DELETE FROM signet_people WHERE last_seen < ?').run(before)
    db.prepare('DELETE FROM signet_attempts WHERE received_at < ?').run(before)
    // Every event of the days before is gone, so are the dictionary's entries only they used (not
    // those used yesterday or today, which a process may have cached as in use: makeInterner).
    db.prepare('DELETE FROM signet_strings WHERE last_day < ?').run(Math.min(day, Math.floor(now() / DAY) - 1))
  })
  // SQLite has one writer: a long task of many chunks (a purge, summing up a backlog) that went from
  // one chunk to the next took the write lock from ingestion most of the time (a purge of 1,000,000
  // events measured 0.16x the events/s, p99 20x). After each chunk it now leaves the lock free twice
  // as long as the chunk held it: ingestion keeps two thirds of the writer, the task takes 3x longer.
  const breathe = (since: number) => new Promise((r) => setTimeout(r, Math.min(1000, 2 * (performance.now() - since))))

  // A write's failure as an Error with SQLite's code; a full disk's says how much room is left, and where.
  const writeError = ({ error, code }: { error: string; code?: string }) => {
    let text = error
    if (code == 'SQLITE_FULL') {
      let free = 'unknown'
      try {
        const { bavail, bsize } = statfsSync(dirname(file))
        free = `${fmt(Math.round((bavail * bsize) / 1024))} KB`
      } catch {}
      text = `${file}: ${error} (${free} free on its disk)`
    }
    return Object.assign(new Error(text), { code })
  }
  const calls = new Map<number, { resolve: (outcomes: Outcome[]) => void; reject: (err: Error) => void }>()
  let n = 0
  let thread: Worker | undefined
  const fail = (err: Error) => {
    calls.forEach((call) => call.reject(err))
    calls.clear()
  }
  const shared = { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file, busyMs: BUSY_MS }
  const start = () => {
    const started = new Worker(`globalThis.sameRow = ${sameRow};\nglobalThis.makeInterner = ${makeInterner};\n(${writerThread})()`, {
      eval: true,
      workerData: {
        ...shared,
        ...{ insertSql: INSERT, existingSql: EXISTING, forgottenSql: FORGOTTEN, epochSql: EPOCH, countSql: COUNT, attemptSql: ATTEMPT, salt: salt() },
        ...{ day: DAY, fields: WRITE_FIELDS, places: STRING_PLACES },
      },
    })
    started.on('message', (result: WriteResult) => {
      const call = calls.get(result.n)
      calls.delete(result.n)
      if ('error' in result) call?.reject(writeError(result))
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
  if (!readonly) {
    const done = rekey.immediate()
    if (done?.rekeyed)
      log(`signet: ${fmt(done.rekeyed)} transactions the release before schema 3 kept under tx:<order> now have their maker's key (schema 4)${done.twice ? `; ${fmt(done.twice)} of them stored a second time since (sent again after an upgrade) are kept once` : ''}`)
    const digested = toV5.immediate()
    if (digested) {
      log(`signet: the ids of ${fmt(digested)} forgotten events are kept as keyed digests now, no longer as they were (schema 5)`)
      checkpointed(db, log, file)
    }
    toV6.immediate()
    thread = start()
  }
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
      for (const e of events) {
        const c = encodeEvent(e as unknown as Record<string, unknown>)
        rows.push(e.project, e.id, e.verdict, ...c.strings, ...toRow(c, NO_NUMBERS))
      }
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
      const rows = (person === undefined ? selectRecent.all(keyOf(project), limit) : selectPerson.all(keyOf(project), keyOf(person), limit, 0)) as RecordRow[]
      return rows.map(recordOf)
    },
    async *lines({ project, since } = {}) {
      // Its own connection: an open iteration keeps a connection busy, and it may last long.
      const reader = new Driver(file, { readonly: true, timeout: BUSY_MS })
      try {
        const where = [project !== undefined && `e.project = ${PROJECT}`, since !== undefined && 'e.received_at >= ?'].filter(Boolean)
        const rows = reader
          .prepare(`SELECT ${RECORD_COLUMNS} FROM ${RECORD_FROM}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY e.seq`)
          .iterate(...[project === undefined ? undefined : keyOf(project), since].filter((v) => v !== undefined))
        for (const row of rows) yield JSON.stringify(recordOf(row as RecordRow))
      } finally {
        reader.close()
      }
    },
    async rollUp() {
      if (!console_) return
      // One chunk at a time, with a pause after each (breathe), so that requests are answered in between.
      for (let since = performance.now(); rollUp.immediate() == ROLLUP_CHUNK; since = performance.now()) await breathe(since)
      trimAttempts.immediate()
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
      const revenue = db.prepare(REVENUE_SQL('?', '?', '?')).all(project, first, last) as Parameters<typeof overviewDays>[4]
      return { ...overviewDays(first, last, events, people, revenue), verdicts: Object.fromEntries(verdicts), rejected: Object.fromEntries(rejected) }
    },
    async people(project, { period, prefix, search, limit, offset = 0 }) {
      const asked = search ? peopleSearch(search) : undefined
      const [where, args] = !asked
        ? ['', []]
        : 'text' in asked
          ? [' AND (instr(lower(person_id), ?) > 0 OR instr(lower(coalesce(props, \'\')), ?) > 0)', [asked.text, asked.text]]
          : [' AND CAST(json_extract(props, ?) AS TEXT) = ?', [`$."${asked.property}"`, asked.value]]
      const rows = db
        .prepare(
          `SELECT person_id, first_seen, last_seen, n, props FROM signet_people WHERE project = ? AND last_seen >= ? AND first_seen < ?${prefix ? ' AND person_id >= ? AND person_id < ?' : ''}${where} ORDER BY last_seen DESC LIMIT ? OFFSET ?`,
        )
        .all(project, period.from, period.to, ...(prefix ? [prefix, prefix + '\uffff'] : []), ...args, limit, offset) as Parameters<typeof person>[0][]
      return rows.map(person)
    },
    async person(project, personId) {
      const row = db.prepare('SELECT person_id, first_seen, last_seen, n, props FROM signet_people WHERE project = ? AND person_id = ?').get(project, personId)
      if (!row) return undefined
      const transactions = personTransactions.all(keyOf(project), keyOf(personId)) as { verdict: number | null; props: string | null }[]
      return { ...person(row as Parameters<typeof person>[0]), revenue: personRevenue(transactions) }
    },
    async timeline(project, personId, { limit, offset = 0 }) {
      return (selectPerson.all(keyOf(project), keyOf(personId), limit, offset) as RecordRow[]).map(recordOf)
    },
    async names(project, period, limit) {
      const [first, last] = daysOf(period)
      const top = (kind: string) =>
        db
          .prepare('SELECT name, sum(n) AS n FROM signet_day_names WHERE project = ? AND day BETWEEN ? AND ? AND kind = ? GROUP BY name ORDER BY n DESC, name LIMIT ?')
          .all(project, first, last, kind, limit) as { name: string; n: number }[]
      return Object.fromEntries(Object.entries(NAMED_KINDS).map(([list, kind]) => [list, top(kind)])) as NamedLists
    },
    async eventsByDay(project, period, names) {
      if (!names.length) return []
      const [first, last] = daysOf(period)
      const rows = db
        .prepare(
          `SELECT day, name, sum(n) AS n FROM signet_day_names WHERE project = ? AND day BETWEEN ? AND ? AND kind = 'event' AND name IN (${names.map(() => '?').join(',')}) GROUP BY day, name ORDER BY day, name`,
        )
        .all(project, first, last, ...names) as { day: number; name: string; n: number }[]
      return rows.map((r) => ({ day: isoDay(r.day), name: r.name, n: r.n }))
    },
    async attempts(project, period, limit) {
      const rows = db
        .prepare('SELECT person_id, reason, received_at, ip, origin FROM signet_attempts WHERE project = ? AND received_at >= ? AND received_at < ?')
        .all(project, period.from, period.to) as AttemptRow[]
      return groupAttempts(rows, limit)
    },
    // A write that changes nothing but still goes through the log: a full disk or a read-only file
    // refuses it as it would a batch (a read would pass).
    async ping() {
      if (console_) console_.setUpto.run(console_.upto.get())
    },
    async forget(personId, project) {
      if (!console_) throw new Error('signet: this store is open for reading only')
      const n = forget.immediate(personId, project ?? null)
      // What the log still holds of the deleted rows (its earlier frames) goes with it.
      await checkpointed(db, log, file)
      return n
    },
    async expireForgotten(before) {
      if (!console_) throw new Error('signet: this store is open for reading only')
      return db.prepare('DELETE FROM signet_forgotten WHERE day < ?').run(Math.floor(before / DAY)).changes
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
          const exited = new Promise((resolve) => worker.once('exit', resolve))
          worker.postMessage('close')
          await exited
        }
      // A full disk may refuse the checkpoint closing makes: what the log holds stays there, for the next open.
      try {
        if (db.open) db.close()
      } catch (err) {
        log(`sqlite ${file}: closed without copying the write-ahead log into the file (${(err as Error).message}); the next start copies it`, 'warn')
      }
    },
  }
}
