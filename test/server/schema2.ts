// Stores of schema 2 (an event's JSON a row), as the collectors before schema 3 left them, for the
// tests of what opening, migrating and upgrading do with them.
import type { StoredEvent } from '../../src/server/verify/batch'
import { POSTGRES_MIGRATIONS } from '../../src/server/store/postgres'
import { SQLITE_MIGRATIONS } from '../../src/server/store/sqlite'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { Database } from './databases'

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname

const DAY = 86_400_000

/** Records as schema 2's collectors wrote them, with what is hard to keep: every field, and the odd ones. */
export function oldRecords(): StoredEvent[] {
  const at = Date.UTC(2026, 10, 20, 12)
  const odd = [
    // A title cut inside an emoji, a NUL in a referrer, text that is not ASCII.
    { id: '0192f3a4b5c6d7e8f9a0b1c2d3e4f5a6', type: 'pageview', ts: at - 50, time: at - 10, anonymousId: 'b0e2c9f4a1d84e6f8c3b7a5d2e1f0c9b', page: { url: 'https://shop.test/ü?q=1', title: 'Socks \ud83d', referrer: '\u0000x' }, project: 'P', receivedAt: at, verdict: 'anonymous', ip: '10.1.2.0' },
    // A device a month slow (ts too far for its column), props with a "__proto__" key and nesting.
    { id: 'not-hex-id', type: 'event', ts: at - 40 * DAY, time: at, anonymousId: 'anon-2', personId: 'alice@example.com', name: 'buy', props: JSON.parse('{"__proto__":{"x":1},"deep":{"a":[1,{"b":null}]},"price":19.99}'), project: 'P', receivedAt: at + 1, verdict: 'verified' },
    // A transaction, stored under its maker's key; an empty page; no ip; a non-integer ts.
    { id: 'tx:v:17:alice@example.com:order-1', type: 'transaction', ts: at + 0.5, time: at + 2, anonymousId: 'anon-2', personId: 'alice@example.com', name: 'order-1', props: { revenue: 10, items: [{ sku: 'a', quantity: 2 }] }, page: {}, project: 'P', receivedAt: at + 2, verdict: 'verified' },
    // Another project, a refused verdict kept in report mode, an upper-case hex id.
    { id: '0192F3A4B5C6D7E8F9A0B1C2D3E4F5A6', type: 'identify', ts: at, time: at, anonymousId: 'anon-3', personId: 'bob', props: { plan: 'pro' }, project: 'Q', receivedAt: at + 3, verdict: 'bad_signature', ip: '::1' },
  ]
  // Then enough ordinary ones for several chunks of the copy.
  const plain = Array.from({ length: 12_000 }, (_, i) => ({
    id: (at + i).toString(16).padStart(12, '0') + i.toString(16).padStart(20, '0'),
    type: i % 20 ? 'event' : 'pageview',
    ts: at + i * 1000 - 30,
    time: at + i * 1000,
    anonymousId: `anon-${i % 50}`,
    personId: `person-${i % 40}@example.com`,
    ...(i % 20 && { name: 'add_to_cart', props: { sku: 'SKU-' + (i % 7), price: 19.99, quantity: 1 } }),
    page: { url: `https://shop.test/products/${i % 30}`, title: 'Socks — Shop', referrer: 'https://shop.test/' },
    project: 'P',
    receivedAt: at + i * 1000,
    verdict: 'verified',
    ip: '127.0.0.0',
  }))
  return [...odd, ...plain] as StoredEvent[]
}

/** A database of schema 2 holding the records, as the collector before schema 3 left it, and its counts. */
export async function schema2(db: Database, records: StoredEvent[]) {
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`
  const rows = records.map((r) => `(${quote(r.project)}, ${quote(r.id)}, ${r.receivedAt}, ${r.personId ? quote(r.personId) : 'NULL'}, ${quote(r.verdict)}, ${quote(JSON.stringify(r))})`)
  const counts = new Map<string, number>()
  for (const r of records) counts.set(`${r.project}\n${r.verdict}`, (counts.get(`${r.project}\n${r.verdict}`) || 0) + 1)
  const countRows = [...counts].map(([key, n]) => `(${key.split('\n').map(quote).join(", 'stored', ")}, 0, ${n})`)
  const inserts = []
  for (let i = 0; i < rows.length; i += 2000)
    inserts.push(`INSERT INTO signet_events (project, id, received_at, person_id, verdict, event) VALUES ${rows.slice(i, i + 2000).join(', ')};`)
  if (db.name == 'sqlite') await db.sql([...SQLITE_MIGRATIONS, 'PRAGMA user_version = 2'].join(';\n'))
  else await db.sql([...POSTGRES_MIGRATIONS, 'CREATE TABLE signet_schema (version integer NOT NULL); INSERT INTO signet_schema VALUES (2)'].join(';\n'))
  for (const insert of inserts) await db.sql(insert)
  if (countRows.length) await db.sql(`INSERT INTO signet_counts (project, kind, name, shard, n) VALUES ${countRows.join(', ')}`)
}


/**
 * A schema 2 store of `n` anonymous pageviews, made by the database itself (SQL, not a row at a
 * time from here): large enough for its migration to take seconds.
 */
export async function largeSchema2(db: Database, n: number, at = Date.UTC(2026, 10, 20, 12)) {
  await schema2(db, [])
  if (db.name == 'sqlite')
    await db.sql(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})
      INSERT INTO signet_events (project, id, received_at, person_id, verdict, event)
      SELECT 'P', 'old-' || i, ${at} + i, NULL, 'anonymous', json_object('id', 'old-' || i, 'type', 'pageview', 'ts', ${at} + i, 'time', ${at} + i,
        'anonymousId', 'anon-' || (i % 100), 'page', json_object('url', 'https://shop.test/p/' || (i % 50), 'title', 'Shop', 'referrer', ''),
        'project', 'P', 'receivedAt', ${at} + i, 'verdict', 'anonymous') FROM n`)
  else
    await db.sql(`INSERT INTO signet_events (project, id, received_at, person_id, verdict, event)
      SELECT 'P', 'old-' || i, ${at} + i, NULL, 'anonymous', json_build_object('id', 'old-' || i, 'type', 'pageview', 'ts', ${at} + i, 'time', ${at} + i,
        'anonymousId', 'anon-' || (i % 100), 'page', json_build_object('url', 'https://shop.test/p/' || (i % 50), 'title', 'Shop', 'referrer', ''),
        'project', 'P', 'receivedAt', ${at} + i, 'verdict', 'anonymous')::text FROM generate_series(0, ${n - 1}) AS i`)
  await db.sql(`INSERT INTO signet_counts (project, kind, name, shard, n) VALUES ('P', 'stored', 'anonymous', 0, ${n})`)
}

/** A store as an earlier release left it (test/fixtures/make-release-5dfcaff.mjs made the files), loaded into this database. */
export async function loadRelease(db: Database, name: 'release-5dfcaff' | 'release-5dfcaff.c689812' | 'release-5dfcaff.c689812.resent') {
  let text = gunzipSync(readFileSync(join(FIXTURES, `${name}.${db.name}.sql.gz`))).toString('utf8')
  if (db.name == 'postgres') {
    const schema = /search_path=(\w+)/.exec(new URL(db.options.url!).searchParams.get('options') || '')![1]
    // pg_dump's psql commands (\restrict) and the schema, which the test made already, aside.
    text = text.replace(/^\\.*$/gm, '').replace('CREATE SCHEMA signet_fixture_schema;', '').replaceAll('signet_fixture_schema', schema)
  }
  await db.sql(text)
}

/** The batches trackers sent to that release, as they sent them. */
export const releaseBatches = () => JSON.parse(gunzipSync(readFileSync(join(FIXTURES, 'release-5dfcaff.batches.json.gz'))).toString('utf8')) as { events: { id: string; type: string }[] }[]
