// How both engines keep an event (schema 3): one row of small columns instead of the record's JSON.
// The strings that repeat from event to event (the project, ids of people and browsers, event names,
// pages, titles, referrers, addresses) are kept once, in a dictionary, and referred to by number;
// the event's id as bytes; its times as differences from when it was received. A record that does
// not fit these columns (an old row, a number that is not an integer) keeps what does not fit as
// JSON in `rest`, so that every record reads back as it was stored. Pure: the engines do the I/O.

import { createHash, createHmac } from 'node:crypto'
import type { EventType } from '../../protocol'
import { transactionKey, type StoredEvent, type Verdict } from '../verify/batch'

/**
 * The dictionary's kinds, in the order of the row's string columns: the kind's number is its index + 1.
 * Never reordered; a new one comes last (device, schema 6: a column added to the table, last too).
 */
export const STRING_COLUMNS = ['project', 'person', 'anonymous', 'name', 'url', 'title', 'referrer', 'ip', 'device'] as const
export type StringColumn = (typeof STRING_COLUMNS)[number]
export const kindOf = (column: StringColumn) => STRING_COLUMNS.indexOf(column) + 1

// Codes as stored: a new type or verdict takes the next number, and a number is never reused.
const TYPE_CODES: Record<EventType, number> = { pageview: 0, event: 1, identify: 2, properties: 3, transaction: 4 }
const VERDICT_CODES: Record<Verdict, number> = {
  verified: 0,
  anonymous: 1,
  unchecked: 2,
  missing_signature: 3,
  bad_signature: 4,
  expired_signature: 5,
  wrong_audience: 6,
  wrong_issuer: 7,
  unknown_key: 8,
  person_mismatch: 9,
}
const TYPES = Object.keys(TYPE_CODES)
const VERDICTS = Object.keys(VERDICT_CODES)
export const verdictCode = (verdict: string): number | undefined => (VERDICT_CODES as Record<string, number>)[verdict]
export const verdictOfCode = (code: number | null): string | undefined => (code === null ? undefined : VERDICTS[code])
export const typeCode = (type: string): number | undefined => (TYPE_CODES as Record<string, number>)[type]

/**
 * An event as a row: the dictionary's strings as they are (`strings`, in STRING_COLUMNS order, null
 * where the record has none), which an engine turns into the dictionary's numbers, and the rest.
 */
export interface EncodedEvent {
  /** The event's id as the key bytes (idKey). */
  id: Uint8Array
  receivedAt: number
  strings: (string | null)[]
  type: number | null
  verdict: number | null
  /** ts − receivedAt and time − receivedAt, when they are integers of 32 bits. */
  tsDelta: number | null
  timeDelta: number | null
  /** The properties as JSON. */
  props: string | null
  /** What the columns do not hold, as JSON with its keys sorted, or null. */
  rest: string | null
}

const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key)
const isInt32 = (n: unknown): n is number => Number.isInteger(n) && Math.abs(n as number) < 2 ** 31
const HEX_ID = /^[0-9a-f]{32}$/
/** The first byte of a compacted id: no id of text starts with it (malformedId refuses control characters). */
const HEX_MARK = 1

/** An event id as key bytes: 32 lowercase hex digits (the tracker's) as a mark and 16 bytes, any other id as its UTF-8. */
export function idKey(id: string): Buffer {
  if (!HEX_ID.test(id)) return Buffer.from(id, 'utf8')
  const key = Buffer.alloc(17)
  key[0] = HEX_MARK
  key.write(id, 1, 'hex')
  return key
}

export const idOfKey = (key: Uint8Array): string => {
  const bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  return bytes.length == 17 && bytes[0] == HEX_MARK ? bytes.toString('hex', 1) : bytes.toString('utf8')
}

/**
 * A dictionary entry's text: the string as JSON, so that what no database text holds (a NUL, half
 * of a surrogate pair, which a title cut inside an emoji has) is kept as it was.
 */
export const entryOf = (value: string) => JSON.stringify(value)
export const valueOf = (entry: string) => JSON.parse(entry) as string

/**
 * What the dictionary is keyed by: 16 bytes of an entry's SHA-256. The entry itself is kept once, not
 * again in an index (a url of 2,048 characters would be), and PostgreSQL's B-tree refuses keys of
 * more than 2,704 bytes. 128 bits: no two entries of any store share one.
 */
export const entryKey = (entry: string) => createHash('sha256').update(entry).digest().subarray(0, 16)

/** A stored record (as the collector makes it, or an older row's JSON) as a row. */
export function encodeEvent(record: Readonly<Record<string, unknown>>): EncodedEvent {
  const receivedAt = record.receivedAt
  if (!own(record, 'receivedAt') || !Number.isSafeInteger(receivedAt) || !own(record, 'project') || typeof record.project != 'string' || !own(record, 'id') || typeof record.id != 'string')
    throw new Error('signet: a stored record without its id, project or receivedAt')
  const at = receivedAt as number
  const e: EncodedEvent = { id: idKey(record.id), receivedAt: at, strings: [record.project, null, null, null, null, null, null, null, null], type: null, verdict: null, tsDelta: null, timeDelta: null, props: null, rest: null }
  const set = (column: StringColumn, value: string) => (e.strings[kindOf(column) - 1] = value)
  let rest: Record<string, unknown> | undefined
  // One pass over the keys (this runs for every event stored): each kept in its column when it fits one, else in rest.
  for (const key of Object.keys(record)) {
    const v = record[key]
    switch (key) {
      case 'id':
      case 'project':
      case 'receivedAt':
        continue
      case 'type':
        if (typeof v == 'string' && typeCode(v) !== undefined) {
          e.type = typeCode(v)!
          continue
        }
        break
      case 'verdict':
        if (typeof v == 'string' && verdictCode(v) !== undefined) {
          e.verdict = verdictCode(v)!
          continue
        }
        break
      case 'ts':
      case 'time':
        if (Number.isSafeInteger(v) && isInt32((v as number) - at)) {
          e[key == 'ts' ? 'tsDelta' : 'timeDelta'] = (v as number) - at
          continue
        }
        break
      case 'props':
        if (v !== undefined) e.props = JSON.stringify(v)
        continue
      case 'personId':
      case 'anonymousId':
      case 'name':
      case 'ip':
      case 'device':
        if (typeof v == 'string') {
          set(key == 'personId' ? 'person' : key == 'anonymousId' ? 'anonymous' : key, v)
          continue
        }
        break
      case 'page': {
        // A page of strings only, and not empty (an empty one stays in rest: no column says it was there).
        const page = v as Record<string, unknown>
        const keys = page && typeof page == 'object' && !Array.isArray(page) ? Object.keys(page) : []
        if (keys.length && keys.every((k) => (k == 'url' || k == 'title' || k == 'referrer') && typeof page[k] == 'string')) {
          for (const k of keys) set(k as StringColumn, page[k] as string)
          continue
        }
      }
    }
    // Key by key as an own property: a key "__proto__" would otherwise be taken for the prototype.
    Object.defineProperty((rest ??= {}), key, { value: v, enumerable: true, writable: true, configurable: true })
  }
  if (rest) e.rest = JSON.stringify(Object.fromEntries(Object.keys(rest).sort().map((k) => [k, rest![k]])))
  return e
}

/** A row as the stored record, its keys in the order the collector writes them. */
export function decodeEvent(row: Omit<EncodedEvent, 'strings'> & { strings: readonly (string | null)[] }): StoredEvent {
  const s = (column: StringColumn) => row.strings[kindOf(column) - 1]
  const e: Record<string, unknown> = { id: idOfKey(row.id) }
  if (row.type !== null) e.type = TYPES[row.type]
  if (row.tsDelta !== null) e.ts = row.receivedAt + row.tsDelta
  if (row.timeDelta !== null) e.time = row.receivedAt + row.timeDelta
  if (s('anonymous') !== null) e.anonymousId = s('anonymous')
  if (s('person') !== null) e.personId = s('person')
  if (s('name') !== null) e.name = s('name')
  if (row.props !== null) e.props = JSON.parse(row.props)
  if (s('url') !== null || s('title') !== null || s('referrer') !== null) {
    const page: Record<string, string> = {}
    for (const k of ['url', 'title', 'referrer'] as const) if (s(k) !== null) page[k] = s(k)!
    e.page = page
  }
  e.project = s('project')
  e.receivedAt = row.receivedAt
  if (row.verdict !== null) e.verdict = VERDICTS[row.verdict]
  if (s('ip') !== null) e.ip = s('ip')
  if (s('device') !== null) e.device = s('device')
  // Key by key: Object.assign would take a key "__proto__" for the prototype.
  if (row.rest !== null)
    for (const [k, v] of Object.entries(JSON.parse(row.rest) as object)) Object.defineProperty(e, k, { value: v, enumerable: true, writable: true, configurable: true })
  return e as unknown as StoredEvent
}

/** A row in the events table's column order, its strings as the dictionary's numbers. */
export type Row = [
  project: number,
  id: Uint8Array,
  receivedAt: number,
  person: number | null,
  anonymous: number | null,
  type: number | null,
  verdict: number | null,
  name: number | null,
  url: number | null,
  title: number | null,
  referrer: number | null,
  ip: number | null,
  tsDelta: number | null,
  timeDelta: number | null,
  props: string | null,
  rest: string | null,
  device: number | null,
]

/** The events table's columns, in Row's order. */
export const ROW_COLUMNS = ['project', 'id', 'received_at', 'person', 'anonymous', 'type', 'verdict', 'name', 'url', 'title', 'referrer', 'ip', 'ts_delta', 'time_delta', 'props', 'rest', 'device'] as const
/** The events table's columns before schema 6 (schema 3's copy makes its table so, then the column is added). */
export const ROW_COLUMNS_V3 = ROW_COLUMNS.slice(0, -1)

/** The row of an encoded event, given the dictionary's number of each of its strings (in STRING_COLUMNS order). */
export const toRow = (e: EncodedEvent, ids: readonly (number | null)[]): Row => [
  ids[0]!,
  e.id,
  e.receivedAt,
  ids[1],
  ids[2],
  e.type,
  e.verdict,
  ids[3],
  ids[4],
  ids[5],
  ids[6],
  ids[7],
  e.tsDelta,
  e.timeDelta,
  e.props,
  e.rest,
  ids[8],
]

/**
 * Whether two rows under one id are one event sent twice, as store.ts's sameEvent judges records:
 * the same sender, verdict and content, whenever it arrived and from whichever address or device; a
 * transaction whatever its ts and page. Self-contained (no imports, no closure): the SQLite writer
 * thread runs its source.
 */
export function sameRow(a: readonly unknown[], b: readonly unknown[]): boolean {
  const content = (r: readonly unknown[]) => {
    const pairs: [string, unknown][] = r[15] === null ? [] : Object.entries(JSON.parse(r[15] as string))
    const transaction = r[5] === 4
    const fields: Record<string, unknown> = { person: r[3], anonymous: r[4], type: r[5], verdict: r[6], name: r[7], props: r[14] }
    if (!transaction) {
      fields.url = r[8]
      fields.title = r[9]
      fields.referrer = r[10]
      if (r[12] !== null) fields.ts = (r[2] as number) + (r[12] as number)
    }
    const ignored = transaction ? ['receivedAt', 'time', 'ip', 'ts', 'page'] : ['receivedAt', 'time', 'ip']
    // A ts too far from receivedAt for its column is in rest: compared with the other's all the same.
    for (const [k, v] of pairs) if (!ignored.includes(k)) fields[k == 'ts' ? 'ts' : 'rest.' + k] = JSON.stringify(v)
    if (typeof fields.ts == 'number') fields.ts = String(fields.ts)
    return JSON.stringify(Object.keys(fields).sort().map((k) => [k, fields[k]]))
  }
  return content(a) == content(b)
}

/** A row read back (RECORD_SELECT), its strings as the dictionary's entries. */
export interface RecordRow {
  seq: number | string
  id: Uint8Array
  received_at: number | string
  type: number | null
  verdict: number | null
  ts_delta: number | null
  time_delta: number | null
  props: string | null
  rest: string | null
  [string: `s_${string}`]: string | null
}

/**
 * The string columns an events table has, and the columns and joins that read its events back as
 * records, for both engines (`from` names the table `e`): without schema 6's device column when the
 * table has none (a store not migrated yet, opened to read only).
 */
export const recordSelect = (hasDevice: boolean) => {
  const strings = hasDevice ? STRING_COLUMNS : STRING_COLUMNS.filter((c) => c != 'device')
  return {
    strings,
    columns: `e.seq, e.id, e.received_at, e.type, e.verdict, e.ts_delta, e.time_delta, e.props, e.rest, ${strings.map((c) => `s${kindOf(c)}.value AS s_${c}`).join(', ')}`,
    from: `signet_events e ${strings.map((c) => `LEFT JOIN signet_strings s${kindOf(c)} ON s${kindOf(c)}.id = e.${c}`).join(' ')}`,
  }
}

/** A row read back as its record. */
export const recordOf = (r: RecordRow): StoredEvent =>
  decodeEvent({
    id: r.id,
    receivedAt: Number(r.received_at),
    type: r.type,
    verdict: r.verdict,
    tsDelta: r.ts_delta,
    timeDelta: r.time_delta,
    props: r.props,
    rest: r.rest,
    strings: STRING_COLUMNS.map((c) => (r[`s_${c}`] == null ? null : valueOf(r[`s_${c}`]!))),
  })

/**
 * The key a transaction of the release before schema 3 (which kept it under "tx:" + its order id)
 * is to have, the one every release since gives it: its maker's (transactionKey). Undefined for one
 * keyed so already, and for anything else.
 */
export const rekeyedTransaction = (e: StoredEvent): string | undefined =>
  e.type == 'transaction' && typeof e.name == 'string' && e.id == 'tx:' + e.name ? transactionKey(e, e.verdict) : undefined

/** How many rows of a store of schema 2 or older (an event's JSON a row) hold a transaction keyed "tx:<order>". */
export const oldKeys = (rows: readonly { id: string; event: string }[]) =>
  rows.filter(({ id, event }) => {
    try {
      const e = JSON.parse(event) as { type?: unknown; name?: unknown }
      return e.type == 'transaction' && id == 'tx:' + e.name
    } catch {
      return false
    }
  }).length

/**
 * What a store keeps of a forgotten event's id, so that a tracker sending it again does not bring it
 * back: a keyed digest, never the id (a transaction's holds its maker's id). HMAC-SHA256 with the
 * store's own salt (signet_salt, made when the store is), so that the digest of a guessed id cannot
 * be computed without the store; 16 bytes, as the dictionary's keys.
 */
export const forgottenKey = (salt: Uint8Array, id: string) => createHmac('sha256', salt).update(id).digest().subarray(0, 16)
