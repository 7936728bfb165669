// The live dashboard: events arrive over server-sent events from /demo/stream, newest first, with
// counters per verdict and a timeline per person. No framework; built by rollup like the tracker.

import type { FeedRow as Row } from '../server/feed'

const $ = (id: string) => document.getElementById(id)!
const counts = new Map<string, number>()
const people = new Map<string, HTMLElement>()

const el = (tag: string, text: string, cls?: string) => {
  const e = document.createElement(tag)
  e.textContent = text
  if (cls) e.className = cls
  return e
}

function show(row: Row) {
  const verdict = row.verdict == 'rejected' ? `rejected: ${row.reason}` : row.verdict
  const cls = row.verdict == 'rejected' ? 'rejected' : row.verdict
  const tr = document.createElement('tr')
  tr.append(
    el('td', new Date(row.time).toLocaleTimeString()),
    el('td', row.person || 'anonymous'),
    el('td', verdict, cls),
    el('td', row.type),
    el('td', row.name || ''),
  )
  $('rows').prepend(tr)

  counts.set(cls, (counts.get(cls) || 0) + 1)
  $('counts').replaceChildren(...[...counts].map(([k, n]) => el('span', `${k}: ${n}`, `count ${k}`)))

  const who = row.person || 'anonymous'
  let line = people.get(who)
  if (!line) {
    const li = el('li', '')
    li.append(el('b', who), (line = el('span', '', 'timeline')))
    $('people').append(li)
    people.set(who, line)
  }
  line.append(el('span', row.name || row.type, `chip ${cls}`))
}

const stream = new EventSource('/demo/stream')
stream.onmessage = (m) => show(JSON.parse(m.data) as Row)
stream.onopen = () => ($('status').textContent = 'live')
stream.onerror = () => ($('status').textContent = 'reconnecting…')
