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
 * What travels between the processes of a collector (and, on PostgreSQL, between collectors): rows,
 * or word that a dashboard is open somewhere.
 */
export type FeedMessage = { rows: FeedRow[] } | { watching: true } | { asking: true }

// A process with a dashboard open says so every 10 s; the others send it their rows until 30 s
// after they last heard it. Sending every batch's rows to every process whether anyone watched or
// not cost a fifth of the collector's events/s (an IPC message, or a NOTIFY, per request).
const BEAT_MS = 10_000
const WATCH_MS = 30_000

/**
 * What the collector decided, as rows for whoever is watching in this process. `relay` carries
 * messages to the other processes (only while a dashboard is open in one of them), whose messages
 * come back through `deliver`.
 */
export function createFeed(relay?: (message: FeedMessage) => void) {
  const listeners = new Map<(rows: FeedRow[]) => void, () => void>()
  let othersWatchUntil = 0
  let beat: ReturnType<typeof setInterval> | undefined
  const show = (rows: FeedRow[]) => {
    if (rows.length) listeners.forEach((_, fn) => fn(rows))
  }
  return {
    publish(stored: StoredEvent[], rejected: RejectedEvent[], project?: string) {
      const others = !!relay && Date.now() < othersWatchUntil
      if (!listeners.size && !others) return
      const rows = stored.map(storedRow)
      for (const r of rejected)
        rows.push({ id: r.id, project, time: Date.now(), person: r.event?.personId, verdict: 'rejected', reason: r.reason, type: r.event?.type || 'unreadable', name: r.event?.name })
      show(rows)
      if (others && rows.length) relay!({ rows })
    },
    /** A message from another process. */
    deliver(message: FeedMessage) {
      if ('watching' in message) othersWatchUntil = Date.now() + WATCH_MS
      else if ('asking' in message) listeners.size && relay?.({ watching: true })
      else show(message.rows)
    },
    /** Asks the other processes whether a dashboard is open in one of them (a process that starts, or hears again, has missed their word). */
    ask() {
      relay?.({ asking: true })
    },
    /** Calls fn with each new group of rows, and end when the feed closes; returns the unsubscribe function. */
    subscribe(fn: (rows: FeedRow[]) => void, end: () => void) {
      listeners.set(fn, end)
      if (relay && !beat) {
        relay({ watching: true })
        beat = setInterval(() => relay({ watching: true }), BEAT_MS)
        beat.unref()
      }
      return () => {
        listeners.delete(fn)
        if (!listeners.size) beat = void clearInterval(beat)
      }
    },
    subscribers: () => listeners.size,
    /** Ends every subscription (the server is stopping: a stream left open would hold it up). */
    close() {
      beat = void clearInterval(beat)
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
 * Carries a feed's messages to every collector on the same database through `channel`, and theirs
 * to `deliver`: each names its sender (a process hears itself) and holds as many rows as fit.
 * `ready` is called each time the channel listens again (it may have missed messages meanwhile).
 * Returns the relay to give createFeed, and what stops listening.
 */
export function channelRelay(channel: Channel, deliver: (message: FeedMessage) => void, ready: () => void) {
  const me = randomBytes(8).toString('hex')
  const stop = channel.listen((message) => {
    if (message.length > CHANNEL_BYTES) return
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      return
    }
    if (!parsed || typeof parsed != 'object' || !own(parsed, 'from')) return
    const m = parsed as { from: unknown; rows?: unknown; watching?: unknown; asking?: unknown }
    if (m.from === me) return
    if (own(m, 'watching') && m.watching === true) deliver({ watching: true })
    else if (own(m, 'asking') && m.asking === true) deliver({ asking: true })
    else if (own(m, 'rows') && Array.isArray(m.rows)) deliver({ rows: m.rows.map(rowOf).filter((r): r is FeedRow => !!r) })
  }, ready)
  const relay = (message: FeedMessage) => {
    if (!('rows' in message)) return channel.send(JSON.stringify({ from: me, ...message }))
    let batch: string[] = []
    let bytes = 0
    const head = `{"from":"${me}","rows":[`
    const flush = () => {
      if (batch.length) channel.send(head + batch.join(',') + ']}')
      batch = []
      bytes = 0
    }
    for (const row of message.rows) {
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
