// @vitest-environment node
// Issue 32, upgrades: `signet migrate` says what a migration will change and how to back up first
// (--dry-run changes nothing), then migrates with its progress; a collector started on a store of an
// older schema listens while it migrates, answering 503 with Retry-After and not ready, then stores.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { personSignature } from '../../src/server/verify/signature'
import { openStore } from '../../src/server/store/open'
import { DATABASES, type Database } from './databases'
import { CLI, startCollector, type Started } from './processes'
import { largeSchema2, loadRelease, oldRecords, releaseBatches, schema2 } from './schema2'

const SECRET = 'upgrade-secret'
const where = (db: Database): Record<string, string> => (db.options.url ? { SIGNET_DATABASE_URL: db.options.url } : { SIGNET_DB: db.options.file! })
const signet = (args: string[], db: Database) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...where(db) } })
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() }
}
const version = async (db: Database) =>
  Number(Object.values((await db.sql(db.name == 'sqlite' ? 'SELECT * FROM pragma_user_version' : 'SELECT version FROM signet_schema'))[0] as object)[0])

const running: Started[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop('SIGKILL')))
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }))
})

describe.each(DATABASES)('upgrading a store on $name', ({ name, skip, make }) => {
  it.skipIf(skip)('signet migrate --dry-run says what will change and how to back up, changing nothing; signet migrate does it, once', async () => {
    const db = await make()
    await schema2(db, oldRecords())
    // Two events forgotten under schema 2, their ids kept as they were (one held its maker's id).
    const forgotten = ['tx:v:19:carol.doe@example.com:ORDER-7781', '0192f3a4b5c6d7e8f9a0b1c2d3e4f5a7']
    await db.sql(`INSERT INTO signet_forgotten VALUES ${forgotten.map((id) => `('P', '${id}')`).join(', ')}`)
    const dry = signet(['migrate', '--dry-run'], db)
    expect(dry.code).toBe(0)
    expect(dry.out).toMatch(new RegExp(`^${name} .* has schema 2; this Signet keeps schema 6\\. Migrating it:\\n- copies 12,004 events into schema 3's columns`))
    expect(dry.out).toContain('- marks it schema 4 (no transaction is kept under the key of the release before schema 3)')
    expect(dry.out).toMatch(name == 'sqlite' ? /Back it up first: sqlite3 \S+ "\.backup '\S+\.schema-2'"/ : /Back it up first: pg_dump -Fc -n signet_test_\w+ "\$SIGNET_DATABASE_URL" > signet-schema-2\.dump/)
    expect(dry.out).toContain("- keeps the ids of 2 forgotten events as keyed digests under a salt of the store's own, no longer as they were")
    expect(dry.out).toContain('a backup made before it still holds those ids; delete it once the migration is done')
    expect(dry.out).toMatch(/--dry-run: nothing was changed$/)
    expect(await version(db)).toBe(2)
    const run = signet(['migrate'], db)
    expect(run.code).toBe(0)
    expect(run.out).toMatch(/storing 12,004 events in schema 3 .*\n(.*\n)*12,004 events stored in schema 3 in [\d.]+ s\n(.*\n)*the ids of 2 forgotten events are kept as keyed digests now, no longer as they were \(schema 5\)\n.* is at schema 6 \([\d.]+ s\)$/)
    expect(await version(db)).toBe(6)
    expect(signet(['migrate'], db)).toMatchObject({ code: 0, out: expect.stringMatching(/is at schema 6: nothing to migrate$/) })
    const store = await openStore({ ...db.options, readonly: true })
    let n = 0
    for await (const line of store.lines()) n += line ? 1 : 0
    await store.close()
    expect(n).toBe(12_004)
    // The forgotten ids: digests now, and the events they name still stay out.
    const kept = (await db.sql('SELECT * FROM signet_forgotten')) as { digest: Uint8Array }[]
    expect(kept.map((r) => r.digest.length)).toEqual([16, 16])
    expect(JSON.stringify(kept)).not.toContain('carol')
    const writer = await openStore(db.options)
    const again = forgotten.map((id, i) => ({ id, type: (i ? 'pageview' : 'transaction') as 'pageview' | 'transaction', name: 'ORDER-7781', props: { revenue: 1, quantity: 1 }, ts: Date.now(), time: Date.now(), anonymousId: 'a', project: 'P', receivedAt: Date.now(), verdict: 'verified' as const }))
    expect(await writer.add(again)).toEqual(['repeat', 'repeat'])
    await writer.close()
    await db.drop()
  }, 60_000)

  for (const workers of name == 'sqlite' ? [1, 2] : [1])
    it.skipIf(skip)(`a collector (${workers} worker${workers > 1 ? 's' : ''}) started on a store of schema 2 listens while it migrates: 503 with Retry-After and not ready, then it stores`, async () => {
      const db = await make()
      await largeSchema2(db, 200_000)
      const dir = mkdtempSync(join(tmpdir(), 'signet-upgrade-'))
      dirs.push(dir)
      // SQLite copies 200,000 events in about 1.5 s, sooner than a worker listens when its store is
      // not ready (2 s): another connection holding the write lock holds the migration up meanwhile,
      // as a long one would last (and, SQLite's wait for a lock being 5 s, it is let go after the checks).
      let lock: { exec(sql: string): unknown; close(): unknown } | undefined
      if (db.name == 'sqlite') {
        const { default: Sqlite } = await import('better-sqlite3')
        lock = new Sqlite(db.options.file!, { timeout: 5000 })
        lock.exec('BEGIN IMMEDIATE')
      }
      const c = startCollector(['--project', 'P', '--workers', String(workers), '--data', join(dir, 'none.jsonl')], { SIGNET_SECRET: SECRET, ...where(db) })
      running.push(c)
      const url = await c.url
      const base = url.replace(/\/track$/, '')
      const batch = (id: string) => JSON.stringify({ v: 1, project: 'P', sentAt: Date.now(), events: [{ id, type: 'event', name: 'x', ts: Date.now(), anonymousId: 'a', personId: 'ada', signature: personSignature(SECRET, 'ada') }] })
      // Listening, migrating.
      const early = await fetch(url, { method: 'POST', body: batch('during') })
      const ready = await fetch(`${base}/readyz`)
      expect([early.status, early.headers.get('retry-after'), ready.status, await ready.json()]).toEqual([503, '5', 503, { status: 'not ready', store: 'opening' }])
      expect(c.log()).toMatch(/has schema 2: (migrating it|the workers migrate it) to schema 6 \(200,000 events to copy\)(,| while the workers) answer(ing)? 503/)
      lock?.exec('COMMIT')
      lock?.close()
      // Migrated: the batch sent again is stored, with the 200,000 before it.
      let status = 0
      for (let i = 0; i < 600 && status != 200; i++) {
        await new Promise((r) => setTimeout(r, 100))
        status = (await fetch(`${base}/readyz`)).status
      }
      expect(status).toBe(200)
      expect(await (await fetch(url, { method: 'POST', body: batch('during') })).json()).toEqual({ accepted: 1, rejected: [] })
      expect(c.log()).toMatch(/storing 200,000 events in schema 3(.*\n)*.*200,000 events stored in schema 3 in [\d.]+ s/)
      expect(c.log()).not.toMatch(/ended \(/)
      expect((await c.stop()).code).toBe(0)
      expect(await version(db)).toBe(6)
      const count = await db.sql('SELECT count(*) AS n FROM signet_events')
      expect(Number((count[0] as { n: number | string }).n)).toBe(200_001)
      await db.drop()
    }, 180_000)
})

describe.each(DATABASES)('a store of schema 5 on $name', ({ name, skip, make }) => {
  // Issue 34: schema 6 adds a column (each event's browser, system and device type) to a table
  // that may hold millions of events: no rewrite, every event kept, read as it was before and after.
  it.skipIf(skip)('reads as it was while not migrated (export); migrate adds the device column, once; then each request’s User-Agent is stored as its device', async () => {
    const db = await make()
    const event = (i: number) => ({ id: `e${i}`, type: 'pageview' as const, ts: 1, time: 1, anonymousId: 'a', project: 'P', receivedAt: Date.now() - i, verdict: 'anonymous' as const, page: { url: 'https://s.test/' } })
    const store = await openStore(db.options)
    await store.add(Array.from({ length: 20 }, (_, i) => event(i)))
    await store.close()
    // As the release of schema 5 left it.
    await db.sql('ALTER TABLE signet_events DROP COLUMN device')
    await db.sql(name == 'sqlite' ? 'PRAGMA user_version = 5' : 'UPDATE signet_schema SET version = 5')
    const exportOf = () => signet(['export', ...(db.options.file ? ['--db', db.options.file] : [])], db)
    const exported = exportOf()
    expect([exported.code, exported.err]).toEqual([0, ''])
    expect(exported.out.split('\n').map((l) => JSON.parse(l).id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`).sort())
    const dry = signet(['migrate', '--dry-run'], db)
    expect(dry.out).toMatch(/has schema 5; this Signet keeps schema 6\. Migrating it:\n- adds a column for each event's browser, operating system and device type, which events stored from then on fill \(schema 6\): no table is rewritten\nBack it up first/)
    expect(await version(db)).toBe(5)
    expect(signet(['migrate'], db).code).toBe(0)
    expect(await version(db)).toBe(6)
    expect(signet(['migrate'], db).out).toMatch(/is at schema 6: nothing to migrate$/)
    expect(exportOf().out).toBe(exported.out)
    const c = startCollector(['--project', 'P'], { SIGNET_SECRET: SECRET, ...where(db) })
    running.push(c)
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0'
    const batch = JSON.stringify({ v: 1, project: 'P', events: [{ id: 'from-firefox', type: 'pageview', ts: Date.now(), anonymousId: 'b', page: { url: 'https://s.test/' } }] })
    expect(await (await fetch(await c.url, { method: 'POST', body: batch, headers: { 'User-Agent': firefox } })).json()).toEqual({ accepted: 1, rejected: [] })
    expect((await c.stop()).code).toBe(0)
    const after = exportOf().out.split('\n').map((l) => JSON.parse(l))
    expect(after.find((e) => e.id == 'from-firefox')).toMatchObject({ device: 'Firefox|Linux|desktop' })
    expect(after.filter((e) => e.device !== undefined)).toHaveLength(1)
    await db.drop()
    // Six runs of signet and a collector: 3 s here, past vitest's 5 s beside stress-ng.
  }, 60_000)
})

describe.each(DATABASES)('a store of the release before schema 3 (5dfcaff) on $name', ({ skip, make }) => {
  const PROJECT = 'GSN-UPGRADE'
  /** A collector of this release on the database (a fixture loaded into it first), sent every batch the fixture's trackers sent; what it then keeps. */
  async function collect(fixture?: Parameters<typeof loadRelease>[1]) {
    const db = await make()
    if (fixture) await loadRelease(db, fixture)
    const dir = mkdtempSync(join(tmpdir(), 'signet-release-'))
    dirs.push(dir)
    const c = startCollector(['--project', PROJECT, '--data', join(dir, 'none.jsonl')], { SIGNET_SECRET: 'fixture-secret', SIGNET_MAX_EVENT_AGE: String(10 * 365 * 86_400), ...where(db) })
    running.push(c)
    const url = await c.url
    for (let i = 0; i < 100 && (await fetch(url.replace(/track$/, 'readyz'))).status != 200; i++) await new Promise((r) => setTimeout(r, 100))
    // An outbox, a reloaded thank-you page: every batch again, as it was sent.
    const answers = []
    for (const batch of releaseBatches()) answers.push(await (await fetch(url, { method: 'POST', body: JSON.stringify(batch) })).json())
    expect(answers.filter((a) => a.accepted != 50 || a.rejected.length)).toEqual([])
    expect((await c.stop()).code).toBe(0)
    const store = await openStore(db.options)
    const stored: { id: string; type: string }[] = []
    for await (const line of store.lines()) stored.push(JSON.parse(line))
    await store.rollUp()
    const period = { from: 0, to: Date.now() + 86_400_000 }
    const overview = await store.overview(PROJECT, period)
    // Devices (schema 6) come with a request's User-Agent header: what the release before stored has none.
    const { browsers, systems, devices, ...names } = await store.names(PROJECT, period, 100)
    const views = {
      counts: await store.counts(PROJECT),
      verdicts: overview.verdicts,
      events: overview.days.reduce((n, d) => n + d.events, 0),
      people: (await store.people(PROJECT, { period, limit: 100 })).map(({ id, events, props }) => ({ id, events, props })).sort((a, b) => a.id.localeCompare(b.id)),
      names,
    }
    await store.close()
    await db.drop()
    return { stored, views, devices: { browsers, systems, devices } }
  }

  it.skipIf(skip).each(['release-5dfcaff', 'release-5dfcaff.c689812', 'release-5dfcaff.c689812.resent'] as const)(
    '%s: everything its trackers sent, sent again after the upgrade, is absorbed, its transactions included; the counts and the console are those of a store that got each event once',
    async (fixture) => {
      const { stored, views, devices } = await collect(fixture)
      expect(stored).toHaveLength(1000)
      const transactions = stored.filter((e) => e.type == 'transaction')
      expect(transactions).toHaveLength(100)
      // Each under the key the release of now gives it: its maker's.
      expect(transactions.filter((e) => !/^tx:[uv]:\d+:/.test(e.id))).toEqual([])
      const fresh = await collect()
      expect(views).toEqual(fresh.views)
      expect(views.events).toBe(1000)
      // Events stored before the upgrade have no device, and keep none when sent again; a fresh
      // store's came from this test's fetch, whose User-Agent (node) names no browser.
      expect(devices).toEqual({ browsers: [], systems: [], devices: [] })
      const unknown = [{ name: 'unknown', n: 267 }]
      expect(fresh.devices).toEqual({ browsers: unknown, systems: unknown, devices: unknown })
    },
    120_000,
  )
})
