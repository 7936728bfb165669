// The operator's console in the browser: it reads the collector's JSON under /api/ (the token is in
// an HttpOnly cookie the page never sees) and shows one view at a time, chosen by the address's
// hash: #overview, #people, #person/<id>, #pages, #security, #live. No framework, no CDN; charts
// are inline SVG. Built by rollup like the tracker.

import type { FeedRow } from '../server/console/feed'
import type { Attempts, Named, Overview, PersonSummary, StoreCounts } from '../server/store/store'
import type { StoredEvent } from '../server/verify/batch'

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
const when = (ms: number) => new Date(ms).toLocaleString()
const num = (n: number) => n.toLocaleString()

function table(head: string[], rows: (Node | string | number)[][]) {
  const t = el('table')
  t.append(el('thead', null, undefined, el('tr', null, undefined, ...head.map((h) => el('th', h)))))
  const body = el('tbody')
  for (const row of rows) body.append(el('tr', null, undefined, ...row.map((c) => (c instanceof Node ? el('td', null, undefined, c) : el('td', c)))))
  t.append(body)
  return t
}

/** Bars for a series of days, as inline SVG. */
function chart(title: string, points: { label: string; value: number }[]) {
  const ns = 'http://www.w3.org/2000/svg'
  const width = 720
  const height = 160
  const most = Math.max(1, ...points.map((p) => p.value))
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('viewBox', `0 0 ${width} ${height + 24}`)
  svg.setAttribute('class', 'chart')
  svg.setAttribute('role', 'img')
  svg.setAttribute('aria-label', title)
  const step = width / Math.max(1, points.length)
  points.forEach((p, i) => {
    const h = Math.round((p.value / most) * height)
    const rect = document.createElementNS(ns, 'rect')
    rect.setAttribute('x', String(i * step + 2))
    rect.setAttribute('y', String(height - h))
    rect.setAttribute('width', String(Math.max(1, step - 4)))
    rect.setAttribute('height', String(h))
    rect.append(Object.assign(document.createElementNS(ns, 'title'), { textContent: `${p.label}: ${p.value}` }))
    svg.append(rect)
    if (points.length <= 31 && (points.length <= 10 || i % Math.ceil(points.length / 10) == 0)) {
      const text = document.createElementNS(ns, 'text')
      text.setAttribute('x', String(i * step + 2))
      text.setAttribute('y', String(height + 16))
      text.textContent = p.label.slice(5)
      svg.append(text)
    }
  })
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

async function api<T>(path: string, extra?: Record<string, string | number>, method = 'GET'): Promise<T> {
  const res = await fetch(`/api/${path}?${query(extra)}`, { method, credentials: 'same-origin' })
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

async function overview() {
  const show = shower()
  const o = await api<Overview>('overview')
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
  const events = total(o.verdicts)
  const verified = o.verdicts.verified || 0
  const refused = total(o.rejected)
  const share = (n: number, of: number) => (of ? `${Math.round((100 * n) / of)} %` : '–')
  show(
    el(
      'div',
      null,
      'kpis',
      el('div', null, 'kpi', el('b', num(events)), el('span', 'events stored')),
      el('div', null, 'kpi', el('b', share(verified, events), 'verified'), el('span', 'verified')),
      el('div', null, 'kpi', el('b', share(events - verified, events)), el('span', 'unsigned or anonymous')),
      el('div', null, 'kpi', el('b', num(refused), refused ? 'rejected' : undefined), el('span', 'attempts refused')),
    ),
    chart('Events per day', o.days.map((d) => ({ label: d.day, value: d.events }))),
    chart('Distinct people per day', o.days.map((d) => ({ label: d.day, value: d.people }))),
    el('h2', 'Events by verdict'),
    table(['verdict', 'events', 'share'], Object.entries(o.verdicts).map(([v, n]) => [el('span', v, v), num(n), share(n, events)])),
    el('h2', 'Refused attempts by reason'),
    Object.keys(o.rejected).length ? table(['reason', 'attempts'], Object.entries(o.rejected).map(([r, n]) => [el('span', r, r), num(n)])) : el('p', 'None in this period.', 'muted'),
  )
}

async function people(offset = 0) {
  const show = shower()
  const search = Object.assign(el('input') as HTMLInputElement, { type: 'search', placeholder: 'person id starts with…', value: sessionStorage.getItem('prefix') || '' })
  const list = el('div')
  const load = async (at: number) => {
    sessionStorage.setItem('prefix', search.value)
    const { people } = await api<{ people: PersonSummary[] }>('people', { prefix: search.value, limit: 50, offset: at })
    const rows = people.map((p) => [link(p.id, `#person/${encodeURIComponent(p.id)}`), when(p.firstSeen), when(p.lastSeen), num(p.events), el('span', p.props ? JSON.stringify(p.props) : '', 'muted')])
    const more = people.length == 50 ? Object.assign(el('button', 'more'), { onclick: () => load(at + 50) }) : ''
    list.replaceChildren(people.length ? table(['verified person', 'first seen', 'last seen', 'events', 'properties'], rows) : el('p', 'No verified person in this period.', 'muted'), more)
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
    const rows = events.map((e) => [when(e.receivedAt), e.type, e.name || e.page?.url || '', el('span', e.verdict, e.verdict)])
    const more = events.length == 50 ? Object.assign(el('button', 'older'), { onclick: () => load(at + 50) }) : ''
    list.replaceChildren(events.length ? table(['received', 'type', 'name or page', 'verdict'], rows) : el('p', 'No stored event of this person.', 'muted'), more)
  }
  const forget = Object.assign(el('button', `Forget ${id}`, 'danger'), {
    onclick: async () => {
      if (!confirm(`Delete every stored event of ${id}, and of the anonymous ids their events carried? This cannot be undone.`)) return
      const { forgot } = await api<{ forgot: number }>(`people/${encodeURIComponent(id)}`, {}, 'DELETE')
      show(el('h2', id), el('p', `Forgot ${forgot} events of ${id}.`), link('back to the people', '#people'))
    },
  })
  const facts = summary
    ? el('p', `Verified · first seen ${when(summary.person.firstSeen)} · last seen ${when(summary.person.lastSeen)} · ${num(summary.person.events)} verified events`)
    : el('p', 'Not a verified person of this project (no verified event stored).', 'muted')
  show(el('h2', id), facts, summary?.person.props ? el('p', `Properties: ${JSON.stringify(summary.person.props)}`, 'muted') : '', el('h2', 'Timeline, newest first'), list, forget)
  await load(0)
}

async function pages() {
  const show = shower()
  const n = await api<{ pages: Named[]; events: Named[]; referrers: Named[] }>('pages')
  const ranked = (title: string, head: string, list: Named[]) => {
    const most = Math.max(1, ...list.map((x) => x.n))
    const bar = (x: Named) => el('span', null, undefined, Object.assign(el('span', null, 'bar'), { style: `width:${Math.max(2, (120 * x.n) / most)}px` }), num(x.n))
    return [el('h2', title), list.length ? table([head, 'events'], list.map((x) => [el('span', x.name, 'wrap'), bar(x)])) : el('p', 'None in this period.', 'muted')]
  }
  show(...ranked('Top pages', 'path', n.pages), ...ranked('Top events', 'name', n.events), ...ranked('Referrers', 'host', n.referrers))
}

async function security() {
  const show = shower()
  const { attempts } = await api<{ attempts: Attempts[] }>('security')
  const rows = attempts.map((a) => [
    link(a.personId, `#person/${encodeURIComponent(a.personId)}`),
    el('span', a.reason, a.reason),
    num(a.n),
    when(a.first),
    when(a.last),
    el('span', a.ips.join(', '), 'wrap'),
    el('span', a.origins.join(', '), 'wrap'),
  ])
  show(
    el('h2', 'Refused attempts, by the person id they claimed'),
    el('p', 'Events sent under a person id without that person’s signature: forged, expired, missing, or dated outside the window. Addresses as the collector stores them.', 'muted'),
    rows.length ? table(['claimed person', 'reason', 'attempts', 'first', 'last', 'addresses', 'page origins'], rows) : el('p', 'None in this period.', 'muted'),
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

const VIEWS: Record<string, (arg?: string) => Promise<void> | void> = { overview, people: () => people(), person: (id) => person(id || ''), pages, security, live: feed }

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

period.onchange = () => {
  $('custom').hidden = period.value != 'custom'
  if (period.value != 'custom') void route()
}
from.onchange = to.onchange = project.onchange = () => void route()
addEventListener('hashchange', () => void route())
void route()
