import type { Pool, PoolClient } from 'pg'
import type { StoredEvent } from '../verify/batch'
import { eventKey, freshFlags, loadDriver, sameEvent, tally, type Outcome, type Rejected, type Store, type StoreOptions } from './store'

/**
 * The schema, one step per version (signet_schema.version counts the steps applied). A new version
 * appends a step; a published step never changes. docs/storage.md shows the same SQL.
 */
export const POSTGRES_MIGRATIONS = [
  `CREATE TABLE signet_events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project text NOT NULL,
  id text NOT NULL,
  received_at bigint NOT NULL,
  person_id text,
  verdict text NOT NULL,
  event text NOT NULL,
  UNIQUE (project, id)
);
CREATE INDEX signet_events_time ON signet_events (project, received_at);
CREATE INDEX signet_events_person ON signet_events (project, person_id, received_at) WHERE person_id IS NOT NULL;
CREATE TABLE signet_counts (
  project text NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  shard smallint NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (project, kind, name, shard)
);`,
]

// Counters are spread over shards: one row per counter would make every writer in every process
// wait, at commit, for the one before it.
const SHARDS = 16
// Serializes schema changes between collectors starting at once; any fixed number will do.
const MIGRATION_LOCK = 0x516e6574

// One statement, so one round trip: events in (project, id) order, which is also the order every
// other transaction locks them in (no deadlock between two batches holding the same events), then
// the counts of what was new and of what was rejected.
const ADD = `WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
    AS t(project, id, received_at, person_id, verdict, event)
  ORDER BY project, id
), inserted AS (
  INSERT INTO signet_events (project, id, received_at, person_id, verdict, event)
  SELECT * FROM input
  ON CONFLICT (project, id) DO NOTHING
  RETURNING project, id, verdict
), tallied AS (
  SELECT project, 'stored' AS kind, verdict AS name, count(*) AS n FROM inserted GROUP BY project, verdict
  UNION ALL
  SELECT project, 'rejected', reason, count(*) FROM unnest($7::text[], $8::text[]) AS r(project, reason) GROUP BY 1, 3
), counted AS (
  INSERT INTO signet_counts (project, kind, name, shard, n)
  SELECT project, kind, name, $9, n FROM tallied ORDER BY project, kind, name
  ON CONFLICT (project, kind, name, shard) DO UPDATE SET n = signet_counts.n + excluded.n
)
SELECT project, id FROM inserted`

const EXISTING = 'SELECT project, id, event FROM signet_events WHERE (project, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))'
const COUNT_CONFLICTS = `INSERT INTO signet_counts (project, kind, name, shard, n)
  SELECT project, 'rejected', 'conflict', $2, count(*) FROM unnest($1::text[]) AS c(project) GROUP BY project ORDER BY project
  ON CONFLICT (project, kind, name, shard) DO UPDATE SET n = signet_counts.n + excluded.n`

// Batches that arrive while these many statements are writing wait, then go together as one: one
// commit (and fsync) for many requests. More than one, so that a commit's wait overlaps the next.
const WRITING = 2
// Events in one statement at the most.
const STATEMENT_EVENTS = 5000

// deadlock_detected, serialization_failure: nothing was written, and the same statement will succeed.
const RETRYABLE = new Set(['40P01', '40001'])

/** host:port/database of a connection string, for messages: never its user or password, nor anything of a URL that is not PostgreSQL's. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.protocol == 'postgres:' || u.protocol == 'postgresql:') return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname || '/'}`
  } catch {}
  return '(unreadable SIGNET_DATABASE_URL)'
}

async function migrate(pool: Pool) {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query('CREATE TABLE IF NOT EXISTS signet_schema (version integer NOT NULL)')
    const { rows } = await client.query<{ version: number }>('SELECT version FROM signet_schema')
    const version = rows[0]?.version ?? 0
    if (version > POSTGRES_MIGRATIONS.length)
      throw new Error(`signet: the database has schema version ${version}, newer than this Signet knows (${POSTGRES_MIGRATIONS.length}): upgrade Signet`)
    for (const step of POSTGRES_MIGRATIONS.slice(version)) await client.query(step)
    await client.query('DELETE FROM signet_schema')
    await client.query('INSERT INTO signet_schema (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length])
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

export async function openPostgresStore(url: string, { readonly = false, log = () => {} }: StoreOptions = {}): Promise<Store> {
  const pg = await loadDriver('pg', () => import('pg').then((m) => m.default), 'npm install pg')
  const where = describeUrl(url)
  const pool = new pg.Pool({ connectionString: url, max: 8 })
  // An idle connection the server dropped is replaced by the pool; unhandled, it would end the process.
  pool.on('error', (err: Error) => log(`postgres ${where}: ${err.message}`))
  try {
    if (readonly) await pool.query('SELECT 1 FROM signet_events LIMIT 0')
    else await migrate(pool)
  } catch (err) {
    await pool.end()
    throw new Error(`signet: PostgreSQL at ${where}: ${(err as Error).message.replace(/^signet: /, '')}`)
  }

  const run = async (events: readonly StoredEvent[], rejected: readonly Rejected[]) => {
    // The event is kept as JSON text, as SQLite keeps it: jsonb refuses \u0000 and lone surrogates,
    // which JSON.stringify writes for text a page may well send (a title cut inside an emoji).
    const params = [
      events.map((e) => e.project),
      events.map((e) => e.id),
      events.map((e) => e.receivedAt),
      events.map((e) => e.personId ?? null),
      events.map((e) => e.verdict),
      events.map((e) => JSON.stringify(e)),
      rejected.map((r) => r.project),
      rejected.map((r) => r.reason),
    ]
    for (let attempt = 0; ; attempt++)
      try {
        return await pool.query<{ project: string; id: string }>(ADD, [...params, Math.floor(Math.random() * SHARDS)])
      } catch (err) {
        if (attempt >= 2 || !RETRYABLE.has((err as { code?: string }).code!)) throw err
      }
  }

  interface Job {
    events: readonly StoredEvent[]
    rejected: readonly Rejected[]
    resolve: (outcomes: Outcome[]) => void
    reject: (err: unknown) => void
  }

  /**
   * What became of events the insert did not store: each compared with the row under its id, read
   * after the insert (which waited for any other collector writing it to commit), and a conflict
   * counted as a rejection.
   */
  const outcomesOf = async (events: readonly StoredEvent[], fresh: boolean[]): Promise<Outcome[]> => {
    const others = events.filter((_, i) => !fresh[i])
    const held = new Map<string, string>()
    if (others.length) {
      const { rows } = await pool.query<{ project: string; id: string; event: string }>(EXISTING, [others.map((e) => e.project), others.map((e) => e.id)])
      for (const row of rows) held.set(eventKey(row), row.event)
    }
    const outcomes = events.map((e, i): Outcome => {
      const stored = held.get(eventKey(e))
      return fresh[i] ? 'stored' : stored === undefined || sameEvent(stored, JSON.stringify(e)) ? 'repeat' : 'conflict'
    })
    const conflicts = events.filter((_, i) => outcomes[i] == 'conflict').map((e) => e.project)
    if (conflicts.length) await pool.query(COUNT_CONFLICTS, [conflicts, Math.floor(Math.random() * SHARDS)])
    return outcomes
  }

  const pending: Job[] = []
  let writing = 0
  const write = async (jobs: Job[]): Promise<void> => {
    try {
      const events = jobs.flatMap((job) => job.events)
      const { rows } = await run(events, jobs.flatMap((job) => job.rejected))
      const outcomes = await outcomesOf(events, freshFlags(events, new Set(rows.map(eventKey))))
      let at = 0
      for (const job of jobs) job.resolve(outcomes.slice(at, (at += job.events.length)))
    } catch (err) {
      if (jobs.length == 1) return jobs[0].reject(err)
      // One batch may be at fault: alone, each succeeds or fails on its own.
      for (const job of jobs) await write([job])
    }
  }
  const pump = () => {
    while (pending.length && writing < WRITING) {
      let size = 0
      const count = pending.findIndex((job) => (size += job.events.length) > STATEMENT_EVENTS)
      const jobs = pending.splice(0, count > 0 ? count : count == 0 ? 1 : pending.length)
      writing++
      void write(jobs).finally(() => {
        writing--
        pump()
      })
    }
  }

  return {
    description: `postgres ${where}`,
    async add(events, rejected = []) {
      if (readonly) throw new Error('signet: this store is open for reading only')
      if (!events.length && !rejected.length) return []
      return new Promise((resolve, reject) => {
        pending.push({ events, rejected, resolve, reject })
        pump()
      })
    },
    async counts(project) {
      const { rows } = await pool.query<{ kind: string; name: string; n: string }>(
        'SELECT kind, name, sum(n) AS n FROM signet_counts WHERE project = $1 GROUP BY kind, name',
        [project],
      )
      return tally(rows)
    },
    async recent(project, { limit, person }) {
      const { rows } = await (person === undefined
        ? pool.query<{ event: string }>('SELECT event FROM signet_events WHERE project = $1 ORDER BY received_at DESC, seq DESC LIMIT $2', [
            project,
            limit,
          ])
        : pool.query<{ event: string }>(
            'SELECT event FROM signet_events WHERE project = $1 AND person_id = $2 ORDER BY received_at DESC, seq DESC LIMIT $3',
            [project, person, limit],
          ))
      return rows.map((r) => JSON.parse(r.event) as StoredEvent)
    },
    async *lines({ project, since } = {}) {
      // A cursor, so any number of events streams through a page at a time.
      const client: PoolClient = await pool.connect()
      let done = false
      try {
        const params = [project, since].filter((v) => v !== undefined)
        const where = [project !== undefined && 'project = $1', since !== undefined && `received_at >= $${params.length}`].filter(Boolean)
        await client.query('BEGIN READ ONLY')
        await client.query(
          `DECLARE signet_export NO SCROLL CURSOR FOR SELECT event AS line FROM signet_events${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY seq`,
          params,
        )
        for (;;) {
          const { rows } = await client.query<{ line: string }>('FETCH 1000 FROM signet_export')
          if (!rows.length) break
          for (const row of rows) yield row.line
        }
        await client.query('COMMIT')
        done = true
      } finally {
        if (!done) await client.query('ROLLBACK').catch(() => {})
        client.release()
      }
    },
    async close() {
      while (pending.length || writing) await new Promise((r) => setTimeout(r, 10))
      if (!pool.ended) await pool.end()
    },
  }
}
