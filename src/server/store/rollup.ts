// The console's summaries of stored events, computed here for both engines alike: each engine reads
// rows, this sums them, and the engine adds (or, for events it deletes, subtracts) the sums.

import type { StoredEvent } from '../verify/batch'
import { DEVICE_PARTS, deviceParts } from '../verify/device'
import { typeCode, verdictOfCode } from './record'

export const DAY = 86_400_000

/** A stored event as the summaries read it: the few fields of its record they use. */
export interface EventRow {
  project: string
  receivedAt: number
  personId: string | null
  verdict: string
  type: string | null
  name: string | null
  url: string | null
  referrer: string | null
  /** The person's properties as JSON, of a verified identify or properties event only. */
  props: string | null
  /** A counted transaction's revenue in hundredths (revenueOf), else null. */
  revenue: number | null
  /** The browser, system and device type the event came from (device.ts's label), or null. */
  device: string | null
}

/**
 * Verdicts of the transactions the console counts as revenue: a signed person's, an anonymous
 * buyer's, or one of a project that checks no signature. One that claimed a person it could not
 * prove is stored as evidence, not counted as money.
 */
export const REVENUE_VERDICTS = ['verified', 'anonymous', 'unchecked'] as const

/**
 * A transaction's revenue in hundredths of its unit (the console counts in whole hundredths, so that
 * sums add and subtract exactly), or null for anything else. A refund (a negative revenue) counts as
 * an order of none: a day's summary is a count that never goes below zero.
 */
export function revenueOf(type: unknown, verdict: unknown, props: unknown): number | null {
  if (type != 'transaction' || !(REVENUE_VERDICTS as readonly unknown[]).includes(verdict)) return null
  const revenue = props && typeof props == 'object' && Object.prototype.hasOwnProperty.call(props, 'revenue') ? (props as { revenue: unknown }).revenue : undefined
  return typeof revenue == 'number' && isFinite(revenue) ? Math.max(0, Math.round(revenue * 100)) : 0
}

/** What `signet_day_names` counts a project's revenue under: kind REVENUE, names ORDERS (transactions) and HUNDREDTHS (their revenue). */
export const REVENUE = { kind: 'revenue', orders: 'orders', hundredths: 'hundredths' } as const

/** A stored record as the summaries read it. */
export function rowOf(e: StoredEvent): EventRow {
  const personal = e.verdict == 'verified' && (e.type == 'identify' || e.type == 'properties') && e.props && typeof e.props == 'object'
  return {
    project: e.project,
    receivedAt: e.receivedAt,
    personId: e.personId ?? null,
    verdict: e.verdict,
    type: e.type ?? null,
    name: typeof e.name == 'string' ? e.name : null,
    url: e.page?.url ?? null,
    referrer: e.page?.referrer ?? null,
    props: personal ? JSON.stringify(e.props) : null,
    revenue: revenueOf(e.type, e.verdict, e.props),
    device: typeof e.device == 'string' ? e.device : null,
  }
}

/** What a set of events adds to the summaries, as rows of each summary table. */
export interface Summaries {
  /** project, day, verdict, events */
  days: [string, number, string, number][]
  /** project, day, person id */
  dayPeople: [string, number, string][]
  /** project, day, kind (page, event, referrer, utm_source, utm_medium, utm_campaign, browser, os, device: store.ts's NAMED_KINDS; and REVENUE's), name, events (REVENUE's hundredths: the sum) */
  names: [string, number, string, string, number][]
  /** project, person id, first seen, last seen, verified events, latest properties as JSON or null */
  people: [string, string, number, number, number, string | null][]
  /** project, verdict, events: for the counts */
  stored: [string, string, number][]
}

const pathOf = (url: unknown) => {
  try {
    return typeof url == 'string' && url ? new URL(url).pathname : undefined
  } catch {
    return undefined
  }
}
/** The utm_* parameters a page's address carries (a visit that landed from a campaign), each at most 200 characters. */
const UTM = ['utm_source', 'utm_medium', 'utm_campaign'] as const
const campaignOf = (url: unknown) => {
  try {
    const query = typeof url == 'string' && url.includes('utm_') ? new URL(url).searchParams : undefined
    return UTM.map((key) => [key, query?.get(key)?.trim().slice(0, 200)] as const)
  } catch {
    return []
  }
}
const hostOf = (url: unknown) => {
  try {
    return typeof url == 'string' && url ? new URL(url).host : undefined
  } catch {
    return undefined
  }
}

/** Sums events into summary rows. */
export function summarise(rows: Iterable<EventRow>): Summaries {
  const days = new Map<string, [string, number, string, number]>()
  const dayPeople = new Map<string, [string, number, string]>()
  const names = new Map<string, [string, number, string, string, number]>()
  const people = new Map<string, [string, string, number, number, number, string | null, number]>()
  const stored = new Map<string, [string, string, number]>()
  const count = <T extends unknown[]>(map: Map<string, T>, key: string, row: () => T, at: number, by = 1) => {
    const found = map.get(key)
    if (found) (found[at] as number) += by
    else map.set(key, row())
  }
  for (const r of rows) {
    const day = Math.floor(r.receivedAt / DAY)
    count(days, `${r.project}\n${day}\n${r.verdict}`, () => [r.project, day, r.verdict, 1], 3)
    count(stored, `${r.project}\n${r.verdict}`, () => [r.project, r.verdict, 1], 2)
    if (r.personId !== null) dayPeople.set(`${r.project}\n${day}\n${r.personId}`, [r.project, day, r.personId])
    const name = (kind: string, value: unknown) =>
      typeof value == 'string' && value && count(names, `${r.project}\n${day}\n${kind}\n${value}`, () => [r.project, day, kind, value, 1], 4)
    if (r.type == 'pageview') {
      name('page', pathOf(r.url))
      const from = hostOf(r.referrer)
      if (from && from != hostOf(r.url)) name('referrer', from)
      for (const [key, value] of campaignOf(r.url)) name(key, value)
      // Pageviews, as the pages are: what their visits came with.
      deviceParts(r.device)?.forEach((part, i) => name(DEVICE_PARTS[i], part))
    } else if (r.type == 'event') name('event', r.name)
    if (r.revenue !== null) {
      const { kind, orders, hundredths } = REVENUE
      count(names, `${r.project}\n${day}\n${kind}\n${orders}`, () => [r.project, day, kind, orders, 1], 4)
      // No row for nothing: a summary row holds a positive count.
      if (r.revenue > 0) count(names, `${r.project}\n${day}\n${kind}\n${hundredths}`, () => [r.project, day, kind, hundredths, r.revenue!], 4, r.revenue)
    }
    if (r.verdict == 'verified' && r.personId !== null) {
      const props = r.props
      const key = `${r.project}\n${r.personId}`
      const p = people.get(key)
      if (!p) people.set(key, [r.project, r.personId, r.receivedAt, r.receivedAt, 1, props, props ? r.receivedAt : 0])
      else {
        p[2] = Math.min(p[2], r.receivedAt)
        p[3] = Math.max(p[3], r.receivedAt)
        p[4]++
        if (props && r.receivedAt >= p[6]) (p[5] = props), (p[6] = r.receivedAt)
      }
    }
  }
  return {
    days: [...days.values()],
    dayPeople: [...dayPeople.values()],
    names: [...names.values()],
    people: [...people.values()].map(([project, person, first, last, n, props]) => [project, person, first, last, n, props]),
    stored: [...stored.values()],
  }
}

/** The whole days (UTC day numbers) a period covers: from its first day to its last, both included. */
export const daysOf = ({ from, to }: { from: number; to: number }) => [Math.floor(from / DAY), Math.floor((to - 1) / DAY)] as const

/** A UTC day number as YYYY-MM-DD. */
export const isoDay = (day: number) => new Date(day * DAY).toISOString().slice(0, 10)

/** Each engine's query of a period's revenue rows: its placeholders for project, first and last day. */
export const REVENUE_SQL = (project: string, first: string, last: string) =>
  `SELECT day, name, sum(n) AS n FROM signet_day_names WHERE project = ${project} AND day BETWEEN ${first} AND ${last} AND kind = '${REVENUE.kind}' GROUP BY day, name`

/**
 * The overview's days and revenue from the summaries' rows of its period (by day: events, distinct
 * people; REVENUE_SQL's rows), for both engines alike. Revenue in the transactions' own unit.
 */
export function overviewDays(first: number, last: number, events: Map<number, number>, people: Map<number, number>, revenueRows: { day: number | string; name: string; n: number | string }[]) {
  const revenue = new Map<number, { orders: number; hundredths: number }>()
  for (const r of revenueRows) {
    const day = revenue.get(Number(r.day)) || revenue.set(Number(r.day), { orders: 0, hundredths: 0 }).get(Number(r.day))!
    if (r.name == REVENUE.orders) day.orders += Number(r.n)
    else if (r.name == REVENUE.hundredths) day.hundredths += Number(r.n)
  }
  const days = []
  const total = { orders: 0, total: 0 }
  for (let day = first; day <= last; day++) {
    const r = revenue.get(day) || { orders: 0, hundredths: 0 }
    days.push({ day: isoDay(day), events: events.get(day) || 0, people: people.get(day) || 0, orders: r.orders, revenue: r.hundredths / 100 })
    total.orders += r.orders
    total.total += r.hundredths
  }
  return { days, revenue: { orders: total.orders, total: total.total / 100 } }
}

/** Each engine's query of a person's transactions (personRevenue's rows), given its subqueries for the project's and the person's numbers. */
export const PERSON_TRANSACTIONS_SQL = (project: string, person: string) =>
  `SELECT e.verdict, e.props FROM signet_events e WHERE e.project = ${project} AND e.person = ${person} AND e.type = ${typeCode('transaction')}`

/** A person's revenue from PERSON_TRANSACTIONS_SQL's rows (verdicts as stored, props as JSON), as the overview counts it. */
export function personRevenue(rows: { verdict: number | null; props: string | null }[]) {
  let orders = 0
  let hundredths = 0
  for (const r of rows) {
    const revenue = revenueOf('transaction', verdictOfCode(r.verdict), r.props === null ? undefined : JSON.parse(r.props))
    if (revenue === null) continue
    orders++
    hundredths += revenue
  }
  return { orders, total: hundredths / 100 }
}

/** An attempt as stored: the person id it claimed, why it was refused, when, from where. */
export interface AttemptRow {
  person_id: string
  reason: string
  received_at: number | string
  ip: string | null
  origin: string | null
}

/** Attempts grouped by the person id they claimed and the reason, the most frequent first. */
export function groupAttempts(rows: Iterable<AttemptRow>, limit: number) {
  const groups = new Map<string, { personId: string; reason: string; n: number; first: number; last: number; ips: Map<string, number>; origins: Map<string, number> }>()
  for (const r of rows) {
    const key = `${r.reason}\n${r.person_id}`
    const at = Number(r.received_at)
    const g = groups.get(key) || groups.set(key, { personId: r.person_id, reason: r.reason, n: 0, first: at, last: at, ips: new Map(), origins: new Map() }).get(key)!
    g.n++
    g.first = Math.min(g.first, at)
    g.last = Math.max(g.last, at)
    if (r.ip) g.ips.set(r.ip, (g.ips.get(r.ip) || 0) + 1)
    if (r.origin) g.origins.set(r.origin, (g.origins.get(r.origin) || 0) + 1)
  }
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k]) => k)
  return [...groups.values()]
    .sort((a, b) => b.n - a.n || b.last - a.last)
    .slice(0, limit)
    .map((g) => ({ personId: g.personId, reason: g.reason, n: g.n, first: g.first, last: g.last, ips: top(g.ips), origins: top(g.origins) }))
}

/**
 * The most attempts kept (a stored attempt is at most ~1 KB: a person id of 512, an origin of 256).
 * Past it, checked as the summaries catch up, they are cut to ATTEMPTS_KEPT, taken from the biggest
 * senders first (attemptCap), oldest first: one address flooding refused events loses its own
 * evidence, never anyone else's.
 */
export const MAX_ATTEMPTS = 50_000
export const ATTEMPTS_KEPT = 45_000

/**
 * The most attempts each sender (a stored address, or none) may keep so that all of them fit in
 * `max`: senders under it keep all theirs, the biggest are cut to it. Infinity when all fit.
 */
export function attemptCap(counts: readonly number[], max: number): number {
  const sorted = [...counts].sort((a, b) => a - b)
  let left = max
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(left / (sorted.length - i))
    if (sorted[i] > share) return share
    left -= sorted[i]
  }
  return Infinity
}

/** Each sender's attempts past the cap (a parameter), its oldest: both engines' SQL. */
export const TRIM_ATTEMPTS = (cap: string) =>
  `DELETE FROM signet_attempts WHERE seq IN (SELECT seq FROM (SELECT seq, row_number() OVER (PARTITION BY ip ORDER BY seq DESC) AS r FROM signet_attempts) ranked WHERE r > ${cap})`
export const ATTEMPTS_PER_SENDER = 'SELECT count(*) AS n FROM signet_attempts GROUP BY ip'

/** Deleted rows counted by project and verdict: what the stored counts lose. */
export function countBy(rows: Iterable<{ project: string; verdict: string }>): [string, string, number][] {
  const counts = new Map<string, [string, string, number]>()
  for (const { project, verdict } of rows) {
    const key = `${project}\n${verdict}`
    const c = counts.get(key) || counts.set(key, [project, verdict, 0]).get(key)!
    c[2]++
  }
  return [...counts.values()]
}
