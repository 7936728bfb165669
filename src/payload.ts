import type { Props, Stamp } from './identity'

export type EventType = 'pageview' | 'event' | 'identify' | 'properties'

export interface Page {
  url: string
  title: string
  referrer: string
}

export interface WireEvent extends Stamp {
  id: string
  type: EventType
  ts: number
  name?: string
  props?: Props
  page: Page
}

export interface Batch {
  v: 1
  project: string
  sentAt: number
  events: WireEvent[]
}

export const currentPage = (path?: string, title?: string): Page => ({
  url: path ? new URL(path, location.href).href : location.href,
  title: title != null ? title : document.title,
  referrer: document.referrer,
})

// Props are copied when the command runs, so a page that mutates its object afterwards cannot
// change what was tracked; a value JSON cannot carry (cycles, BigInt, throwing getters) throws here,
// where the caller turns it into a warning.
export const snapshot = (props: unknown): Props | undefined => {
  if (props === undefined) return
  if (!props || typeof props != 'object' || Array.isArray(props)) throw 'props must be a plain object'
  return JSON.parse(JSON.stringify(props))
}

export const makeEvent = (
  id: string,
  type: EventType,
  stamp: Stamp,
  page: Page,
  name?: string,
  props?: Props,
): WireEvent => ({ id, type, ts: Date.now(), ...stamp, name, props, page })

export const makeBatch = (project: string, events: WireEvent[]): string =>
  JSON.stringify({ v: 1, project, sentAt: Date.now(), events } as Batch)
