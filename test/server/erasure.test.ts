// @vitest-environment node
// Issue 32, erasure that leaves no trace: once `signet forget` returns, while a collector runs, the
// store keeps nothing of the person: not their id (a transaction's key held it), nor their
// anonymous id, nor a string only their events used, nor a private property's text. On SQLite the
// files themselves (database, write-ahead log) are searched byte by byte after a clean stop; on
// PostgreSQL every row of every table of Signet's schema, and what is deleted is vacuumed.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { personSignature } from '../../src/server/verify/signature'
import { DATABASES, open, type Database } from './databases'
import { CLI, startCollector, type Started } from './processes'

const SECRET = 'erasure-secret'
const PROJECT = 'GSN-ERASE'
const CAROL = 'carol.doe@example.com'
// What must be gone: her id, her anonymous id, her private page and its title, a property's text.
const NEEDLES = [CAROL, 'anon-carol-7781', 'users/carol-private-7781', 'Carol’s private settings', 'carol-secret-note-7781']

const where = (db: Database): Record<string, string> => (db.options.url ? { SIGNET_DATABASE_URL: db.options.url } : { SIGNET_DB: db.options.file! })
const event = (i: number, fields: Record<string, unknown>) => ({ id: `e-${i}`.padEnd(8, '0'), ts: Date.now() - 1000 + i, type: 'event', name: 'click', ...fields })
const signed = (personId: string) => ({ personId, signature: personSignature(SECRET, personId) })

function batch() {
  const carolsPage = { url: 'https://shop.test/users/carol-private-7781', title: 'Carol’s private settings', referrer: '' }
  const shared = { url: 'https://shop.test/', title: 'Shop', referrer: '' }
  return {
    v: 1,
    project: PROJECT,
    sentAt: Date.now(),
    events: [
      // Before she signs in: her anonymous id alone.
      event(1, { type: 'pageview', anonymousId: 'anon-carol-7781', page: shared }),
      event(2, { type: 'pageview', anonymousId: 'anon-carol-7781', page: carolsPage, ...signed(CAROL) }),
      event(3, { type: 'identify', anonymousId: 'anon-carol-7781', props: { note: 'carol-secret-note-7781', plan: 'pro' }, ...signed(CAROL) }),
      event(4, { type: 'transaction', name: 'ORDER-7781', anonymousId: 'anon-carol-7781', props: { revenue: 42, quantity: 1 }, ...signed(CAROL) }),
      event(5, { type: 'pageview', anonymousId: 'anon-dave', page: shared, ...signed('dave@example.com') }),
      event(6, { type: 'identify', anonymousId: 'anon-dave', props: { plan: 'pro' }, ...signed('dave@example.com') }),
    ],
  }
}

/** Every byte of the store as text: SQLite's files; PostgreSQL's rows, each table's, as text. */
async function contents(db: Database): Promise<string> {
  if (db.name == 'sqlite') {
    const dir = join(db.options.file!, '..')
    return readdirSync(dir)
      .map((f) => readFileSync(join(dir, f)))
      .map((bytes) => bytes.toString('latin1') + bytes.toString('utf16le'))
      .join('\n')
  }
  const tables = (await db.sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")) as { tablename: string }[]
  const rows = await Promise.all(tables.map(({ tablename }) => db.sql(`SELECT t::text AS row FROM ${tablename} t`)))
  return JSON.stringify(rows)
}
/** The needles as they would appear in the text `contents` gives: UTF-8 bytes read as latin1, and as they are. */
const forms = (needle: string) => [Buffer.from(needle, 'utf8').toString('latin1'), needle]
const found = (text: string) => NEEDLES.filter((n) => forms(n).some((f) => text.includes(f)))

const running: Started[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop('SIGKILL')))
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }))
})

describe.each(DATABASES)('erasure on $name', ({ name, skip, make }) => {
  it.skipIf(skip)(
    'signet forget, while a collector with 2 workers runs: nothing of the person is left in the store, a re-sent event stays gone, and the others keep theirs',
    async () => {
      const db = await make()
      const dir = mkdtempSync(join(tmpdir(), 'signet-erase-'))
      dirs.push(dir)
      const c = startCollector(['--project', PROJECT, '--workers', '2', '--data', join(dir, 'none.jsonl')], { SIGNET_SECRET: SECRET, ...where(db) })
      running.push(c)
      const url = await c.url
      const sent = batch()
      expect(await (await fetch(url, { method: 'POST', body: JSON.stringify(sent) })).json()).toEqual({ accepted: 6, rejected: [] })
      // Summed up for the console (her person, her day, her page's path), as a running collector does.
      const summing = await open(db)
      await summing.rollUp()
      await summing.close()
      expect(found(await contents(db))).toEqual(NEEDLES)

      const forget = spawnSync(process.execPath, [CLI, 'forget', '--person', CAROL], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...where(db) } })
      expect({ code: forget.status, out: forget.stdout.trim(), err: forget.stderr }).toEqual({ code: 0, out: `forgot 4 events of ${CAROL}`, err: '' })
      // Gone when it returns, with the collector still running.
      expect(found(await contents(db))).toEqual([])

      // Her tracker's outbox sends everything again: hers absorbed, none stored.
      expect(await (await fetch(url, { method: 'POST', body: JSON.stringify({ ...sent, sentAt: Date.now() }) })).json()).toEqual({ accepted: 6, rejected: [] })
      expect((await c.stop()).code).toBe(0)
      expect(found(await contents(db))).toEqual([])

      const store = await open(db, { readonly: true })
      const left: { id: string; personId?: string; page?: { url: string } }[] = []
      for await (const line of store.lines()) left.push(JSON.parse(line))
      await store.close()
      expect(left.map((e) => [e.personId, e.page?.url])).toEqual([
        ['dave@example.com', 'https://shop.test/'],
        ['dave@example.com', undefined],
      ])
      // What stops a re-sent event: a digest of its id per event, never the id.
      const digests = (await db.sql('SELECT digest FROM signet_forgotten')) as { digest: Uint8Array }[]
      expect(digests.map((d) => d.digest.length)).toEqual([16, 16, 16, 16])
      if (name == 'postgres') {
        const vacuumed = (await db.sql("SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() AND last_vacuum IS NOT NULL")) as { relname: string }[]
        expect(vacuumed.map((r) => r.relname)).toEqual(expect.arrayContaining(['signet_strings', 'signet_people', 'signet_forgotten']))
      }
      await db.drop()
    },
    60_000,
  )
})
