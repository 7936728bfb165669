// The wire format, version 1 (docs/protocol.md), shared by the tracker and the collector: one
// source for its shapes and limits. Types vanish from the browser build; of LIMITS, the tracker
// keeps only the fields it reads.

export type EventType = 'pageview' | 'event' | 'identify' | 'properties' | 'transaction'

export const EVENT_TYPES: readonly EventType[] = ['pageview', 'event', 'identify', 'properties', 'transaction']

export interface Page {
  url?: string
  title?: string
  referrer?: string
}

/** One event as it travels, for one person at most: its signature, when it has one, is that person's. */
export interface WireEvent {
  id: string
  type: EventType
  ts: number
  anonymousId: string
  personId?: string
  signature?: string
  name?: string
  props?: Record<string, unknown>
  page?: Page
}

/** One request body. */
export interface Batch {
  v: 1
  project: string
  sentAt: number
  anonymizeIP?: true
  events: WireEvent[]
}

/** Why the collector did not store an event. */
export type RejectionReason =
  | 'bad_signature'
  | 'expired_signature'
  | 'missing_signature'
  | 'invalid_event'
  | 'too_large'
  | 'unknown_project'
  | 'stale_event'
  | 'conflict'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'unknown_key'
  | 'person_mismatch'

export interface Rejection {
  id: string
  reason: RejectionReason
}

/** The collector's 200 answer. */
export interface CollectResult {
  accepted: number
  rejected: Rejection[]
}

/**
 * What the collector accepts; the tracker never sends past it. Fields in characters; `events` per
 * request; `event` bounds a whole stored record: its JSON, once the collector has added project,
 * receivedAt, verdict and ip.
 */
export const LIMITS = {
  id: 128,
  // A transaction is stored under the id "tx:" + its transaction id.
  transactionId: 125,
  name: 256,
  personId: 512,
  signature: 1024,
  props: 8192,
  url: 2048,
  title: 512,
  events: 500,
  event: 32_768,
}

// A project token has something besides lowercase letters (GoSquared's: GSN-123456-A), so that a
// mistyped command such as _gs('evnet', 'signup') is reported rather than taken for a tracker.
export const PROJECT_TOKEN = /[^a-z]/

/**
 * How old an event may be when its request leaves, by the device's own clock (`sentAt - ts`), in ms:
 * an older backlog is refused (`stale_event`), and the tracker's outbox drops what has waited longer
 * than `past`. `ahead`: how far ahead of the collector's clock an event may be in a batch without
 * `sentAt`, and of the device's clock in a claimed backlog. (`past` is a default; a collector may set its own.)
 */
export const EVENT_AGE = { past: 7 * 86_400_000, ahead: 3_600_000 }

/**
 * True for an id that would not mean one thing: a control character (C0, DEL, C1) or half a
 * surrogate pair (UTF-8 cannot encode it, so an HMAC over it would cover the id with U+FFFD in its
 * place); PostgreSQL text cannot hold a NUL either. encodeURIComponent throws for exactly the lone
 * halves (the tracker is ES2017: no \p{Cs}, and Safari lacked lookbehind until 2023).
 */
export const malformedId = (id: string) => {
  try {
    encodeURIComponent(id)
  } catch (_) {
    return true
  }
  return /[\0-\x1f\x7f-\x9f]/.test(id)
}
