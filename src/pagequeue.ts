import type { WireEvent } from './payload'
import { keys, read, remove, write, writeText } from './storage'

/** An outbox entry; w: waiting for a signature since (ms), see secure.ts. */
export interface Item {
  e: WireEvent
  w?: number
}

interface Record {
  p?: string
  i: Item[]
}

const QUEUE = 'signet_q_'
const BEAT = 'signet_hb_'
const LOCK = 'signet_lock_'
// A page that has not beaten for this long is gone (closed, crashed or killed while hidden).
const STALE = 15_000
const LOCK_TTL = 5_000
const SETTLE = 100

const fresh = (at: unknown, within: number) => typeof at == 'number' && Date.now() - at < within

// Each page keeps its outbox under a key of its own, so tabs never write over each other. A page
// beats while alive and stops on pagehide; a queue whose page stopped beating is a backlog that
// exactly one other page claims: it writes a lock, waits for other tabs' writes to land, and only
// the page whose lock survived takes the queue.
export function createPageQueue(
  id: string,
  project: () => string | undefined,
  adopt: (items: Item[]) => void,
  allowed: () => boolean,
) {
  const own = QUEUE + id

  return {
    /** Stores the outbox, given as the JSON of its items (the outbox has just made it). */
    save(items: string) {
      if (allowed()) writeText(own, `{"p":${JSON.stringify(project() || null)},"i":${items}}`)
    },

    beat() {
      if (allowed()) write(BEAT + id, Date.now())
    },

    /** The page is going away (or into the bfcache): its queue may be claimed at once. */
    release: () => remove(BEAT + id),

    /**
     * Consent was refused, and consent is one answer for the site: every page's outbox, heartbeat and
     * lock goes, including a backlog whose claim was cut short by a navigation.
     */
    clear() {
      for (const key of keys()) if (!key.indexOf(QUEUE) || !key.indexOf(BEAT) || !key.indexOf(LOCK)) remove(key)
    },

    claim() {
      if (!allowed()) return
      for (const key of keys()) {
        const other = key.slice(QUEUE.length)
        if (key.indexOf(QUEUE) || key == own || fresh(read(BEAT + other), STALE)) continue
        // Another project's backlog on the same site is left for that project's pages.
        const found = read(key) as Record | null
        if (found && found.p && found.p != project()) continue
        const lock = read(LOCK + other) as { by: string; at: number } | null
        if (lock && lock.by != id && fresh(lock.at, LOCK_TTL)) continue
        write(LOCK + other, { by: id, at: Date.now() })
        setTimeout(() => {
          const held = read(LOCK + other) as { by: string } | null
          const record = read(key) as Record | null
          if (!held || held.by != id || fresh(read(BEAT + other), STALE)) return
          remove(key)
          remove(LOCK + other)
          if (record && Array.isArray(record.i)) adopt(record.i.filter((item) => item && item.e && typeof item.e.id == 'string'))
        }, SETTLE)
      }
    },
  }
}

export type PageQueue = ReturnType<typeof createPageQueue>
