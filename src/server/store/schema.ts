/**
 * The schema versions this release keeps its stores in, one per engine: what opening a store
 * migrates it to (and refuses a newer one than), and what a collector says at its start. Each
 * engine checks its migrations against its number when loaded. A change of schema raises its number
 * here, and the package's version (CHANGELOG.md).
 */
export const SQLITE_SCHEMA = 6
export const POSTGRES_SCHEMA = 6
