import type { StoredEvent } from '../verify/batch'

/** What the store has counted for one project: stored events per verdict, rejected ones per reason. */
export interface StoreCounts {
  stored: Record<string, number>
  rejected: Record<string, number>
}

/**
 * A rejection to count; `project` is '' when the batch named no configured project. One that names
 * the person it claimed is kept too, as an attempt (the console's Security view), with when it
 * came and from where: the address as the collector stores it, the page's origin.
 */
export interface Rejected {
  project: string
  reason: string
  personId?: string
  receivedAt?: number
  ip?: string
  origin?: string
}

/** A span of time, in ms since the epoch: from included, to excluded. */
export interface Period {
  from: number
  to: number
}

/** The console's overview of a project over a period, counted by whole days (UTC). */
export interface Overview {
  /** Each day of the period: the events stored, the distinct people among them, and its transactions (rollup.ts's REVENUE_VERDICTS) and their revenue. */
  days: { day: string; events: number; people: number; orders: number; revenue: number }[]
  /** The period's transactions and their revenue, in the transactions' own unit (to the hundredth). */
  revenue: Revenue
  /** Events stored per verdict over the period. */
  verdicts: Record<string, number>
  /** Attempts refused per reason over the period (those that claimed a person). */
  rejected: Record<string, number>
}

/** A verified person as the console lists them. */
export interface PersonSummary {
  id: string
  firstSeen: number
  lastSeen: number
  /** Verified events stored. */
  events: number
  /** The properties of their latest identify or properties event. */
  props?: Record<string, unknown>
  /** Their transactions and revenue, ever (person() only). */
  revenue?: Revenue
}

/** Transactions counted as revenue, and its sum. */
export interface Revenue {
  orders: number
  total: number
}

/** A name and how often it came: a page's path, an event's name, a referrer's host. */
export interface Named {
  name: string
  n: number
}

/**
 * The console's ranked lists of a period, by what the summaries count them under (rollup.ts): page
 * paths, event names, outside referrer hosts, the utm_* parameters of pages landed on, and the
 * browsers, operating systems and device types of pageviews (device.ts).
 */
export const NAMED_KINDS = {
  pages: 'page',
  events: 'event',
  referrers: 'referrer',
  utm_source: 'utm_source',
  utm_medium: 'utm_medium',
  utm_campaign: 'utm_campaign',
  browsers: 'browser',
  systems: 'os',
  devices: 'device',
} as const
export type NamedLists = Record<keyof typeof NAMED_KINDS, Named[]>

/** Refused attempts that claimed one person id, for one reason. */
export interface Attempts {
  personId: string
  reason: string
  n: number
  first: number
  last: number
  /** The addresses (as stored) and page origins they came from, the most frequent first, at most ten each. */
  ips: string[]
  origins: string[]
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
  /**
   * Adds what was stored since the last call to the console's summaries (events and people per day,
   * pages, event names, referrers, verified people), a chunk at a time. With PostgreSQL, up to the
   * last event of a moment when every write then under way has ended (collectors commit out of seq
   * order), and one collector at a time.
   */
  rollUp(): Promise<void>
  overview(project: string, period: Period): Promise<Overview>
  /**
   * Verified people seen in the period, the latest first; with `prefix`, those whose id starts so;
   * with `search`, those it finds (peopleSearch).
   */
  people(project: string, options: { period: Period; prefix?: string; search?: string; limit: number; offset?: number }): Promise<PersonSummary[]>
  person(project: string, personId: string): Promise<PersonSummary | undefined>
  /** A person's stored events, newest first, a page at a time. */
  timeline(project: string, personId: string, options: { limit: number; offset?: number }): Promise<StoredEvent[]>
  /** The most frequent page paths, event names and referrer hosts of the period. */
  names(project: string, period: Period, limit: number): Promise<NamedLists>
  /** How many events of each of these names were stored on each day of the period (days with none left out): the console's goals. */
  eventsByDay(project: string, period: Period, names: string[]): Promise<{ day: string; name: string; n: number }[]>
  /** Refused attempts of the period, by the person id they claimed and the reason, the most frequent first. */
  attempts(project: string, period: Period, limit: number): Promise<Attempts[]>
  /**
   * Deletes every stored event of the person (of one project, or of all), every event of the
   * anonymous ids those events carried, their summaries and the attempts that claimed them, and
   * remembers the deleted ids so that a tracker sending one again does not bring it back.
   * Resolves to how many events went.
   */
  forget(personId: string, project?: string): Promise<number>
  /** Deletes the events received before `before` (ms), a chunk at a time, and what summarises them; resolves to how many went. */
  purge(before: number): Promise<number>
  /**
   * Deletes the digests of events forgotten before `before` (ms): kept so that a tracker sending
   * one again does not bring it back, they are needed no longer than the collector accepts an
   * event that old. Resolves to how many went.
   */
  expireForgotten(before: number): Promise<number>
  /**
   * Messages between every process that uses this database, on any machine (PostgreSQL's
   * LISTEN/NOTIFY): what one sends, every other one hears, its sender included. Absent for SQLite,
   * whose processes share one machine and are relayed by the primary.
   */
  channel?: Channel
  /** Asks the database to answer, changing no data (SQLite: a write of what is there, as a full disk refuses writes only): how a store found unreachable is tried again. */
  ping?(): Promise<void>
  close(): Promise<void>
}

/** A best-effort broadcast: a message sent while the database is unreachable is dropped, not queued. */
export interface Channel {
  /** At most CHANNEL_BYTES of UTF-8. */
  send(message: string): void
  /** Calls fn with each message heard from now on, and `ready` each time it starts hearing (again); returns what stops listening. */
  listen(fn: (message: string) => void, ready?: () => void): () => void
}

/** The largest message a channel carries: PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
export const CHANNEL_BYTES = 7900

/**
 * What a people search asks: `key=value`, the people whose latest property `key` has that value (as
 * text); anything else, the people with it in any part of their id or of their latest properties
 * (ASCII letters in either case).
 */
export type PeopleSearch = { property: string; value: string } | { text: string }
export function peopleSearch(search: string): PeopleSearch {
  const m = /^\s*([^=\s"]+)\s*=\s*(.*?)\s*$/.exec(search)
  return m ? { property: m[1], value: m[2] } : { text: search.toLowerCase() }
}

export interface StoreOptions {
  /** PostgreSQL connection string; the SQLite file is used without one. */
  url?: string
  /** The SQLite file. Default `data/signet.db` under the working folder. */
  file?: string
  /** Opens an existing store for reading only (export): nothing is created or migrated. */
  readonly?: boolean
  /** Opens an existing store only: a SQLite file that is not there is an error, not a new store (forget). */
  mustExist?: boolean
  /** Where a store reports trouble it survives (warn: a PostgreSQL connection lost while idle), and a migration's progress (info). */
  log?: (line: string, level?: 'info' | 'warn' | 'error') => void
  /** A migration's progress: events copied of those to copy, at its start, every chunk, and at its end. */
  onMigration?: (copied: number, total: number) => void
  /** The clock PostgreSQL's monthly partitions are made ahead of, and the dictionary's entries are kept by (tests set it). Default Date.now. */
  now?: () => number
}

export const DEFAULT_SQLITE_FILE = 'data/signet.db'

/** A store's schema version as found, and the events a migration to this release's schema would copy. */
export interface SchemaState {
  version: number
  events: number
  /** Transactions the release before schema 3 kept under "tx:<order>", which schema 4 gives their maker's key. */
  transactions: number
  /** Ids of forgotten events kept as they were, which schema 5 keeps as keyed digests. */
  forgotten: number
  /** PostgreSQL: the schema (namespace) Signet's tables are in, for a backup of those alone. */
  namespace?: string
}

/** host:port/database of a connection string, for messages: never its user or password, nor anything of a URL that is not PostgreSQL's. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.protocol == 'postgres:' || u.protocol == 'postgresql:') return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname || '/'}`
  } catch {}
  return '(unreadable SIGNET_DATABASE_URL)'
}

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

/**
 * Whether two stored records are one event sent twice: the same sender (person, anonymous id) and
 * verdict, and the same content, whenever it arrived and from whichever address. A transaction is
 * the same order when its id, items and totals are: a thank-you page shown again tracks it again,
 * at another time. For a store of one's own; the engines here compare rows the same way (record.ts's sameRow).
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

/**
 * A rejection as six columns: project and reason, and for an attempt that claimed a person its
 * person id (else null), when, the address and the page's origin, cut to what a row may hold.
 */
export const attemptColumns = (r: Rejected): (string | number | null)[] => [
  r.project,
  r.reason,
  r.personId === undefined ? null : r.personId.slice(0, 512),
  r.receivedAt ?? Date.now(),
  r.ip?.slice(0, 64) ?? null,
  r.origin?.slice(0, 256) ?? null,
]

/** Adds up counts rows into the shape of StoreCounts. */
export function tally(rows: Iterable<{ kind: string; name: string; n: number | string }>): StoreCounts {
  const counts: StoreCounts = { stored: {}, rejected: {} }
  for (const { kind, name, n } of rows) {
    const into = kind == 'stored' ? counts.stored : counts.rejected
    into[name] = (into[name] || 0) + Number(n)
  }
  return counts
}
