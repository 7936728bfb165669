// The operator's console in the browser: it reads the collector's JSON under /api/ (the token is in
// an HttpOnly cookie the page never sees) and shows one view at a time, chosen by the address's
// hash: #overview, #people, #person/<id>, #pages, #security, #live. No framework, no CDN; charts
// are inline SVG. Built by rollup like the tracker.

import type { FeedRow } from '../server/console/feed'
import type { Attempts, Named, NamedLists, Overview, PersonSummary, StoreCounts } from '../server/store/store'
import type { StoredEvent } from '../server/verify/batch'
import { csvOf } from './csv'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const view = $('view')
const project = $<HTMLSelectElement>('project')
const period = $<HTMLSelectElement>('period')
const from = $<HTMLInputElement>('from')
const to = $<HTMLInputElement>('to')

/** An element with text (never HTML: everything shown came from senders) and children. */
function el(tag: string, text?: string | number | null, cls?: string, ...children: (Node | string)[]) {
  const e = document.createElement(tag)
  if (text !== undefined && text !== null) e.textContent = String(text)
  if (cls) e.className = cls
  e.append(...children)
  return e
}
const link = (text: string, hash: string) => Object.assign(el('a', text), { href: hash })
// Times in the operator's own time zone, which the header names; days are UTC days (the store's).
const when = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const num = (n: number) => n.toLocaleString()
// Revenue in the transactions' own unit (Signet keeps no currency), to the hundredth.
const money = (n: number) => n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
/** A count: shown in the operator's format, its plain number in a CSV. */
const count = (n: number) => Object.assign(el('span', num(n)), { title: String(n) })
/** A path or URL as people read it: its percent-encoding decoded where that is valid UTF-8 (reserved characters stay encoded). */
const readable = (s: string) => {
  try {
    return decodeURI(s)
  } catch {
    return s
  }
}
/** Text that may be long (a URL, properties): one line, cut to its cell so that the counts beside it stay in view; whole on hover and in a CSV. */
const cut = (text: string, cls = '') => Object.assign(el('span', text, `cut ${cls}`), { title: text })

/** What a cell holds in a CSV: its whole text (a cut cell's, a count's plain number). */
const cellText = (c: Node | string | number) => (c instanceof Element ? (c.getAttribute('title') ?? c.textContent ?? '') : c instanceof Node ? (c.textContent ?? '') : String(c))
const download = (name: string, text: string) => {
  const a = Object.assign(el('a'), { href: URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' })), download: name })
  a.click()
  setTimeout(() => URL.revokeObjectURL(a.href), 1000)
}

/** A table; with a name, a button beside it downloads what it shows as `<name>.csv`. */
function table(head: string[], rows: (Node | string | number)[][], name?: string) {
  const t = el('table')
  t.append(el('thead', null, undefined, el('tr', null, undefined, ...head.map((h) => el('th', h)))))
  const body = el('tbody')
  for (const row of rows) body.append(el('tr', null, undefined, ...row.map((c) => (c instanceof Node ? el('td', null, undefined, c) : el('td', c)))))
  t.append(body)
  if (!name) return t
  // Columns without a heading hold buttons, not data.
  const data = (r: (Node | string | number)[]) => r.filter((_, i) => head[i] !== '')
  const csv = Object.assign(el('button', 'Download CSV', 'csv'), { type: 'button', onclick: () => download(`${name}.csv`, csvOf([data(head), ...rows.map((r) => data(r).map(cellText))] as string[][])) })
  return el('div', null, 'tablebox', t, csv)
}

const SVG = 'http://www.w3.org/2000/svg'
const svgEl = (tag: string, attrs: Record<string, string | number>, text?: string) => {
  const e = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  if (text !== undefined) e.textContent = text
  return e
}
/** The axis's top: the most, rounded up to 1, 2 or 5 times a power of ten. */
const ceiling = (most: number) => {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, most)))
  return [1, 2, 5, 10].map((k) => k * power).find((v) => v >= most) || 1
}

/**
 * Bars for a series of days, as inline SVG: values on the left axis, days below, and the day and
 * figure of the bar under the pointer (or focused, on a keyboard or a touch screen) above it.
 */
function chart(title: string, points: { label: string; value: number }[]) {
  const [left, top, width, height] = [48, 20, 720, 150]
  const most = ceiling(Math.max(0, ...points.map((p) => p.value)))
  const svg = svgEl('svg', { viewBox: `0 0 ${left + width} ${top + height + 24}`, class: 'chart', role: 'img', 'aria-label': title })
  for (const tick of [0, most / 2, most]) {
    const y = top + height - (tick / most) * height
    svg.append(svgEl('line', { x1: left, x2: left + width, y1: y, y2: y, class: 'grid' }), svgEl('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, num(tick)))
  }
  const readout = svgEl('text', { x: left + width, y: 12, 'text-anchor': 'end', class: 'readout' })
  const step = width / Math.max(1, points.length)
  const every = Math.ceil(points.length / 8)
  points.forEach((p, i) => {
    const h = Math.round((p.value / most) * height)
    const figure = `${p.label}: ${num(p.value)}`
    const rect = svgEl('rect', { x: left + i * step + 1, y: top + height - h, width: Math.max(1, step - 2), height: Math.max(h, 0), tabindex: 0, 'aria-label': figure })
    rect.append(svgEl('title', {}, figure))
    const show = () => (readout.textContent = figure)
    rect.addEventListener('pointerenter', show)
    rect.addEventListener('focus', show)
    // A day without events still answers the pointer: a bar's whole column does.
    const column = svgEl('rect', { x: left + i * step, y: top, width: step, height, class: 'column' })
    column.addEventListener('pointerenter', show)
    svg.append(column, rect)
    if (i % every == 0) svg.append(svgEl('text', { x: left + i * step + step / 2, y: top + height + 16, 'text-anchor': 'middle' }, p.label.slice(5)))
  })
  svg.addEventListener('pointerleave', () => (readout.textContent = ''))
  svg.append(readout)
  return el('figure', null, undefined, el('figcaption', title), svg)
}

/** The query of every request: the project, and the period (last 24 h / 7 d / 30 d, or from … to …). */
function query(extra: Record<string, string | number> = {}) {
  const q = new URLSearchParams({ project: project.value })
  if (period.value == 'custom' && from.value && to.value) q.set('from', from.value), q.set('to', to.value)
  else if (period.value != 'custom') q.set('period', period.value)
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v))
  return q
}

async function api<T>(path: string, extra?: Record<string, string | number>, method = 'GET', repeated: [string, string][] = []): Promise<T> {
  const q = query(extra)
  for (const [k, v] of repeated) q.append(k, v)
  const res = await fetch(`/api/${path}?${q}`, { method, credentials: 'same-origin' })
  const body = await res.json()
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`)
  return body
}

// A view's answer can come after the operator has gone to another view (a slow overview overwrote
// the people view a busy CI had gone to): each view shows only while no other view was routed to
// since it started.
let routed = 0
const shower = () => {
  const turn = routed
  return (...nodes: (Node | string)[]) => void (turn == routed && view.replaceChildren(...nodes))
}

/** A figure beside the same figure of the period before: its change, or that there was none then (empty when there is none either time). */
const versus = (now: number, then: number) =>
  then ? `${now >= then ? '▲' : '▼'} ${Math.abs(Math.round((100 * (now - then)) / then))} % on the period before (${num(then)})` : now ? 'none in the period before' : ''

async function overview() {
  const show = shower()
  const o = await api<Overview & { previous: Pick<Overview, 'verdicts' | 'rejected' | 'revenue'> }>('overview')
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
  const events = total(o.verdicts)
  const verified = o.verdicts.verified || 0
  const refused = total(o.rejected)
  const before = { events: total(o.previous.verdicts), verified: o.previous.verdicts.verified || 0, refused: total(o.previous.rejected) }
  const share = (n: number, of: number) => (of ? `${Math.round((100 * n) / of)} %` : '–')
  // Each figure beside the same figure of the period just before, as long.
  const change = (now: number, then: number) =>
    el('small', versus(now, then) || 'none before either', 'delta')
  const points = (shareOf: number, of: number) => (of ? Math.round((100 * shareOf) / of) : 0)
  const pointsChange = (now: number, then: number, before: number) =>
    el('small', before ? `${now >= then ? '+' : '−'}${Math.abs(now - then)} points on the period before (${then} %)` : 'none in the period before', 'delta')
  show(
    el(
      'div',
      null,
      'kpis',
      el('div', null, 'kpi', el('b', num(events)), el('span', 'events stored'), change(events, before.events)),
      el('div', null, 'kpi', el('b', share(verified, events), 'verified'), el('span', 'verified'), pointsChange(points(verified, events), points(before.verified, before.events), before.events)),
      el('div', null, 'kpi', el('b', share(events - verified, events)), el('span', 'unsigned or anonymous')),
      el('div', null, 'kpi', el('b', num(refused), refused ? 'rejected' : undefined), el('span', 'attempts refused'), change(refused, before.refused)),
      el('div', null, 'kpi', el('b', money(o.revenue.total), 'revenue'), el('span', `revenue, ${num(o.revenue.orders)} ${o.revenue.orders == 1 ? 'order' : 'orders'}`), change(o.revenue.total, o.previous.revenue.total)),
    ),
    chart('Events per day (UTC days)', o.days.map((d) => ({ label: d.day, value: d.events }))),
    chart('Distinct people per day (UTC days)', o.days.map((d) => ({ label: d.day, value: d.people }))),
    o.revenue.orders ? chart('Revenue per day (UTC days)', o.days.map((d) => ({ label: d.day, value: d.revenue }))) : '',
    el('h2', 'Events by verdict'),
    table(['verdict', 'events', 'share'], Object.entries(o.verdicts).map(([v, n]) => [el('span', v, v), count(n), share(n, events)]), 'verdicts'),
    el('h2', 'Refused attempts by reason'),
    Object.keys(o.rejected).length ? table(['reason', 'attempts'], Object.entries(o.rejected).map(([r, n]) => [el('span', r, r), count(n)]), 'refused') : el('p', 'None in this period.', 'muted'),
  )
}

async function people(offset = 0) {
  const show = shower()
  const search = Object.assign(el('input') as HTMLInputElement, {
    type: 'search',
    placeholder: 'part of an id or a property, or key=value',
    value: sessionStorage.getItem('search') || '',
  })
  search.setAttribute('aria-label', 'search people')
  const list = el('div')
  const load = async (at: number) => {
    sessionStorage.setItem('search', search.value)
    const { people } = await api<{ people: PersonSummary[] }>('people', { search: search.value, limit: 50, offset: at })
    const rows = people.map((p) => [link(p.id, `#person/${encodeURIComponent(p.id)}`), when(p.firstSeen), when(p.lastSeen), count(p.events), cut(p.props ? JSON.stringify(p.props) : '', 'muted')])
    const more = people.length == 50 ? Object.assign(el('button', 'more'), { onclick: () => load(at + 50) }) : ''
    list.replaceChildren(people.length ? table(['verified person', 'first seen', 'last seen', 'events', 'properties'], rows, 'people') : el('p', 'No verified person in this period.', 'muted'), more)
  }
  search.oninput = () => void load(0)
  show(el('h2', 'Verified people seen in the period'), search, list)
  await load(offset)
}

async function person(id: string) {
  const show = shower()
  const summary = await api<{ person: PersonSummary }>(`people/${encodeURIComponent(id)}`).catch(() => undefined)
  const list = el('div')
  const load = async (at: number) => {
    const { events } = await api<{ events: StoredEvent[] }>(`people/${encodeURIComponent(id)}/events`, { limit: 50, offset: at })
    const rows = events.map((e) => [
      when(e.receivedAt),
      e.type,
      cut(readable(e.name || e.page?.url || '')),
      cut(e.props ? JSON.stringify(e.props) : '', 'muted'),
      el('span', e.verdict, e.verdict),
    ])
    const more = events.length == 50 ? Object.assign(el('button', 'older'), { onclick: () => load(at + 50) }) : ''
    list.replaceChildren(events.length ? table(['received', 'type', 'name or page', 'properties', 'verdict'], rows, 'timeline') : el('p', 'No stored event of this person.', 'muted'), more)
  }
  const forget = Object.assign(el('button', `Forget ${id}`, 'danger'), {
    onclick: async () => {
      if (!confirm(`Delete every stored event of ${id}, and of the anonymous ids their events carried? This cannot be undone.`)) return
      const { forgot } = await api<{ forgot: number }>(`people/${encodeURIComponent(id)}`, {}, 'DELETE')
      show(el('h2', id), el('p', `Forgot ${forgot} events of ${id}.`), link('back to the people', '#people'))
    },
  })
  const facts = summary
    ? el(
        'p',
        `Verified · first seen ${when(summary.person.firstSeen)} · last seen ${when(summary.person.lastSeen)} · ${num(summary.person.events)} verified events`,
        undefined,
        summary.person.revenue?.orders ? el('span', ` · revenue ${money(summary.person.revenue.total)} from ${num(summary.person.revenue.orders)} ${summary.person.revenue.orders == 1 ? 'order' : 'orders'}`, 'revenue') : '',
      )
    : el('p', 'Not a verified person of this project (no verified event stored).', 'muted')
  show(el('h2', id), facts, summary?.person.props ? el('p', `Properties: ${JSON.stringify(summary.person.props)}`, 'muted') : '', el('h2', 'Timeline, newest first'), list, forget)
  await load(0)
}

// Goals: event names the operator counts as conversions, kept per project in this browser (the
// collector keeps no settings of the console). What is read back is checked: a list of names.
const goalsKey = () => `signet:goals:${project.value}`
function goalList(): string[] {
  try {
    const list: unknown = JSON.parse(localStorage.getItem(goalsKey()) || '[]')
    return Array.isArray(list) ? [...new Set(list.filter((n): n is string => typeof n == 'string' && n.length > 0 && n.length <= 200))].slice(0, 20) : []
  } catch {
    return []
  }
}
const setGoals = (names: string[]) => localStorage.setItem(goalsKey(), JSON.stringify(names))
/** A button that marks an event name as a goal, or no longer. */
function goalToggle(name: string) {
  const b = el('button', '', 'goal') as HTMLButtonElement
  const label = () => {
    const on = goalList().includes(name)
    b.textContent = on ? '★ goal' : '☆ goal'
    b.setAttribute('aria-pressed', String(on))
  }
  b.type = 'button'
  b.onclick = () => (setGoals(goalList().includes(name) ? goalList().filter((n) => n != name) : [...goalList(), name].slice(0, 20)), label())
  label()
  return b
}

interface Goal {
  name: string
  n: number
  previous: number
  days: { day: string; n: number }[]
}
async function goals() {
  const show = shower()
  const names = goalList()
  const add = Object.assign(el('input') as HTMLInputElement, { placeholder: 'an event name', maxLength: 200 })
  add.setAttribute('aria-label', 'event name to count as a goal')
  const form = el('form', null, 'addgoal', add, Object.assign(el('button', 'Add goal'), { type: 'submit' }))
  form.onsubmit = (e) => {
    e.preventDefault()
    const name = add.value.trim()
    if (name && !goalList().includes(name)) setGoals([...goalList(), name].slice(0, 20))
    void route()
  }
  const intro = el('p', 'Event names counted as conversions: mark them here or with ☆ in Pages and events. Kept in this browser, per project.', 'muted')
  if (!names.length) return show(el('h2', 'Goals'), intro, form, el('p', 'No goal yet.', 'muted'))
  const { goals } = await api<{ goals: Goal[] }>('goals', {}, 'GET', names.map((n) => ['name', n]))
  show(
    el('h2', 'Goals'),
    intro,
    form,
    table(['goal', 'conversions', 'the period before', ''], goals.map((g) => [g.name, count(g.n), el('span', versus(g.n, g.previous), 'muted'), goalToggle(g.name)]), 'goals'),
    ...goals.map((g) => chart(`${g.name}: conversions per day (UTC days)`, g.days.map((d) => ({ label: d.day, value: d.n })))),
  )
}

async function pages() {
  const show = shower()
  const n = await api<NamedLists>('pages')
  const ranked = (title: string, head: string, list: Named[], name: string, shown = (s: string) => s, extra?: (name: string) => Node, counted = 'events') => {
    const most = Math.max(1, ...list.map((x) => x.n))
    const bar = (x: Named) => Object.assign(el('span', null, 'counted', Object.assign(el('span', null, 'bar'), { style: `width:${Math.max(2, (96 * x.n) / most)}px` }), num(x.n)), { title: String(x.n) })
    const rows = list.map((x) => [cut(shown(x.name)), bar(x), ...(extra ? [extra(x.name)] : [])])
    return [el('h2', title), list.length ? table([head, counted, ...(extra ? [''] : [])], rows, name) : el('p', 'None in this period.', 'muted')]
  }
  show(
    ...ranked('Top pages', 'path', n.pages, 'pages', readable),
    ...ranked('Top events', 'name', n.events, 'events', undefined, goalToggle),
    el('h2', 'Sources'),
    el('p', 'Where visits came from: the host of an outside referrer, and the utm_* parameters of the page landed on.', 'muted'),
    ...ranked('Referrers', 'host', n.referrers, 'referrers'),
    ...ranked('Campaign sources', 'utm_source', n.utm_source, 'utm-source'),
    ...ranked('Campaign media', 'utm_medium', n.utm_medium, 'utm-medium'),
    ...ranked('Campaigns', 'utm_campaign', n.utm_campaign, 'utm-campaign'),
    el('h2', 'Devices'),
    el('p', 'What pageviews came from, by the browser’s User-Agent header as the collector received it.', 'muted'),
    ...ranked('Browsers', 'browser', n.browsers, 'browsers', undefined, undefined, 'pageviews'),
    ...ranked('Operating systems', 'system', n.systems, 'systems', undefined, undefined, 'pageviews'),
    ...ranked('Device types', 'type', n.devices, 'devices', undefined, undefined, 'pageviews'),
  )
}

async function security() {
  const show = shower()
  const { attempts } = await api<{ attempts: Attempts[] }>('security')
  const rows = attempts.map((a) => [
    link(a.personId, `#person/${encodeURIComponent(a.personId)}`),
    el('span', a.reason, a.reason),
    count(a.n),
    when(a.first),
    when(a.last),
    cut(a.ips.join(', ')),
    cut(a.origins.join(', ')),
  ])
  show(
    el('h2', 'Refused attempts, by the person id they claimed'),
    el('p', 'Events sent under a person id without that person’s signature: forged, expired, missing, or dated outside the window. Addresses as the collector stores them.', 'muted'),
    rows.length ? table(['claimed person', 'reason', 'attempts', 'first', 'last', 'addresses', 'page origins'], rows, 'refused-attempts') : el('p', 'None in this period.', 'muted'),
  )
}

let live: EventSource | undefined
function feed() {
  const show = shower()
  const counts = el('p', 'connecting…', 'muted')
  const status = el('small', 'connecting…', 'muted')
  status.id = 'status'
  const body = el('tbody')
  body.id = 'rows'
  const shown = new Set<string>()
  const add = (row: FeedRow) => {
    const key = row.verdict + ' ' + row.id
    if (shown.has(key)) return
    shown.add(key)
    const verdict = row.verdict == 'rejected' ? `rejected: ${row.reason}` : row.verdict
    body.prepend(el('tr', null, undefined, el('td', new Date(row.time).toLocaleTimeString()), el('td', row.person || 'anonymous'), el('td', verdict, row.verdict), el('td', row.type), el('td', row.name || '')))
  }
  const t = table(['time', 'person', 'verdict', 'type', 'name'], [])
  t.querySelector('tbody')!.replaceWith(body)
  show(el('h2', 'Live: events as they arrive ', undefined, status), counts, t)
  live = new EventSource(`/api/stream?${new URLSearchParams({ project: project.value })}`)
  live.addEventListener('snapshot', (e) => {
    const start = JSON.parse((e as MessageEvent).data) as { counts: StoreCounts; rows: FeedRow[] }
    counts.textContent = [...Object.entries(start.counts.stored), ...Object.entries(start.counts.rejected).map(([r, n]) => [`rejected ${r}`, n])]
      .map(([k, n]) => `${k}: ${n}`)
      .join(' · ')
    start.rows.forEach(add)
  })
  live.onmessage = (e) => add(JSON.parse(e.data))
  live.onopen = () => (status.textContent = 'live')
  live.onerror = () => (status.textContent = 'reconnecting…')
}

const VIEWS: Record<string, (arg?: string) => Promise<void> | void> = { overview, people: () => people(), person: (id) => person(id || ''), pages, goals, security, live: feed }

async function route() {
  routed++
  const show = shower()
  live?.close()
  live = undefined
  const [name, arg] = (location.hash.slice(1) || 'overview').split('/')
  const render = VIEWS[name] || overview
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('on', a.getAttribute('href') == '#' + (name == 'person' ? 'people' : name))
  view.replaceChildren(el('p', 'loading…', 'muted'))
  try {
    await render(arg && decodeURIComponent(arg))
  } catch (err) {
    show(el('p', `The collector could not answer: ${(err as Error).message}`, 'error'))
  }
}

{
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  const offset = -new Date().getTimezoneOffset()
  const utc = `UTC${offset < 0 ? '−' : '+'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`
  $('zone').textContent = `Times in ${zone} (${utc}); days are UTC days`
}

period.onchange = () => {
  $('custom').hidden = period.value != 'custom'
  if (period.value != 'custom') void route()
}
from.onchange = to.onchange = project.onchange = () => void route()
addEventListener('hashchange', () => void route())
void route()
