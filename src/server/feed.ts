import type { RejectedEvent, StoredEvent } from './batch'

/** One line of the live dashboard. */
export interface FeedRow {
  time: number
  person?: string
  verdict: string
  reason?: string
  type: string
  name?: string
}

const HISTORY = 200

// What the collector decided, as rows for whoever is watching, with the last rows kept for newcomers.
export function createFeed() {
  const history: FeedRow[] = []
  const listeners = new Set<(row: FeedRow) => void>()
  const emit = (row: FeedRow) => {
    history.push(row)
    if (history.length > HISTORY) history.shift()
    listeners.forEach((fn) => fn(row))
  }
  return {
    publish(stored: StoredEvent[], rejected: RejectedEvent[]) {
      for (const e of stored) emit({ time: e.receivedAt, person: e.personId, verdict: e.verdict, type: e.type, name: e.name })
      for (const r of rejected)
        emit({ time: Date.now(), person: r.event?.personId, verdict: 'rejected', reason: r.reason, type: r.event?.type || 'unreadable', name: r.event?.name })
    },
    /** Calls fn with every row so far, then each new one; returns the unsubscribe function. */
    subscribe(fn: (row: FeedRow) => void) {
      history.forEach(fn)
      listeners.add(fn)
      return () => void listeners.delete(fn)
    },
  }
}

export type Feed = ReturnType<typeof createFeed>
