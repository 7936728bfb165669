// The real databases the storage tests run against: SQLite in a fresh folder, and PostgreSQL in a
// fresh schema of the server named by SIGNET_TEST_DATABASE_URL (.ci/run starts one and sets it).
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openStore } from '../../src/server/store/open'
import type { StoreOptions } from '../../src/server/store/store'

export const PG_URL = process.env.SIGNET_TEST_DATABASE_URL

if (!PG_URL) {
  // CI must run both halves; a laptop without PostgreSQL runs the SQLite half and says so.
  if (process.env.CI) throw new Error('SIGNET_TEST_DATABASE_URL is not set: CI runs the storage tests against PostgreSQL too')
  console.warn('PostgreSQL storage tests skipped: set SIGNET_TEST_DATABASE_URL=postgres://user:password@host/database to run them')
}

export interface Database {
  name: 'sqlite' | 'postgres'
  /** Store options naming this database (a file, or a URL whose search_path is this database's own schema). */
  options: StoreOptions
  /** Runs SQL directly, outside Signet, as an operator or another program would. */
  sql(text: string): Promise<unknown[]>
  drop(): Promise<void>
}

export async function sqliteDatabase(): Promise<Database> {
  const file = join(mkdtempSync(join(tmpdir(), 'signet-store-')), 'signet.db')
  const { default: Sqlite } = await import('better-sqlite3')
  return {
    name: 'sqlite',
    options: { file },
    async sql(text) {
      const db = new Sqlite(file, { timeout: 5000 })
      try {
        if (!/^\s*select/i.test(text)) return db.exec(text), []
        return db.prepare(text).all()
      } finally {
        db.close()
      }
    },
    async drop() {},
  }
}

/** Runs SQL on a connection of its own to the database at url; its rows. */
export async function sqlAt(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end()
  }
}

export async function postgresDatabase(): Promise<Database> {
  const schema = `signet_test_${randomBytes(6).toString('hex')}`
  await sqlAt(PG_URL!, `CREATE SCHEMA ${schema}`)
  const url = new URL(PG_URL!)
  url.searchParams.set('options', `-c search_path=${schema}`)
  const run = (text: string) => sqlAt(url.href, text)
  return {
    name: 'postgres',
    options: { url: url.href },
    sql: run,
    drop: () => run(`DROP SCHEMA ${schema} CASCADE`).then(() => {}),
  }
}

/** One entry per engine; PostgreSQL's is marked skip without a server to run against. */
export const DATABASES = [
  { name: 'sqlite', skip: false, make: sqliteDatabase },
  { name: 'postgres', skip: !PG_URL, make: postgresDatabase },
] as const

export const open = (db: Database, options: StoreOptions = {}) => openStore({ ...db.options, ...options })

/** Makes every insert into the events table fail, as a full disk or a lost connection would, until healed. */
export const breakWrites = (db: Database) =>
  db.sql(
    db.name == 'sqlite'
      ? `CREATE TRIGGER signet_broken BEFORE INSERT ON signet_events BEGIN SELECT RAISE(ABORT, 'writes are broken'); END`
      : `CREATE FUNCTION signet_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'writes are broken'; END $$;
         CREATE TRIGGER signet_broken BEFORE INSERT ON signet_events FOR EACH ROW EXECUTE FUNCTION signet_broken();`,
  )

export const healWrites = (db: Database) =>
  db.sql(db.name == 'sqlite' ? 'DROP TRIGGER signet_broken' : 'DROP TRIGGER signet_broken ON signet_events; DROP FUNCTION signet_broken();')
