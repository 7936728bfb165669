import type BetterSqlite3 from 'better-sqlite3'
import { once } from 'node:events'
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import { jsonOf, type StoredEvent } from '../verify/batch'
import { loadDriver, sameEvent, tally, type Outcome, type Store, type StoreOptions } from './store'

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
]

const INSERT = 'INSERT INTO signet_events (project, id, received_at, person_id, verdict, event) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING'
const COUNT = 'INSERT INTO signet_counts (project, kind, name, shard, n) VALUES (?, ?, ?, 0, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n'
// Another process holding the write lock is waited for this long before a write fails.
const BUSY_MS = 5000
const CHECKPOINT = { everyMs: 100, restartFrames: 4096 }
const INSTALL = 'npm install better-sqlite3@12'

/** A batch for the writer thread: six columns per event, flat, and the rejections to count as (project, reason) pairs. */
interface WriteJob {
  n: number
  rows: (string | number | null)[]
  rejected: string[]
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
  const { driver, file, insertSql, countSql, busyMs } = workerData as Record<string, string & number>
  // store.ts's sameEvent, whose source this thread's is prefixed with.
  const same = (globalThis as unknown as { sameEvent: typeof sameEvent }).sameEvent
  const Driver = require(driver) as typeof BetterSqlite3
  const db = new Driver(file, { timeout: busyMs })
  // NORMAL: a commit survives the process being killed (not a power cut), without an fsync per commit.
  db.pragma('synchronous = NORMAL')
  // Checkpoints (copying the log into the database, with an fsync) are the checkpoint thread's.
  db.pragma('wal_autocheckpoint = 0')
  const insert = db.prepare(insertSql)
  const count = db.prepare(countSql)
  const existing = db.prepare('SELECT event FROM signet_events WHERE project = ? AND id = ?').pluck()
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
        const stored = insert.run(rows[i], rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], rows[i + 5]).changes > 0
        const outcome = stored ? 'stored' : same(existing.get(rows[i], rows[i + 1]) as string, rows[i + 5] as string) ? 'repeat' : 'conflict'
        outcomes.push(outcome)
        if (outcome == 'stored') up('stored', rows[i + 4], rows[i])
        else if (outcome == 'conflict') up('rejected', 'conflict', rows[i])
      }
      for (let i = 0; i < rejected.length; i += 2) up('rejected', rejected[i + 1], rejected[i])
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

export async function openSqliteStore(file: string, { readonly = false }: StoreOptions = {}): Promise<Store> {
  if (readonly && !existsSync(file)) throw new Error(`signet: no store at ${file}`)
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
      workerData: { ...shared, insertSql: INSERT, countSql: COUNT },
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
        outgoing.push({ n, rows, rejected: rejected.flatMap((r) => [r.project, r.reason]) })
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
