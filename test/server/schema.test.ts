// @vitest-environment node
// Schema 3 on each engine: a store of schema 2 (JSON per event) migrates on start and exports the
// same records; PostgreSQL's monthly partitions are made ahead of the clock, keep one copy of an
// event across a month's start and go whole with retention; the dictionary keeps no string that
// only erased or expired events used.
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/server/verify/batch'
import { partitionOf, monthOf } from '../../src/server/store/postgres'
import type { Store } from '../../src/server/store/store'
import { DATABASES, open, PG_URL, postgresDatabase, type Database } from './databases'
import { oldRecords, schema2 } from './schema2'

const DAY = 86_400_000
const collect = async (lines: AsyncIterable<string>) => {
  const out: unknown[] = []
  for await (const line of lines) out.push(JSON.parse(line))
  return out
}

describe.each(DATABASES)('schema 3 on $name', ({ skip, make }) => {
  let db: Database | undefined
  const stores: Store[] = []
  const start = async (options = {}) => {
    const store = await open(db!, options)
    stores.push(store)
    return store
  }
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()))
    await db?.drop()
    db = undefined
  })

  it.skipIf(skip)('migrates a populated schema 2 store on start, printing its progress: the same records exported, the same counts, and dedupe goes on', async () => {
    db = await make()
    const records = oldRecords()
    await schema2(db, records)
    // What export printed before: the stored JSON, read by a store opened for reading only.
    const reader = await start({ readonly: true })
    const before = await collect(reader.lines())
    expect(before).toEqual(JSON.parse(JSON.stringify(records)))
    expect(await collect(reader.lines({ project: 'Q' }))).toHaveLength(1)

    const log: string[] = []
    const store = await start({ log: (line: string) => log.push(line) })
    expect(log[0]).toMatch(/^signet: storing 12,004 events in schema 3 \(columns and a dictionary instead of JSON/)
    expect(log.at(-1)).toMatch(/^signet: 12,004 events stored in schema 3 in [\d.]+ s$/)
    const after = await collect(store.lines())
    // Every record, in the order stored, with every key and value (the order of a record's keys aside).
    expect(after).toEqual(before)
    expect(JSON.stringify(after[1])).toContain('"__proto__":{"x":1}')
    expect(await collect(store.lines({ project: 'Q', since: 0 }))).toEqual(before.filter((r) => (r as StoredEvent).project == 'Q'))
    expect((await store.counts('P')).stored).toEqual({ anonymous: 1, verified: 12_002 })
    expect((await store.counts('Q')).stored).toEqual({ bad_signature: 1 })
    // A tracker sending an old event again: absorbed; the same id with other content: a conflict.
    const old = records[1]
    expect(await store.add([{ ...old, receivedAt: old.receivedAt + 60_000, time: old.receivedAt + 60_000, ip: '10.0.0.0' }])).toEqual(['repeat'])
    expect(await store.add([{ ...old, name: 'other' }])).toEqual(['conflict'])
    // The summaries count the migrated events; a person's timeline reads them.
    await store.rollUp()
    expect(await store.person('P', 'alice@example.com')).toMatchObject({ events: 2 })
    expect((await store.timeline('P', 'person-3@example.com', { limit: 500 })).length).toBe(300)
    // Started again: nothing to migrate, nothing printed.
    await store.close()
    stores.length = 0
    log.length = 0
    const again = await start({ log: (line: string) => log.push(line) })
    expect(log).toEqual([])
    expect(await collect(again.lines())).toHaveLength(12_004)
  }, 60_000)

  it.skipIf(skip)("deletes at once the dictionary strings only an erased person's events used, keeps those others use, and a writer that had them cached stores them anew (issue 32)", async () => {
    db = await make()
    let clock = Date.UTC(2026, 11, 10, 12)
    const store = await start({ now: () => clock })
    // A second collector on the same database, with a writer and a dictionary cache of its own.
    const other = await start({ now: () => clock })
    const at = clock
    const event = (i: number, extra: Partial<StoredEvent>): StoredEvent => ({
      id: `e${i}`,
      type: 'pageview',
      ts: at,
      time: at,
      anonymousId: `anon-${i}`,
      page: { url: 'https://shop.test/', title: 'Shop', referrer: '' },
      project: 'P',
      receivedAt: at + i,
      verdict: 'verified',
      ...extra,
    })
    const carols = { url: 'https://shop.test/users/carol-private', title: 'Carol’s settings' }
    await store.add([event(1, { personId: 'carol@example.com', page: carols }), event(2, { personId: 'dave@example.com' })])
    // The other collector caches the numbers of her strings as it stores another of her events.
    await other.add([event(3, { personId: 'carol@example.com', anonymousId: 'anon-1', page: carols })])
    const strings = async () => JSON.stringify(await db!.sql('SELECT value FROM signet_strings'))
    expect(await strings()).toContain('carol-private')
    expect(await store.forget('carol@example.com', 'P')).toBe(2)
    // Gone when forget returns: no upkeep, no day to wait.
    const left = await strings()
    for (const gone of ['carol@example.com', 'carol-private', 'Carol’s settings', 'anon-1']) expect(left).not.toContain(gone)
    for (const kept of ['dave@example.com', 'https://shop.test/', 'Shop']) expect(left).toContain(kept)
    // Dave's events read back whole.
    expect(await store.timeline('P', 'dave@example.com', { limit: 5 })).toMatchObject([{ personId: 'dave@example.com', page: { url: 'https://shop.test/', title: 'Shop' } }])
    // The other collector, its cache holding numbers that are gone, stores the same page for Erin: whole.
    expect(await other.add([event(4, { personId: 'erin', page: carols })])).toEqual(['stored'])
    expect(await store.timeline('P', 'erin', { limit: 5 })).toMatchObject([{ personId: 'erin', page: carols }])
    // Retention: Dave's and Erin's events, and the strings only they used, go too.
    clock += 30 * DAY
    expect(await store.purge(clock - 10 * DAY)).toBe(2)
    expect(await strings()).not.toContain('dave@example.com')
    expect(await store.add([event(5, { personId: 'erin', receivedAt: clock })])).toEqual(['stored'])
    expect(await store.timeline('P', 'erin', { limit: 5 })).toMatchObject([{ personId: 'erin', page: { url: 'https://shop.test/' } }])
  })
})

describe.skipIf(!PG_URL)('PostgreSQL monthly partitions', () => {
  let db: Database | undefined
  const stores: Store[] = []
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()))
    await db?.drop()
    db = undefined
  })
  const partitions = async () =>
    ((await db!.sql("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'signet_events'::regclass ORDER BY 1")) as { name: string }[]).map(
      (r) => r.name,
    )
  const event = (id: string, receivedAt: number, extra: Partial<StoredEvent> = {}): StoredEvent => ({
    id,
    type: 'pageview',
    ts: Date.UTC(2026, 11, 31, 23, 59, 59),
    time: receivedAt,
    anonymousId: 'anon',
    page: { url: 'https://shop.test/' },
    project: 'P',
    receivedAt,
    verdict: 'anonymous',
    ...extra,
  })

  it('are made ahead of the clock, and an event sent again across a month\'s start is stored once', async () => {
    db = await postgresDatabase()
    let clock = Date.UTC(2026, 11, 31, 23, 59, 59, 990)
    const store = await open(db, { now: () => clock })
    stores.push(store)
    expect(await partitions()).toEqual(['signet_events_y2026m12', 'signet_events_y2027m01', 'signet_events_y2027m02'])
    expect(partitionOf(monthOf(clock))).toBe('signet_events_y2026m12')
    // Received at 23:59:59.990 on the 31st, then again (its outbox had no answer) after midnight.
    expect(await store.add([event('a', clock)])).toEqual(['stored'])
    clock = Date.UTC(2027, 0, 1, 0, 0, 0, 10)
    expect(await store.add([event('a', clock), event('b', clock)])).toEqual(['repeat', 'stored'])
    expect(await store.add([event('a', clock, { page: { url: 'https://elsewhere.test/' } })])).toEqual(['conflict'])
    // A week into the month, still.
    expect(await store.add([event('a', clock + 7 * DAY)])).toEqual(['repeat'])
    const months = (await db.sql('SELECT month, count(*)::int AS n FROM signet_events GROUP BY month ORDER BY month')) as { month: number; n: number }[]
    expect(months).toEqual([
      { month: monthOf(Date.UTC(2026, 11, 31)), n: 1 },
      { month: monthOf(Date.UTC(2027, 0, 1)), n: 1 },
    ])
    expect((await store.counts('P')).stored).toEqual({ anonymous: 2 })
    // Two months on, the collector's upkeep has made the months ahead.
    clock = Date.UTC(2027, 2, 1, 0, 5)
    await store.rollUp()
    expect(await partitions()).toEqual(expect.arrayContaining(['signet_events_y2027m03', 'signet_events_y2027m04', 'signet_events_y2027m05']))
    // An event of a month with no partition (an import of old events) has its partition made.
    expect(await store.add([event('old', Date.UTC(2025, 5, 1))])).toEqual(['stored'])
    expect(await partitions()).toContain('signet_events_y2025m06')
  })

  it('retention drops the partitions of whole months, deletes the rest of the month it falls in, and counts what went', async () => {
    db = await postgresDatabase()
    const clock = Date.UTC(2026, 11, 20)
    const store = await open(db, { now: () => clock })
    stores.push(store)
    const oct = Array.from({ length: 300 }, (_, i) => event(`oct-${i}`, Date.UTC(2026, 9, 5) + i))
    const nov = Array.from({ length: 10 }, (_, i) => event(`nov-${i}`, Date.UTC(2026, 10, 1 + 2 * i)))
    const dec = [event('dec', Date.UTC(2026, 11, 1))]
    await store.add([...oct, ...nov, ...dec])
    await store.rollUp()
    expect(await partitions()).toEqual(expect.arrayContaining(['signet_events_y2026m10', 'signet_events_y2026m11', 'signet_events_y2026m12']))
    // Before 10 November: October whole, and 5 of November's events (the 1st, 3rd, 5th, 7th, 9th).
    expect(await store.purge(Date.UTC(2026, 10, 10))).toBe(305)
    expect(await partitions()).not.toContain('signet_events_y2026m10')
    // (One batch is stored in the order of its ids.)
    expect((await collect(store.lines())).map((e) => (e as StoredEvent).id)).toEqual(['dec', 'nov-5', 'nov-6', 'nov-7', 'nov-8', 'nov-9'])
    expect((await store.counts('P')).stored).toEqual({ anonymous: 6 })
    // An October event sent again after its month went is stored into a partition made again.
    expect(await store.add([oct[0]])).toEqual(['stored'])
  })

  it('two collectors purging at once (--workers 2, or two machines): one drops each month, both end without error, and what went is counted once', async () => {
    db = await postgresDatabase()
    const clock = Date.UTC(2026, 11, 20)
    const [a, b] = [await open(db, { now: () => clock }), await open(db, { now: () => clock })]
    stores.push(a, b)
    await a.add(Array.from({ length: 400 }, (_, i) => event(`oct-${i}`, Date.UTC(2026, 9, 5) + i)))
    await a.add(Array.from({ length: 200 }, (_, i) => event(`sep-${i}`, Date.UTC(2026, 8, 5) + i)))
    await a.add(Array.from({ length: 10 }, (_, i) => event(`nov-${i}`, Date.UTC(2026, 10, 1 + 2 * i))))
    for (let round = 0; round < 3; round++) {
      const gone = await Promise.all([a.purge(Date.UTC(2026, 10, 10)), b.purge(Date.UTC(2026, 10, 10))])
      expect(gone[0] + gone[1]).toBe(round == 0 ? 605 : 0)
    }
    expect(await partitions()).not.toContain('signet_events_y2026m10')
    expect((await a.counts('P')).stored).toEqual({ anonymous: 5 })
    // The collector that did not drop October learns it went when it next stores there.
    expect(await b.add([event('oct-0', Date.UTC(2026, 9, 5))])).toEqual(['stored'])
  })
})
