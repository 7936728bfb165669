import { DEFAULT_SQLITE_FILE, type Store, type StoreOptions } from './store'

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
