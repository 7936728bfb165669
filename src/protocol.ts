// The wire format, version 1 (docs/protocol.md), shared by the tracker and the collector: one
// source for its shapes and limits. Types vanish from the browser build; of LIMITS, the tracker
// keeps only the fields it reads.

export type EventType = 'pageview' | 'event' | 'identify' | 'properties'

export const EVENT_TYPES: readonly EventType[] = ['pageview', 'event', 'identify', 'properties']

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
export type RejectionReason = 'bad_signature' | 'expired_signature' | 'missing_signature' | 'invalid_event' | 'too_large' | 'unknown_project'

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
  name: 256,
  personId: 512,
  signature: 1024,
  props: 8192,
  url: 2048,
  title: 512,
  events: 500,
  event: 32_768,
}
