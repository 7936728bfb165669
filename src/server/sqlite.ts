import type BetterSqlite3 from 'better-sqlite3'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { StoredEvent } from './batch'
import { loadDriver, tally, type Rejected, type Store, type StoreOptions } from './store'

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

const connect = async (file: string, options: BetterSqlite3.Options) => {
  const Driver = await loadDriver('better-sqlite3', () => import('better-sqlite3').then((m) => m.default), 'npm install better-sqlite3@12')
  return new Driver(file, options)
}

function migrate(db: Database, file: string) {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > SQLITE_MIGRATIONS.length)
      throw new Error(`signet: ${file} has schema version ${version}, newer than this Signet knows (${SQLITE_MIGRATIONS.length}): upgrade Signet`)
    for (const step of SQLITE_MIGRATIONS.slice(version)) db.exec(step)
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`)
  }).immediate()
}

interface Job {
  events: readonly StoredEvent[]
  rejected: readonly Rejected[]
  resolve: (fresh: boolean[]) => void
  reject: (err: unknown) => void
}

export async function openSqliteStore(file: string, { readonly = false }: StoreOptions = {}): Promise<Store> {
  if (readonly && !existsSync(file)) throw new Error(`signet: no store at ${file}`)
  if (!readonly) mkdirSync(dirname(file), { recursive: true })
  // Another connection holding the write lock is waited for, up to 5 s, before a write fails.
  const writer = await connect(file, { timeout: 5000, readonly })
  if (!readonly) {
    // WAL: readers never block the writer; NORMAL: a commit survives the process being killed
    // (not a power cut), without an fsync per commit.
    writer.pragma('journal_mode = WAL')
    writer.pragma('synchronous = NORMAL')
    migrate(writer, file)
  }
  const insert = writer.prepare(
    'INSERT INTO signet_events (project, id, received_at, person_id, verdict, event) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  )
  const count = writer.prepare(
    'INSERT INTO signet_counts (project, kind, name, shard, n) VALUES (?, ?, ?, 0, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n',
  )
  const selectCounts = writer.prepare('SELECT kind, name, n FROM signet_counts WHERE project = ?')
  const selectRecent = writer.prepare('SELECT event FROM signet_events WHERE project = ? ORDER BY received_at DESC, seq DESC LIMIT ?').pluck()
  const selectPerson = writer
    .prepare('SELECT event FROM signet_events WHERE project = ? AND person_id = ? ORDER BY received_at DESC, seq DESC LIMIT ?')
    .pluck()

  const write = writer.transaction((jobs: Job[]) => {
    const added = new Map<string, number>()
    const up = (...row: [project: string, kind: string, name: string]) => {
      const key = JSON.stringify(row)
      added.set(key, (added.get(key) || 0) + 1)
    }
    const results = jobs.map(({ events, rejected }) => {
      const fresh = events.map(
        (e) => insert.run(e.project, e.id, e.receivedAt, e.personId ?? null, e.verdict, JSON.stringify(e)).changes > 0,
      )
      events.forEach((e, i) => fresh[i] && up(e.project, 'stored', e.verdict))
      for (const r of rejected) up(r.project, 'rejected', r.reason)
      return fresh
    })
    for (const [key, n] of added) count.run(...(JSON.parse(key) as string[]), n)
    return results
  })

  // Batches that arrive together are committed together: one commit for many requests.
  let pending: Job[] = []
  const flush = () => {
    const jobs = pending
    pending = []
    try {
      write(jobs).forEach((fresh, i) => jobs[i].resolve(fresh))
    } catch {
      // Alone, each batch succeeds or fails on its own.
      for (const job of jobs)
        try {
          job.resolve(write([job])[0])
        } catch (err) {
          job.reject(err)
        }
    }
  }

  return {
    description: `sqlite ${file}`,
    add(events, rejected = []) {
      if (readonly) return Promise.reject(new Error('signet: this store is open for reading only'))
      return new Promise((resolve, reject) => {
        if (!pending.length) setImmediate(flush)
        pending.push({ events, rejected, resolve, reject })
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
      const reader = await connect(file, { readonly: true, timeout: 5000 })
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
      if (pending.length) flush()
      writer.close()
    },
  }
}
