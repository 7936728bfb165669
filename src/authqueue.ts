import type { WireEvent } from './payload'
import type { Store } from './storage'

export interface Waiting {
  e: WireEvent
  /** When it started waiting (ms), which is when its authTimeout starts. */
  at: number
}

// Identified events waiting for a signature for their own personId. Kept in storage so a reload
// does not lose them; each keeps the personId it was tracked under and only ever takes a
// signature given for that same id.
export function createAuthQueue(store: Store<Waiting[]>) {
  const stored = store.get()
  let waiting = Array.isArray(stored)
    ? stored.filter((w) => w && w.e && typeof w.e.personId == 'string' && typeof w.e.id == 'string' && typeof w.at == 'number')
    : []

  const take = (test: (w: Waiting) => boolean): WireEvent[] => {
    const out = waiting.filter(test)
    if (out.length) {
      waiting = waiting.filter((w) => !test(w))
      store.set(waiting)
    }
    return out.map((w) => w.e)
  }

  return {
    hold(e: WireEvent) {
      waiting.push({ e, at: Date.now() })
      store.set(waiting)
    },
    /** Removes personId's waiting events, stamped with the signature given for that id (none: sent unsigned). */
    release: (personId: string, signature?: string) =>
      take((w) => w.e.personId == personId).map((e) => Object.assign(e, { signature })),
    /** Removes the events that started waiting at or before `at`. */
    expire: (at: number) => take((w) => w.at <= at),
    /** When the longest-waiting event started waiting. */
    oldest: (): number | undefined => (waiting.length ? Math.min(...waiting.map((w) => w.at)) : undefined),
  }
}

export type AuthQueue = ReturnType<typeof createAuthQueue>
