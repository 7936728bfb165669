import type { StoredEvent } from '../verify/batch'

/** What the store has counted for one project: stored events per verdict, rejected ones per reason. */
export interface StoreCounts {
  stored: Record<string, number>
  rejected: Record<string, number>
}

/** A rejection to count; `project` is '' when the batch named no configured project. */
export interface Rejected {
  project: string
  reason: string
}

/**
 * What became of an event given to the store: stored now; a repeat of the one stored under its id
 * (same sender and content: the tracker sent it again), absorbed; or a conflict, another event under
 * an id taken already, not stored over it.
 */
export type Outcome = 'stored' | 'repeat' | 'conflict'

/**
 * Where the collector keeps events: SQLite (one machine) or PostgreSQL (any number). Both key events
 * by project and id, so the database itself drops a repeat, forever and across processes.
 */
export interface Store {
  /** `sqlite <file>` or `postgres <host:port/database>`, for logs (never a password). */
  readonly description: string
  /**
   * Stores, in one transaction, the events not stored before (same project and id), and adds the
   * rejections and the conflicts to the counts. Resolves once committed, to what became of each of
   * `events`; rejects having committed nothing of them.
   */
  add(events: readonly StoredEvent[], rejected?: readonly Rejected[]): Promise<Outcome[]>
  counts(project: string): Promise<StoreCounts>
  /** The project's latest events (of one person with `person`), newest first. */
  recent(project: string, options: { limit: number; person?: string }): Promise<StoredEvent[]>
  /** Every stored event matching the filter as one JSON text each, in the order they were stored, read a page at a time. */
  lines(filter?: { project?: string; since?: number }): AsyncIterable<string>
  close(): Promise<void>
}

export interface StoreOptions {
  /** PostgreSQL connection string; the SQLite file is used without one. */
  url?: string
  /** The SQLite file. Default `data/signet.db` under the working folder. */
  file?: string
  /** Opens an existing store for reading only (export): nothing is created or migrated. */
  readonly?: boolean
  /** Where a store reports trouble it survives (a PostgreSQL connection lost while idle). */
  log?: (line: string) => void
}

export const DEFAULT_SQLITE_FILE = 'data/signet.db'

/**
 * Loads a database driver, which is an optional peer dependency: only those who run a collector
 * install it, so a missing one is a one-line instruction, not a stack trace.
 */
export async function loadDriver<T>(name: string, load: () => Promise<T>, install: string): Promise<T> {
  try {
    return await load()
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code == 'ERR_MODULE_NOT_FOUND' || code == 'MODULE_NOT_FOUND') throw new Error(`signet: this store needs ${name}: ${install}`)
    throw err
  }
}

/** Which events of a batch were new, given the keys the database says it inserted (a repeat within the batch is not). */
export function freshFlags(events: readonly StoredEvent[], inserted: Set<string>): boolean[] {
  return events.map((e) => {
    const key = eventKey(e)
    return inserted.delete(key)
  })
}

/**
 * Whether two stored records are one event sent twice: the same sender (person, anonymous id) and
 * verdict, and the same content, whenever it arrived and from whichever address. A transaction is
 * the same order when its id, items and totals are: a thank-you page shown again tracks it again,
 * at another time. Self-contained (no imports, no closure): the SQLite writer thread runs its source.
 */
export function sameEvent(stored: string, incoming: string): boolean {
  const content = (json: string) => {
    const { receivedAt, time, ip, ...e } = JSON.parse(json)
    if (e.type == 'transaction') {
      delete e.ts
      delete e.page
    }
    // Whatever order a collector wrote the record's own keys in.
    return JSON.stringify(Object.keys(e).sort().map((k) => [k, e[k]]))
  }
  return content(stored) == content(incoming)
}

export const eventKey = (e: { project: string; id: string }) => e.project + '\n' + e.id

/** Adds up counts rows into the shape of StoreCounts. */
export function tally(rows: Iterable<{ kind: string; name: string; n: number | string }>): StoreCounts {
  const counts: StoreCounts = { stored: {}, rejected: {} }
  for (const { kind, name, n } of rows) {
    const into = kind == 'stored' ? counts.stored : counts.rejected
    into[name] = (into[name] || 0) + Number(n)
  }
  return counts
}
