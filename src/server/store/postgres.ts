import type { Pool, PoolClient } from 'pg'
import type { StoredEvent } from '../verify/batch'
import { anonymousPattern, countBy, DAY, daysOf, groupAttempts, isoDay, MAX_ATTEMPTS, rowOf, summarise, type AttemptRow, type Summaries } from './rollup'
import { attemptColumns, CHANNEL_BYTES, eventKey, freshFlags, loadDriver, sameEvent, tally, type Outcome, type PersonSummary, type Rejected, type Store, type StoreOptions, type Channel } from './store'

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
  // The console: its summaries by day (filled by rollUp from signet_rollup's seq on), the refused
  // attempts that claimed a person, and the ids of forgotten events.
  `CREATE TABLE signet_days (
  project text NOT NULL,
  day integer NOT NULL,
  verdict text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (project, day, verdict)
);
CREATE TABLE signet_day_people (
  project text NOT NULL,
  day integer NOT NULL,
  person_id text NOT NULL,
  PRIMARY KEY (project, day, person_id)
);
CREATE TABLE signet_day_names (
  project text NOT NULL,
  day integer NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (project, day, kind, name)
);
CREATE TABLE signet_people (
  project text NOT NULL,
  person_id text NOT NULL,
  first_seen bigint NOT NULL,
  last_seen bigint NOT NULL,
  n bigint NOT NULL,
  props text,
  PRIMARY KEY (project, person_id)
);
CREATE INDEX signet_people_seen ON signet_people (project, last_seen);
CREATE TABLE signet_attempts (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project text NOT NULL,
  person_id text NOT NULL,
  reason text NOT NULL,
  received_at bigint NOT NULL,
  ip text,
  origin text
);
CREATE INDEX signet_attempts_time ON signet_attempts (project, received_at);
CREATE TABLE signet_forgotten (
  project text NOT NULL,
  id text NOT NULL,
  PRIMARY KEY (project, id)
);
CREATE TABLE signet_rollup (upto bigint NOT NULL);
INSERT INTO signet_rollup VALUES (0);`,
]

// Counters are spread over shards: one row per counter would make every writer in every process
// wait, at commit, for the one before it.
const SHARDS = 16
// Serializes schema changes between collectors starting at once; any fixed number will do.
const MIGRATION_LOCK = 0x516e6574

// One statement, so one round trip: events in (project, id) order, which is also the order every
// other transaction locks them in (no deadlock between two batches holding the same events), then
// the counts of what was new and of what was rejected.
// An event forgotten (erased) is not stored again when a tracker sends it once more; a rejection
// that claimed a person is kept as an attempt.
const ADD = `WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
    AS t(project, id, received_at, person_id, verdict, event)
  WHERE NOT EXISTS (SELECT 1 FROM signet_forgotten f WHERE f.project = t.project AND f.id = t.id)
  ORDER BY project, id
), attempted AS (
  INSERT INTO signet_attempts (project, person_id, reason, received_at, ip, origin)
  SELECT * FROM unnest($7::text[], $10::text[], $8::text[], $11::bigint[], $12::text[], $13::text[])
    AS a(project, person_id, reason, received_at, ip, origin)
  WHERE person_id IS NOT NULL
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

// Only one collector rolls summaries up at a time; any fixed number will do.
const ROLLUP_LOCK = 0x516e6575
// Events a summary chunk reads, and events a purge chunk deletes.
const ROLLUP_CHUNK = 500
const PURGE_CHUNK = 5000

// Batches that arrive while these many statements are writing wait, then go together as one: one
// commit (and fsync) for many requests. More than one, so that a commit's wait overlaps the next.
const WRITING = 2
// Events in one statement at the most.
const STATEMENT_EVENTS = 5000

// deadlock_detected, serialization_failure: nothing was written, and the same statement will succeed.
const RETRYABLE = new Set(['40P01', '40001'])

type PersonRow = { person_id: string; first_seen: string; last_seen: string; n: string; props: string | null }
const person = (row: PersonRow): PersonSummary => ({
  id: row.person_id,
  firstSeen: Number(row.first_seen),
  lastSeen: Number(row.last_seen),
  events: Number(row.n),
  ...(row.props && { props: JSON.parse(row.props) }),
})

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

  /** fn in a transaction of its own connection, tried again when the database says it will succeed then. */
  const transaction = async <T>(fn: (client: PoolClient) => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const result = await fn(client)
        await client.query('COMMIT')
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        if (attempt >= 2 || !RETRYABLE.has((err as { code?: string }).code!)) throw err
      } finally {
        client.release()
      }
    }
  }
  /** Adds summaries (sign 1), or takes them away (-1: events being deleted; people and their days go with forget). */
  const apply = async (client: PoolClient, sums: Summaries, sign: 1 | -1) => {
    const columns = <T extends unknown[]>(rows: T[], i: number) => rows.map((r) => r[i])
    await client.query(
      `INSERT INTO signet_days SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[]) ORDER BY 1, 2, 3
       ON CONFLICT (project, day, verdict) DO UPDATE SET n = signet_days.n + excluded.n`,
      [0, 1, 2, 3].map((i) => (i == 3 ? sums.days.map((r) => sign * r[3]) : columns(sums.days, i))),
    )
    await client.query(
      `INSERT INTO signet_day_names SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[]) ORDER BY 1, 2, 3, 4
       ON CONFLICT (project, day, kind, name) DO UPDATE SET n = signet_day_names.n + excluded.n`,
      [0, 1, 2, 3, 4].map((i) => (i == 4 ? sums.names.map((r) => sign * r[4]) : columns(sums.names, i))),
    )
    if (sign > 0) {
      await client.query('INSERT INTO signet_day_people SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING', [0, 1, 2].map((i) => columns(sums.dayPeople, i)))
      await client.query(
        `INSERT INTO signet_people SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) ORDER BY 1, 2
         ON CONFLICT (project, person_id) DO UPDATE SET first_seen = least(signet_people.first_seen, excluded.first_seen),
         last_seen = greatest(signet_people.last_seen, excluded.last_seen), n = signet_people.n + excluded.n, props = coalesce(excluded.props, signet_people.props)`,
        [0, 1, 2, 3, 4, 5].map((i) => columns(sums.people, i)),
      )
    } else {
      await client.query('DELETE FROM signet_days WHERE n <= 0')
      await client.query('DELETE FROM signet_day_names WHERE n <= 0')
    }
  }
  /** Takes deleted events off the stored counts. */
  const count = (client: PoolClient, stored: [string, string, number][]) =>
    client.query(
      `INSERT INTO signet_counts (project, kind, name, shard, n) SELECT project, 'stored', verdict, 0, -n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(project, verdict, n)
       ORDER BY 1, 3 ON CONFLICT (project, kind, name, shard) DO UPDATE SET n = signet_counts.n + excluded.n`,
      [stored.map((r) => r[0]), stored.map((r) => r[1]), stored.map((r) => r[2])],
    )

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
    const attempts = rejected.map(attemptColumns)
    const more = [2, 3, 4, 5].map((i) => attempts.map((a) => a[i]))
    for (let attempt = 0; ; attempt++)
      try {
        return await pool.query<{ project: string; id: string }>(ADD, [...params, Math.floor(Math.random() * SHARDS), ...more])
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

  // The live feed between collectors: one connection of this process LISTENs, opened when someone
  // first listens and opened again a second after it is lost (messages meanwhile are missed: it is
  // a live view, the events themselves are stored).
  // Channels are the database's, not a schema's: one per schema, so that two stores in one database stay apart.
  const channelName = readonly ? '' : `signet_feed:${(await pool.query('SELECT current_schema() AS s')).rows[0].s}`.slice(0, 63)
  const hearing = new Set<(message: string) => void>()
  const readyFns = new Set<() => void>()
  let listener: InstanceType<typeof pg.Client> | undefined
  let reconnect: ReturnType<typeof setTimeout> | undefined
  let closed = false
  const hear = async () => {
    if (closed || listener) return
    const client = new pg.Client({ connectionString: url })
    listener = client
    const lost = (err?: Error) => {
      if (listener != client) return
      listener = undefined
      client.end().catch(() => {})
      if (closed || !hearing.size) return
      if (err) log(`postgres ${where}: the live feed's connection: ${err.message}; again in 1 s`)
      reconnect = setTimeout(() => void hear(), 1000)
      reconnect.unref()
    }
    client.on('error', lost)
    client.on('end', () => lost(new Error('ended')))
    client.on('notification', (n: { channel: string; payload?: string }) => {
      if (n.channel == channelName && n.payload) hearing.forEach((fn) => fn(n.payload!))
    })
    try {
      await client.connect()
      await client.query(`LISTEN "${channelName.replace(/"/g, '""')}"`)
      readyFns.forEach((fn) => fn())
    } catch (err) {
      lost(err as Error)
    }
  }
  const channel: Channel = {
    send(message) {
      if (closed || Buffer.byteLength(message) > CHANNEL_BYTES) return
      pool.query('SELECT pg_notify($1, $2)', [channelName, message]).catch((err: Error) => log(`postgres ${where}: live feed: ${err.message}`))
    },
    listen(fn, ready) {
      hearing.add(fn)
      if (ready) readyFns.add(ready)
      void hear()
      return () => {
        hearing.delete(fn)
        if (ready) readyFns.delete(ready)
      }
    },
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
    async rollUp() {
      if (readonly) return
      // Transactions of several collectors commit out of the order they drew their seq in. The rows
      // up to the highest seq of a snapshot are all there once every transaction running at that
      // snapshot has ended: wait for that (a batch commits in milliseconds), then sum up to it.
      const { rows: marks } = await pool.query<{ top: string; xmax: string }>(
        'SELECT coalesce(max(seq), 0) AS top, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax FROM signet_events',
      )
      for (let tries = 0; ; tries++) {
        const { rows } = await pool.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin')
        if (BigInt(rows[0].xmin) >= BigInt(marks[0].xmax)) break
        if (tries == 40) return
        await new Promise((r) => setTimeout(r, 25))
      }
      for (;;) {
        const done = await transaction(async (client) => {
          const { rows: locked } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [ROLLUP_LOCK])
          if (!locked[0].ok) return true
          const { rows: up } = await client.query<{ upto: string }>('SELECT upto FROM signet_rollup')
          // The records read here, not taken apart by PostgreSQL: its JSON functions refuse the \u0000
          // a page's text may hold. In small chunks, so that a chunk of large events stays small.
          const { rows } = await client.query<{ seq: string; project: string; received_at: string; person_id: string | null; verdict: string; event: string }>(
            'SELECT seq, project, received_at, person_id, verdict, event FROM signet_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3',
            [up[0].upto, marks[0].top, ROLLUP_CHUNK],
          )
          if (!rows.length) return true
          const chunk = rows.map((r) => ({ seq: Number(r.seq), ...rowOf({ project: r.project, receivedAt: Number(r.received_at), personId: r.person_id, verdict: r.verdict, event: r.event }) }))
          await apply(client, summarise(chunk), 1)
          await client.query('UPDATE signet_rollup SET upto = $1', [chunk[chunk.length - 1].seq])
          // Attempts past the bound go, oldest first.
          await client.query('DELETE FROM signet_attempts WHERE seq <= (SELECT max(seq) FROM signet_attempts) - $1', [MAX_ATTEMPTS])
          return rows.length < ROLLUP_CHUNK
        })
        if (done) return
      }
    },
    async overview(project, period) {
      const [first, last] = daysOf(period)
      const range = [project, first, last]
      const [events, people, verdicts, rejected] = await Promise.all([
        pool.query<{ day: number; n: string }>('SELECT day, sum(n) AS n FROM signet_days WHERE project = $1 AND day BETWEEN $2 AND $3 GROUP BY day', range),
        pool.query<{ day: number; n: string }>('SELECT day, count(*) AS n FROM signet_day_people WHERE project = $1 AND day BETWEEN $2 AND $3 GROUP BY day', range),
        pool.query<{ verdict: string; n: string }>('SELECT verdict, sum(n) AS n FROM signet_days WHERE project = $1 AND day BETWEEN $2 AND $3 GROUP BY verdict', range),
        pool.query<{ reason: string; n: string }>(
          'SELECT reason, count(*) AS n FROM signet_attempts WHERE project = $1 AND received_at >= $2 AND received_at < $3 GROUP BY reason',
          [project, period.from, period.to],
        ),
      ])
      const byDay = (rows: { day: number; n: string }[]) => new Map(rows.map((r) => [r.day, Number(r.n)]))
      const [e, p] = [byDay(events.rows), byDay(people.rows)]
      const days = []
      for (let day = first; day <= last; day++) days.push({ day: isoDay(day), events: e.get(day) || 0, people: p.get(day) || 0 })
      return {
        days,
        verdicts: Object.fromEntries(verdicts.rows.map((r) => [r.verdict, Number(r.n)])),
        rejected: Object.fromEntries(rejected.rows.map((r) => [r.reason, Number(r.n)])),
      }
    },
    async people(project, { period, prefix, limit, offset = 0 }) {
      const { rows } = await pool.query<PersonRow>(
        `SELECT person_id, first_seen, last_seen, n, props FROM signet_people WHERE project = $1 AND last_seen >= $2 AND first_seen < $3
         AND ($4::text IS NULL OR starts_with(person_id, $4)) ORDER BY last_seen DESC LIMIT $5 OFFSET $6`,
        [project, period.from, period.to, prefix || null, limit, offset],
      )
      return rows.map(person)
    },
    async person(project, personId) {
      const { rows } = await pool.query<PersonRow>('SELECT person_id, first_seen, last_seen, n, props FROM signet_people WHERE project = $1 AND person_id = $2', [project, personId])
      return rows[0] && person(rows[0])
    },
    async timeline(project, personId, { limit, offset = 0 }) {
      const { rows } = await pool.query<{ event: string }>(
        'SELECT event FROM signet_events WHERE project = $1 AND person_id = $2 ORDER BY received_at DESC, seq DESC LIMIT $3 OFFSET $4',
        [project, personId, limit, offset],
      )
      return rows.map((r) => JSON.parse(r.event) as StoredEvent)
    },
    async names(project, period, limit) {
      const [first, last] = daysOf(period)
      const top = async (kind: string) =>
        (
          await pool.query<{ name: string; n: string }>(
            'SELECT name, sum(n) AS n FROM signet_day_names WHERE project = $1 AND day BETWEEN $2 AND $3 AND kind = $4 GROUP BY name ORDER BY n DESC, name LIMIT $5',
            [project, first, last, kind, limit],
          )
        ).rows.map((r) => ({ name: r.name, n: Number(r.n) }))
      const [pages, events, referrers] = await Promise.all([top('page'), top('event'), top('referrer')])
      return { pages, events, referrers }
    },
    async attempts(project, period, limit) {
      const { rows } = await pool.query<AttemptRow>(
        'SELECT person_id, reason, received_at, ip, origin FROM signet_attempts WHERE project = $1 AND received_at >= $2 AND received_at < $3',
        [project, period.from, period.to],
      )
      return groupAttempts(rows, limit)
    },
    async forget(personId, project) {
      if (readonly) throw new Error('signet: this store is open for reading only')
      return transaction(async (client) => {
        // After any summing up under way, which would otherwise count what this deletes.
        await client.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_LOCK])
        type Row = { seq: string; project: string; id: string; received_at: string; person_id: string | null; verdict: string; event: string }
        const rows = new Map<string, Row>()
        const columns = 'seq, project, id, received_at, person_id, verdict, event'
        const own = await client.query<Row>(`SELECT ${columns} FROM signet_events WHERE person_id = $1 AND ($2::text IS NULL OR project = $2) FOR UPDATE`, [
          personId,
          project ?? null,
        ])
        for (const r of own.rows) rows.set(r.seq, r)
        const anonymous = new Set(own.rows.map((r) => JSON.stringify([r.project, (JSON.parse(r.event) as { anonymousId: string }).anonymousId])))
        for (const key of anonymous) {
          const [p, a] = JSON.parse(key) as [string, string]
          const carried = await client.query<Row>(`SELECT ${columns} FROM signet_events WHERE project = $1 AND person_id IS NULL AND event LIKE $2 FOR UPDATE`, [
            p,
            anonymousPattern(a),
          ])
          for (const r of carried.rows) rows.set(r.seq, r)
        }
        const { rows: up } = await client.query<{ upto: string }>('SELECT upto FROM signet_rollup')
        const all = [...rows.values()].map((r) => ({ seq: Number(r.seq), project: r.project, id: r.id, receivedAt: Number(r.received_at), personId: r.person_id, verdict: r.verdict, event: r.event }))
        await apply(client, summarise(all.filter((r) => r.seq <= Number(up[0].upto)).map(rowOf)), -1)
        await count(client, countBy(all))
        await client.query('DELETE FROM signet_events WHERE seq = ANY($1::bigint[])', [all.map((r) => r.seq)])
        await client.query('INSERT INTO signet_forgotten SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [all.map((r) => r.project), all.map((r) => r.id)])
        for (const table of ['signet_people', 'signet_day_people', 'signet_attempts'])
          await client.query(`DELETE FROM ${table} WHERE person_id = $1 AND ($2::text IS NULL OR project = $2)`, [personId, project ?? null])
        return all.length
      })
    },
    async purge(before) {
      if (readonly) throw new Error('signet: this store is open for reading only')
      let total = 0
      for (;;) {
        const gone = await transaction(async (client) => {
          const { rows } = await client.query<{ project: string; verdict: string }>(
            'DELETE FROM signet_events WHERE seq IN (SELECT seq FROM signet_events WHERE received_at < $1 ORDER BY seq LIMIT $2) RETURNING project, verdict',
            [before, PURGE_CHUNK],
          )
          await count(client, countBy(rows))
          return rows.length
        })
        total += gone
        if (gone < PURGE_CHUNK) break
      }
      await transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_LOCK])
        const day = Math.floor(before / DAY)
        for (const table of ['signet_days', 'signet_day_people', 'signet_day_names']) await client.query(`DELETE FROM ${table} WHERE day < $1`, [day])
        await client.query('DELETE FROM signet_people WHERE last_seen < $1', [before])
        await client.query('DELETE FROM signet_attempts WHERE received_at < $1', [before])
      })
      return total
    },
    ...(!readonly && { channel }),
    async close() {
      while (pending.length || writing) await new Promise((r) => setTimeout(r, 10))
      closed = true
      clearTimeout(reconnect)
      await listener?.end().catch(() => {})
      if (!pool.ended) await pool.end()
    },
  }
}
