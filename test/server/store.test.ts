// @vitest-environment node
// The same suite against each engine: what is stored, what is dropped as a repeat, what is counted,
// what reads back, and what a failed write leaves behind.
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/server/verify/batch'
import { describeUrl, POSTGRES_MIGRATIONS, POSTGRES_V3, POSTGRES_V6 } from '../../src/server/store/postgres'
import { SQLITE_MIGRATIONS, SQLITE_V3, SQLITE_V6 } from '../../src/server/store/sqlite'
import type { Store } from '../../src/server/store/store'
import { breakWrites, DATABASES, healWrites, open, type Database } from './databases'

let n = 0
const stored = (extra: Partial<StoredEvent> = {}): StoredEvent => ({
  id: `e${++n}`,
  type: 'event',
  name: 'click',
  ts: 1_700_000_000_000 + n,
  time: 1_700_000_000_000 + n,
  anonymousId: 'anon',
  page: { url: 'https://site.test/', title: 'Site', referrer: '' },
  project: 'P',
  receivedAt: 1_800_000_000_000 + n,
  verdict: 'anonymous',
  ip: '127.0.0.1',
  ...extra,
})

const collect = async (lines: AsyncIterable<string>) => {
  const out: StoredEvent[] = []
  for await (const line of lines) out.push(JSON.parse(line))
  return out
}

describe.each(DATABASES)('$name store', ({ name, skip, make }) => {
  let db: Database
  const stores: Store[] = []
  const start = async (options = {}) => {
    db ??= await make()
    const store = await open(db, options)
    stores.push(store)
    return store
  }
  afterEach(async () => {
    try {
      await Promise.all(stores.splice(0).map((s) => s.close()))
    } finally {
      await db?.drop()
      db = undefined!
    }
  })

  it.skipIf(skip)('stores each event once: a repeat in the batch, in a later batch, or after reopening is absorbed; another event under a taken id is a conflict', async () => {
    const store = await start()
    const [a, b] = [stored(), stored({ personId: 'u1', verdict: 'verified' })]
    expect(await store.add([a, b, a])).toEqual(['stored', 'stored', 'repeat'])
    // Sent again later, from elsewhere: the same event. Other content or another sender: not.
    const resent = { ...b, receivedAt: b.receivedAt + 60_000, time: b.time + 60_000, ip: '10.0.0.9' }
    expect(await store.add([resent, stored({ id: a.id, name: 'changed' }), { ...a, personId: 'u2', verdict: 'verified' as const }])).toEqual([
      'repeat',
      'conflict',
      'conflict',
    ])
    expect(await store.counts('P')).toEqual({ stored: { anonymous: 1, verified: 1 }, rejected: { conflict: 2 } })
    await store.close()
    const again = await start()
    const c = stored({ project: 'Q', id: a.id })
    expect(await again.add([a, c])).toEqual(['repeat', 'stored'])
    expect(await collect(again.lines())).toEqual([a, b, c])
  })

  it.skipIf(skip)('keeps the event as given, without anything added, and reads back deeply nested props', async () => {
    const store = await start()
    // The deepest props within the 8,192-character limit: [[[…]]] 4,096 levels.
    const props = { deep: JSON.parse('['.repeat(4095) + ']'.repeat(4095)) }
    const e = stored({ props, personId: 'ünï 🙂', page: { url: 'https://site.test/?q="x"\\', title: 'cut in an emoji \u0000\ud83d', referrer: '' } })
    await store.add([e])
    // Compared as JSON: a deep equality check recurses further than the stack allows.
    const same = ({ props: readProps, ...rest }: StoredEvent) => {
      expect(JSON.stringify(readProps)).toBe(JSON.stringify(props))
      expect(rest).toEqual({ ...e, props: undefined })
    }
    ;(await collect(store.lines())).forEach(same)
    ;(await store.recent('P', { limit: 1 })).forEach(same)
  })

  it.skipIf(skip)('counts stored events per verdict and rejections per reason, per project, across a reopen', async () => {
    const store = await start()
    const v = stored({ personId: 'u', verdict: 'verified' })
    await store.add([v, stored(), stored({ project: 'Q' })], [{ project: 'P', reason: 'bad_signature' }])
    await store.add([v, stored()], [
      { project: 'P', reason: 'bad_signature' },
      { project: 'P', reason: 'too_large' },
      { project: '', reason: 'unknown_project' },
    ])
    await store.close()
    const again = await start()
    expect(await again.counts('P')).toEqual({ stored: { verified: 1, anonymous: 2 }, rejected: { bad_signature: 2, too_large: 1 } })
    expect(await again.counts('Q')).toEqual({ stored: { anonymous: 1 }, rejected: {} })
    expect(await again.counts('')).toEqual({ stored: {}, rejected: { unknown_project: 1 } })
  })

  it.skipIf(skip)("reads a project's latest events, or one person's, newest first", async () => {
    const store = await start()
    const events = [stored({ personId: 'ann' }), stored({ personId: 'bob' }), stored({ personId: 'ann' }), stored({ project: 'Q' }), stored()]
    await store.add(events)
    expect((await store.recent('P', { limit: 3 })).map((e) => e.id)).toEqual([events[4], events[2], events[1]].map((e) => e.id))
    expect((await store.recent('P', { limit: 10, person: 'ann' })).map((e) => e.id)).toEqual([events[2].id, events[0].id])
  })

  it.skipIf(skip)('exports by project and by time, a page at a time, in the order stored', async () => {
    const store = await start()
    const events = Array.from({ length: 2500 }, (_, i) => stored({ project: (i / 500) % 2 < 1 ? 'P' : 'Q', receivedAt: 1000 + i }))
    for (let i = 0; i < events.length; i += 500) await store.add(events.slice(i, i + 500))
    expect((await collect(store.lines())).map((e) => e.id)).toEqual(events.map((e) => e.id))
    expect(await collect(store.lines({ project: 'P', since: 3000 }))).toEqual(events.filter((e) => e.project == 'P' && e.receivedAt >= 3000))
    expect(await collect(store.lines({ since: 3400 }))).toEqual(events.slice(2400))
    // A reader that stops early leaves the store usable.
    for await (const _ of store.lines()) break
    expect(await store.add([stored()])).toEqual(['stored'])
  })

  it.skipIf(skip)('a failed write commits nothing of its batch and fails only that batch; the same batch succeeds later', async () => {
    const store = await start()
    const ok = stored()
    await store.add([ok])
    await breakWrites(db)
    const batch = [stored(), stored()]
    await expect(store.add(batch, [{ project: 'P', reason: 'bad_signature' }])).rejects.toThrow(/writes are broken/)
    await healWrites(db)
    expect(await store.add(batch)).toEqual(['stored', 'stored'])
    expect((await collect(store.lines())).map((e) => e.id)).toEqual([ok, ...batch].map((e) => e.id))
    expect((await store.counts('P')).rejected).toEqual({})
  })

  it.skipIf(skip)('two stores on the same database, adding the same events at once, store each once', async () => {
    const [one, two] = [await start(), await start()]
    const events = Array.from({ length: 400 }, () => stored())
    const shuffled = [...events].reverse()
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? one : two).add((i % 4 < 2 ? events : shuffled).slice(0, 200 + 25 * i))),
    )
    expect(results.flat().filter((o) => o == 'stored').length).toBe(400)
    expect(results.flat().filter((o) => o == 'conflict')).toEqual([])
    const ids = (await collect(one.lines())).map((e) => e.id)
    expect(ids.length).toBe(400)
    expect(new Set(ids).size).toBe(400)
    expect((await two.counts('P')).stored).toEqual({ anonymous: 400 })
  })

  it.skipIf(skip)('creates its schema once, and refuses a database from a newer Signet', async () => {
    await (await start()).close()
    await (await start()).close()
    if (name == 'sqlite') await db.sql('PRAGMA user_version = 99')
    else await db.sql('UPDATE signet_schema SET version = 99')
    await expect(start()).rejects.toThrow(/schema version 99, newer than this Signet knows \(6\): upgrade Signet/)
  })

  it.skipIf(skip)('opened for reading, it creates nothing and writes nothing', async () => {
    if (name == 'sqlite') await expect(open(await (db = await make()), { readonly: true })).rejects.toThrow(/no store at/)
    const writer = await start()
    await writer.add([stored()])
    const reader = await start({ readonly: true })
    expect(await collect(reader.lines())).toHaveLength(1)
    await expect(reader.add([stored()])).rejects.toThrow(/reading only/)
  })
})

describe('PostgreSQL connection strings', () => {
  it('are named by host, port and database in messages, never with the password', async () => {
    expect(describeUrl('postgres://signet:hunter2@db.internal:5433/events?sslmode=require')).toBe('db.internal:5433/events')
    expect(describeUrl('postgres://signet:hunter2@db.internal/events')).toBe('db.internal:5432/events')
    expect(describeUrl('not a url hunter2')).toBe('(unreadable SIGNET_DATABASE_URL)')
    // Without its scheme, a URL's user and password once came out as its path.
    expect(describeUrl('signet:hunter2@db.internal/events')).toBe('(unreadable SIGNET_DATABASE_URL)')
    // A server that is not there: the error names where, not the password.
    await expect(open({ name: 'postgres', options: { url: 'postgres://signet:hunter2@127.0.0.1:9/x' } } as Database)).rejects.toThrow(
      /^signet: PostgreSQL at 127\.0\.0\.1:9\/x: connect ECONNREFUSED[^]*$/,
    )
    await open({ name: 'postgres', options: { url: 'postgres://signet:hunter2@127.0.0.1:9/x' } } as Database).catch((err: Error) =>
      expect(err.message).not.toContain('hunter2'),
    )
  })
})

describe('schema documentation', () => {
  it('docs/storage.md shows the SQL each engine runs', () => {
    const doc = readFileSync('docs/storage.md', 'utf8')
    for (const step of [...SQLITE_MIGRATIONS, ...POSTGRES_MIGRATIONS, ...Object.values(SQLITE_V3), ...Object.values(POSTGRES_V3), SQLITE_V6('signet_events'), POSTGRES_V6('signet_events')]) expect(doc).toContain(step)
  })
})
