import { POSTGRES_SCHEMA, SQLITE_SCHEMA } from './schema'
import { DEFAULT_SQLITE_FILE, describeUrl, type SchemaState, type Store, type StoreOptions } from './store'

/** What the options name, for log lines, without opening it: `postgres host:port/database` (never a password) or `sqlite <file>`. */
export const describeStore = ({ url, file }: StoreOptions) => (url ? `postgres ${describeUrl(url)}` : `sqlite ${file || DEFAULT_SQLITE_FILE}`)

/** The schema this release keeps the store in: opening migrates an older one to it, and refuses a newer one. */
export const storeSchema = ({ url }: StoreOptions) => (url ? POSTGRES_SCHEMA : SQLITE_SCHEMA)

/**
 * Opens the store the options name, creating or migrating its schema unless readonly. The one
 * module that knows the engines: store.ts, the interface they implement, imports neither.
 */
export async function openStore(options: StoreOptions = {}): Promise<Store> {
  if (options.url) {
    const { openPostgresStore } = await import('./postgres')
    return openPostgresStore(options.url, options)
  }
  const { openSqliteStore } = await import('./sqlite')
  return openSqliteStore(options.file || DEFAULT_SQLITE_FILE, options)
}

/**
 * What opening the store would migrate, found without changing anything: its description, the
 * schema it has and this release's, and the events the migration would copy. Undefined for a
 * SQLite file that is not there (opening makes a new one, of this release's schema).
 */
export async function migrationOf(options: StoreOptions): Promise<(SchemaState & { store: string; target: number }) | undefined> {
  const state = options.url
    ? await import('./postgres').then((m) => m.postgresSchemaOf(options.url!))
    : await import('./sqlite').then((m) => m.sqliteSchemaOf(options.file || DEFAULT_SQLITE_FILE))
  return state && { ...state, store: describeStore(options), target: storeSchema(options) }
}
