// The live dashboard: it starts from what the store holds (counters, latest events, the timelines
// of the people in them), then adds each decision as it arrives over server-sent events from
// /demo/stream, newest first. No framework; built by rollup like the tracker.

import type { FeedRow as Row } from '../server/console/feed'
import type { StoreCounts } from '../server/store/store'

interface Snapshot {
  counts: StoreCounts
  rows: Row[]
  timelines: Record<string, Row[]>
}

const $ = (id: string) => document.getElementById(id)!
const counts = new Map<string, number>()
const people = new Map<string, HTMLElement>()
// A row can come twice: in the snapshot and again live, when it was stored while the snapshot was read.
const shown = new Set<string>()

const el = (tag: string, text: string, cls?: string) => {
  const e = document.createElement(tag)
  e.textContent = text
  if (cls) e.className = cls
  return e
}

const kind = (row: Row) => (row.verdict == 'rejected' ? 'rejected' : row.verdict)

function showCounts() {
  $('counts').replaceChildren(...[...counts].map(([k, n]) => el('span', `${k}: ${n}`, `count ${k}`)))
}

function timeline(who: string) {
  let line = people.get(who)
  if (!line) {
    const li = el('li', '')
    li.append(el('b', who), (line = el('span', '', 'timeline')))
    $('people').append(li)
    people.set(who, line)
  }
  return line
}

const chip = (row: Row) => el('span', row.name || row.type, `chip ${kind(row)}`)

function show(row: Row, counted: boolean) {
  const key = row.verdict + ' ' + row.id
  if (shown.has(key)) return
  shown.add(key)
  const tr = document.createElement('tr')
  tr.append(
    el('td', new Date(row.time).toLocaleTimeString()),
    el('td', row.person || 'anonymous'),
    el('td', row.verdict == 'rejected' ? `rejected: ${row.reason}` : row.verdict, kind(row)),
    el('td', row.type),
    el('td', row.name || ''),
  )
  $('rows').prepend(tr)
  if (!counted) {
    counts.set(kind(row), (counts.get(kind(row)) || 0) + 1)
    showCounts()
  }
  return true
}

function start({ counts: stored, rows, timelines }: Snapshot) {
  counts.clear()
  for (const [verdict, n] of Object.entries(stored.stored)) counts.set(verdict, n)
  const rejected = Object.values(stored.rejected).reduce((a, b) => a + b, 0)
  if (rejected) counts.set('rejected', rejected)
  showCounts()
  for (const [who, list] of Object.entries(timelines)) timeline(who).replaceChildren(...list.map(chip))
  for (const row of rows) if (show(row, true) && row.person === undefined) timeline('anonymous').append(chip(row))
}

const stream = new EventSource('/demo/stream')
stream.addEventListener('snapshot', (m) => {
  $('rows').replaceChildren()
  shown.clear()
  start(JSON.parse((m as MessageEvent).data) as Snapshot)
})
stream.onmessage = (m) => {
  const row = JSON.parse(m.data) as Row
  if (show(row, false)) timeline(row.person || 'anonymous').append(chip(row))
}
stream.onopen = () => ($('status').textContent = 'live')
stream.onerror = () => ($('status').textContent = 'reconnecting…')
