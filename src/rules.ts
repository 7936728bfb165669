// The tracker's delivery rules, as pure functions: what goes in one request, which answers are
// tried again and after how long, how the collector's rejections are reported. No state, no timers,
// so each is tested on its own (test/rules.test.ts).
import { FEATURES } from './features'
import type { Rejection, WireEvent } from './protocol'

// One request holds at most 100 events and 20,000 characters of them: under the 64 KB that browsers
// allow keepalive requests and beacons in flight, even at 3 bytes of UTF-8 per character.
export const BATCH_EVENTS = 100
export const BATCH_CHARS = 20_000
export const MAX_BACKOFF = 60_000
// A request unanswered this long is given up as a network failure and retried with the backoff: a
// collector, proxy or captive portal that takes a request and never answers would otherwise hold
// the one request in flight, and every later event behind it. Events made meanwhile arrive within
// about 12 s (this, plus the first backoff). Snowplow gives up at 5 s, PostHog at 60 s.
export const REQUEST_TIMEOUT = 10_000

/** How many of `events`, from the first, go in the next request: at least one, even one too large alone. */
export const batchSize = (events: readonly WireEvent[]) => {
  let chars = 0
  let n = 0
  while (n < events.length && n < BATCH_EVENTS && (chars += JSON.stringify(events[n]).length) <= BATCH_CHARS) n++
  return n || 1
}

/**
 * Whether a request that got `status` (0: no answer) is tried again, and after how long, in ms; -1:
 * it is not. Network errors, 5xx, 408 and 429 are: after what the collector said (Retry-After, in
 * seconds or as a date), else an exponential backoff from 1 s capped at 60 s, each ×0.5–1.5 at
 * random so that pages do not all come back at once. `failures`: how many came before this one.
 */
export const retryDelay = (status: number, failures: number, retryAfter?: string | null) => {
  const after = FEATURES.backoff && retryAfter ? (/^\d+$/.test(retryAfter) ? +retryAfter * 1000 : Date.parse(retryAfter) - Date.now()) : -1
  return !status || status > 499 || status == 408 || status == 429
    ? after >= 0
      ? after
      : FEATURES.backoff
        ? Math.min(MAX_BACKOFF, 1000 << Math.min(failures, 6)) * (0.5 + Math.random())
        : 1000
    : -1
}

/** A 'rejected' notification: one per reason and person. */
export interface Group {
  reason: string
  personId?: string
  eventIds: string[]
}

/**
 * The collector's rejections of a request's events, grouped by reason and person, each with the
 * events it names that were in the request (an answer is untrusted: anything else is left out).
 */
export const groupRejections = (sent: readonly WireEvent[], rejected: readonly Rejection[]) => {
  const groups = new Map<string, [Group, WireEvent[]]>()
  for (const r of rejected) {
    const { id, reason } = Object(r)
    const e = sent.filter((s) => s.id == id)[0]
    const personId = e && e.personId
    const key = reason + '\n' + personId
    const group = groups.get(key) || groups.set(key, [{ reason, personId, eventIds: [] }, []]).get(key)!
    group[0].eventIds.push(id)
    if (e) group[1].push(e)
  }
  return groups
}
