import { randomBytes } from 'node:crypto'
import type { RejectedEvent, StoredEvent } from '../verify/batch'
import { CHANNEL_BYTES, type Channel } from '../store/store'

/** One line of the live dashboard. */
export interface FeedRow {
  id: string
  /** The project it was sent to (absent in rows of earlier versions). */
  project?: string
  time: number
  person?: string
  verdict: string
  reason?: string
  type: string
  name?: string
}

export const storedRow = (e: StoredEvent): FeedRow => ({ id: e.id, project: e.project, time: e.receivedAt, person: e.personId, verdict: e.verdict, type: e.type, name: e.name })

/**
 * What the collector decided, as rows for whoever is watching in this process. `relay` carries
 * this process's rows to the other workers, whose rows come back through `deliver`.
 */
export function createFeed(relay?: (rows: FeedRow[]) => void) {
  const listeners = new Map<(rows: FeedRow[]) => void, () => void>()
  const deliver = (rows: FeedRow[]) => {
    if (rows.length) listeners.forEach((_, fn) => fn(rows))
  }
  return {
    publish(stored: StoredEvent[], rejected: RejectedEvent[], project?: string) {
      const rows = stored.map(storedRow)
      for (const r of rejected)
        rows.push({ id: r.id, project, time: Date.now(), person: r.event?.personId, verdict: 'rejected', reason: r.reason, type: r.event?.type || 'unreadable', name: r.event?.name })
      deliver(rows)
      if (rows.length) relay?.(rows)
    },
    deliver,
    /** Calls fn with each new group of rows, and end when the feed closes; returns the unsubscribe function. */
    subscribe(fn: (rows: FeedRow[]) => void, end: () => void) {
      listeners.set(fn, end)
      return () => void listeners.delete(fn)
    },
    subscribers: () => listeners.size,
    /** Ends every subscription (the server is stopping: a stream left open would hold it up). */
    close() {
      listeners.forEach((end) => end())
      listeners.clear()
    },
  }
}

export type Feed = ReturnType<typeof createFeed>

// A row's strings as the live view shows them: cut, so that any row fits in one channel message
// (120 characters, each at most 6 bytes of JSON escape, 6 strings: 4,320 bytes).
const SHOWN = 120
const FIELDS = ['id', 'project', 'person', 'verdict', 'reason', 'type', 'name'] as const
const cut = (row: FeedRow): FeedRow => {
  const out = { ...row }
  for (const key of FIELDS) if (typeof out[key] == 'string') out[key] = out[key]!.slice(0, SHOWN)
  return out
}
const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key)
/** A row heard on the channel, checked: anything with access to the database can send there. */
const rowOf = (value: unknown): FeedRow | undefined => {
  if (!value || typeof value != 'object' || Array.isArray(value)) return
  const v = value as Record<string, unknown>
  const text = (key: string, required: boolean) => (own(v, key) ? typeof v[key] == 'string' && (v[key] as string).length <= SHOWN : !required)
  if (!(text('id', true) && text('verdict', true) && text('type', true) && text('project', false) && text('person', false) && text('reason', false) && text('name', false)))
    return
  if (!own(v, 'time') || typeof v.time != 'number' || !Number.isFinite(v.time)) return
  const row: FeedRow = { id: v.id as string, time: v.time, verdict: v.verdict as string, type: v.type as string }
  for (const key of ['project', 'person', 'reason', 'name'] as const) if (own(v, key)) row[key] = v[key] as string
  return row
}

/**
 * Carries a feed's rows to every collector on the same database through `channel`, and theirs
 * into `feed`: each message names its sender (a process hears itself) and holds as many rows as
 * fit. Returns the relay to give createFeed, and what stops listening.
 */
export function channelRelay(channel: Channel, deliver: (rows: FeedRow[]) => void) {
  const me = randomBytes(8).toString('hex')
  const stop = channel.listen((message) => {
    if (message.length > CHANNEL_BYTES) return
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      return
    }
    if (!parsed || typeof parsed != 'object' || !own(parsed, 'from') || !own(parsed, 'rows')) return
    const { from, rows } = parsed as { from: unknown; rows: unknown }
    if (from === me || !Array.isArray(rows)) return
    deliver(rows.map(rowOf).filter((r): r is FeedRow => !!r))
  })
  const relay = (rows: FeedRow[]) => {
    let batch: string[] = []
    let bytes = 0
    const head = `{"from":"${me}","rows":[`
    const flush = () => {
      if (batch.length) channel.send(head + batch.join(',') + ']}')
      batch = []
      bytes = 0
    }
    for (const row of rows) {
      const text = JSON.stringify(cut(row))
      const size = Buffer.byteLength(text) + 1
      if (bytes + size + head.length + 2 > CHANNEL_BYTES) flush()
      batch.push(text)
      bytes += size
    }
    flush()
  }
  return { relay, stop }
}
