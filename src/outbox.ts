import type { Item } from './pagequeue'
import type { WireEvent } from './payload'
import type { Delivery } from './transport'

export interface OutboxHooks {
  /** Sends one batch; undefined while there is nowhere to send (no project yet). */
  send(events: WireEvent[]): Promise<Delivery> | undefined
  /** Hands one batch to the browser for after the page is gone. */
  beacon(events: WireEvent[]): boolean
  /** The collector answered (2xx or a final 4xx); the events are out of the outbox. */
  answered(d: Delivery, events: WireEvent[]): void
  dropped(count: number, reason: string): void
  /** Stores the outbox: the JSON text of its items. */
  save(items: string): void
}

const MAX_ITEMS = 1000
const MAX_BYTES = 512 * 1024
// One request holds at most this much, which keeps it under the 64 KB that browsers allow keepalive
// requests and beacons in flight, with room for a second.
const BATCH_EVENTS = 100
const BATCH_BYTES = 30_000
// A beacon's answer cannot be read. Its events stay in the outbox (a later page re-sends them, the
// collector drops the copy by id) but this page leaves them alone for a while.
const BEACON_LEASE = 10_000
const MAX_BACKOFF = 60_000

// The durable outbox: every event is stored before it is sent and removed only when the collector
// answered. It also keeps the events waiting for a signature (w), so they share its storage, its
// cap and its cross-tab hand-over.
export function createOutbox(hooks: OutboxHooks, delay: number) {
  let items: Item[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let inFlight = new Set<string>()
  let attempt = 0
  let resumeAt = 0
  let dirty = false
  const leased = new Map<string, number>()

  // Oldest first; counted, and reported once per task however many calls overflowed.
  let full = 0
  const drop = (count: number) => {
    if (count < 1) return
    items = items.slice(count)
    full += count
  }

  const persist = () => {
    if (!dirty) return
    dirty = false
    // Serialised once: measured here, stored as it is.
    let json = JSON.stringify(items)
    // In proportion to the overshoot, until the stored copy fits.
    while (json.length > MAX_BYTES) {
      drop(Math.ceil(items.length * (1 - MAX_BYTES / json.length)))
      json = JSON.stringify(items)
    }
    if (full) hooks.dropped(full, 'full')
    full = 0
    hooks.save(json)
  }

  // A burst of calls is written once, at the end of the task, and always before it is sent.
  const changed = () => {
    if (!dirty) Promise.resolve().then(persist)
    dirty = true
  }

  const schedule = (ms: number) => {
    if (!timer) timer = setTimeout(() => ((timer = undefined), flush()), ms)
  }

  // A full batch goes at the end of the current task: one flush however long the burst.
  const soon = () => {
    clearTimeout(timer)
    timer = undefined
    schedule(0)
  }

  const add = (item: Item) => {
    items.push(item)
    drop(items.length - MAX_ITEMS)
    changed()
  }

  const ready = () => {
    const now = Date.now()
    return items.filter((i) => !i.w && !inFlight.has(i.e.id) && !((leased.get(i.e.id) || 0) > now)).map((i) => i.e)
  }

  const batch = (events: WireEvent[]) => {
    let bytes = 0
    let n = 0
    while (n < events.length && n < BATCH_EVENTS && (bytes += JSON.stringify(events[n]).length) <= BATCH_BYTES) n++
    return events.slice(0, Math.max(n, 1))
  }

  function flush(unloading?: boolean) {
    persist()
    let events = ready()
    if (unloading) {
      // Hand over chunk by chunk until the browser refuses; the rest waits for the next page.
      for (let chunk; events.length && hooks.beacon((chunk = batch(events))); events = events.slice(chunk.length))
        for (const e of chunk) leased.set(e.id, Date.now() + BEACON_LEASE)
      return
    }
    // A timer may fire a little early; what is still backing off is looked at again when it ends.
    if (Date.now() < resumeAt) return schedule(resumeAt - Date.now())
    if (inFlight.size || !events.length) return
    events = batch(events)
    const sending = hooks.send(events)
    if (!sending) return
    clearTimeout(timer)
    timer = undefined
    inFlight = new Set(events.map((e) => e.id))
    sending.then((d) => {
      inFlight = new Set()
      if (d.retry) {
        // Capped exponential backoff with jitter, unless the collector said how long to wait.
        const wait = Math.ceil(d.after !== undefined ? d.after : Math.min(MAX_BACKOFF, 1000 << Math.min(attempt, 6)) * (0.5 + Math.random()))
        attempt++
        resumeAt = Date.now() + wait
        schedule(wait)
        return
      }
      attempt = 0
      items = items.filter((i) => !events.some((e) => e.id == i.e.id))
      changed()
      if (!d.ok) hooks.dropped(events.length, `http_${d.status}`)
      hooks.answered(d, events)
      flush()
    })
  }

  return {
    push(e: WireEvent) {
      add({ e })
      if (items.length % BATCH_EVENTS) schedule(delay)
      else soon()
    },
    flush,
    /** Back online: whatever the backoff said, try now. */
    retryNow() {
      attempt = resumeAt = 0
      flush()
    },
    /** Entries from another page's backlog; ids already here are not taken twice. */
    adopt(adopted: Item[]) {
      for (const item of adopted) if (!items.some((i) => i.e.id == item.e.id)) add(item)
      schedule(delay)
    },
    save: () => ((dirty = true), persist()),
    /** Empties the outbox; returns how many events were in it. */
    clear(): number {
      const count = items.length
      items = []
      return count
    },

    hold(e: WireEvent) {
      add({ e, w: Date.now() })
    },
    /** personId's waiting events, now signed with the signature given for that id (none: unsigned), go out. */
    release(personId: string, signature?: string): WireEvent[] {
      return unwait((i) => i.e.personId == personId, signature)
    },
    /** The events that started waiting at or before `at` go out unsigned. */
    expire: (at: number): WireEvent[] => unwait((i) => i.w! <= at),
  }

  function unwait(test: (i: Item) => boolean, signature?: string): WireEvent[] {
    const out = items.filter((i) => i.w && test(i))
    for (const i of out) {
      delete i.w
      if (signature) i.e.signature = signature
    }
    if (out.length) {
      changed()
      schedule(delay)
    }
    return out.map((i) => i.e)
  }
}

export type Outbox = ReturnType<typeof createOutbox>
