// @vitest-environment node
// docs/storage.md's PostgreSQL recipes, run as written with the psql, pg_dump and pg_restore the
// server came with: a schema of its own on a database that lacks it, and its backup and restore.
// The recipes name the schema `signet`; here it is a fresh name, so that runs never meet.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/server/store/open'
import type { StoredEvent } from '../../src/server/verify/batch'
import { PG_URL, sqlAt } from './databases'

const doc = readFileSync('docs/storage.md', 'utf8')
const recipe = (name: string) => {
  const match = new RegExp('```sh\\n# signet:recipe ' + name + '\\n([\\s\\S]*?)```').exec(doc)
  if (!match) throw new Error(`docs/storage.md has no recipe ${name}`)
  return match[1]
}
const schema = `signet_docs_${randomBytes(4).toString('hex')}`
const other = `${schema}_other`
// (In the URL the name follows an encoded '=', %3D.)
const own = (text: string) => text.replace(/(\b|%3D)signet\b/g, `$1${schema}`)
const dir = mkdtempSync(join(tmpdir(), 'signet-pg-docs-'))
/** Runs shell lines in the test's folder, with the database's own connection string as the docs call it. */
const sh = (lines: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', lines], { cwd: dir, encoding: 'utf8', env: { ...process.env, DATABASE_URL: PG_URL } })
const sql = (text: string) => sqlAt(PG_URL!, text)
const event = (id: string): StoredEvent => ({ id, ts: Date.now(), type: 'event', name: 'signed-up', time: Date.now(), receivedAt: Date.now(), project: 'P', anonymousId: 'a1', personId: 'ada', verdict: 'verified' })

describe.skipIf(!PG_URL)('docs/storage.md, the PostgreSQL recipes as written', () => {
  afterAll(() => sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${other} CASCADE`))

  it('a schema named before it exists: the store refuses to open, naming the schema and the fix', async () => {
    const url = new URL(PG_URL!)
    url.searchParams.set('options', `-c search_path=${schema}`)
    await expect(openStore({ url: url.href, log: () => {} })).rejects.toThrow(
      `no schema of the search_path "${schema}" exists in the database: create it first (CREATE SCHEMA ${schema}), or name one that does`,
    )
    await expect(openStore({ url: url.href, readonly: true, log: () => {} })).rejects.toThrow(`(CREATE SCHEMA ${schema})`)
  })

  it('a schema of its own: the recipe makes it and names it; the store keeps its tables there', async () => {
    const url = sh(`${own(recipe('postgres-schema'))}\necho "$SIGNET_DATABASE_URL"`).trim().split('\n').pop()!
    const store = await openStore({ url, log: () => {} })
    try {
      expect(await store.add([event('e1'), event('e2')])).toEqual(['stored', 'stored'])
    } finally {
      await store.close()
    }
    const tables = await sql(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = '${schema}' AND tablename = 'signet_schema'`)
    expect(tables).toEqual([{ n: 1 }])
    // Run again, as a deploy script would: nothing changes, nothing fails.
    sh(own(recipe('postgres-schema')))
  })

  it("the backup holds that schema alone, and its restore gives the store back as it was", async () => {
    // Another schema of the same database, which the backup must leave out.
    await sql(`CREATE SCHEMA ${other}; CREATE TABLE ${other}.unrelated (x int)`)
    const url = new URL(PG_URL!)
    url.searchParams.set('options', `-c search_path=${schema}`)
    const lines = async () => {
      const store = await openStore({ url: url.href, readonly: true, log: () => {} })
      try {
        const out: string[] = []
        for await (const line of store.lines()) out.push((JSON.parse(line) as StoredEvent).id)
        return out
      } finally {
        await store.close()
      }
    }
    const before = await lines()
    expect(before).toEqual(['e1', 'e2'])
    const [dump, restore] = own(recipe('postgres-backup')).split('# restore:')
    sh(dump)
    const listed = sh(`pg_restore -l ${schema}.dump`)
    expect(listed).toContain(`SCHEMA - ${schema} `)
    expect(listed).not.toContain(other)
    await sql(`DROP SCHEMA ${schema} CASCADE`)
    sh(restore)
    expect(await lines()).toEqual(before)
  })
})
