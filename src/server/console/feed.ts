import type { RejectedEvent, StoredEvent } from '../verify/batch'

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
