import { readFileSync, existsSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, test, TOKEN, type Fixtures } from './fixtures'

// Fault-injection matrix: each row tracks a known number of events through a failure and counts
// what the collector stored. Rows run one after another and the table is printed at the end.
test.describe.configure({ mode: 'serial' })
test.setTimeout(60_000)

const N = 30
interface Row {
  row: string
  tracked: number
  stored: number
  duplicates: number
  requests: number
  note?: string
}
const rows: Row[] = []

test.afterAll(() => {
  const header = ['row', 'events tracked', 'distinct events stored', 'duplicates stored', 'requests', 'note']
  const lines = rows.map((r) => [r.row, r.tracked, r.stored, r.duplicates, r.requests, r.note || ''])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)))
  const fmt = (cells: unknown[]) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |'
  console.log(['', 'Fault-injection matrix', fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n'))
})

/** Stored lines in the collector's JSONL for this row's events: distinct ids and repeated ones. */
function storedCounts(dataFile: string, prefix: string) {
  const ids = existsSync(dataFile)
    ? readFileSync(dataFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; name?: string })
        .filter((e) => e.name?.startsWith(prefix))
        .map((e) => e.id)
    : []
  return { stored: new Set(ids).size, duplicates: ids.length - new Set(ids).size }
}

async function trackMany(page: Page, prefix: string) {
  await page.waitForFunction(() => typeof (window as unknown as { _gs: { v?: number } })._gs.v == 'number')
  await page.evaluate(
    ([prefix, n]) => {
      for (let i = 0; i < (n as number); i++) (window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', `${prefix}-${i}`, { i })
    },
    [prefix, N] as const,
  )
}

const start = (endpoint: string) => `_gs(${JSON.stringify(TOKEN)}, {pageview: false, endpoint: ${JSON.stringify(endpoint)}});
window.dropped = []; _gs('on', 'dropped', function (d) { dropped.push(d) });`

async function expectAll(dataFile: string, prefix: string, count = N) {
  await expect.poll(() => storedCounts(dataFile, prefix).stored, { timeout: 30_000 }).toBe(count)
}

function record(row: string, dataFile: string, prefix: string, requests: number, note?: string) {
  const counts = storedCounts(dataFile, prefix)
  rows.push({ row, tracked: N, ...counts, requests, note })
  expect(counts.duplicates).toBe(0)
}

test('503s, then recovering', async ({ page, site, collector, dataFile }) => {
  collector.inject({ status: 503 }, 3)
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'r503')
  await expectAll(dataFile, 'r503')
  record('collector answers 503 three times, then recovers', dataFile, 'r503', collector.requests())
})

test('429 with Retry-After', async ({ page, site, collector, dataFile }) => {
  collector.inject({ status: 429, retryAfter: 2 }, 1)
  const times: number[] = []
  page.on('request', (r) => r.method() == 'POST' && times.push(Date.now()))
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'r429')
  await expectAll(dataFile, 'r429')
  expect(times[1] - times[0]).toBeGreaterThanOrEqual(1900)
  record('429 with Retry-After: 2', dataFile, 'r429', collector.requests(), `retried after ${((times[1] - times[0]) / 1000).toFixed(1)} s`)
})

test('connection resets', async ({ page, site, collector, dataFile }) => {
  collector.inject({ reset: true }, 2)
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'rreset')
  await expectAll(dataFile, 'rreset')
  record('connections reset twice', dataFile, 'rreset', collector.requests())
})

type Args = Pick<Fixtures, 'site' | 'collector'> & { page: Page }

async function downDuring(leave: (page: Page, next: string) => Promise<unknown>, args: Args, prefix: string) {
  const { page, site, collector } = args
  const port = Number(new URL(collector.url).port)
  await collector.close()
  const url = site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl)
  await page.goto(url)
  await trackMany(page, prefix)
  await page.waitForTimeout(300)
  await leave(page, url)
  await page.waitForTimeout(500)
  await collector.listen(port)
}

test('down while the page reloads', async ({ page, site, collector, dataFile }) => {
  await downDuring((p) => p.reload(), { page, site, collector }, 'rreload')
  await expectAll(dataFile, 'rreload')
  record('collector down while the page reloads', dataFile, 'rreload', collector.requests())
})

test('down while the user navigates to another page of the site', async ({ page, site, collector, dataFile }) => {
  const next = site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl)
  await downDuring((p) => p.goto(next), { page, site, collector }, 'rnav')
  await expectAll(dataFile, 'rnav')
  record('collector down while navigating to another page', dataFile, 'rnav', collector.requests())
})

test('a 400 answer is dropped and reported, not retried', async ({ page, site, collector, dataFile, warnings }) => {
  collector.inject({ status: 400 }, 1)
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'r400')
  await expect.poll(() => page.evaluate(() => (window as unknown as { dropped: unknown[] }).dropped)).toEqual([{ count: N, reason: 'http_400' }])
  await page.waitForTimeout(3000)
  expect(collector.requests()).toBe(1)
  expect(warnings).toContain(`[signet] ${N} event(s) dropped: HTTP 400`)
  expect(storedCounts(dataFile, 'r400').stored).toBe(0)
  record('collector answers 400', dataFile, 'r400', collector.requests(), `${N} dropped and reported, not retried`)
})

test('two tabs open on the same site with a backlog', async ({ page, context, site, collector, dataFile }) => {
  const port = Number(new URL(collector.url).port)
  await collector.close()
  const url = site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl)
  await page.goto(url)
  await trackMany(page, 'rtabs')
  await page.waitForTimeout(300)
  await page.close()
  await collector.listen(port)
  const sent = new Map<string, number>()
  const tabs = await Promise.all([context.newPage(), context.newPage()])
  for (const tab of tabs)
    tab.on('request', (r) => {
      if (r.method() != 'POST') return
      for (const e of JSON.parse(r.postData() || '{}').events || []) if (e.name?.startsWith('rtabs')) sent.set(e.id, (sent.get(e.id) || 0) + 1)
    })
  await Promise.all(tabs.map((t) => t.goto(url)))
  await expectAll(dataFile, 'rtabs')
  await tabs[0].waitForTimeout(1000)
  const resent = [...sent.values()].filter((n) => n > 1).length
  expect(resent).toBe(0)
  record('two tabs open on a closed page’s backlog', dataFile, 'rtabs', collector.requests(), `sent once each (${sent.size} ids, ${resent} re-sent)`)
})

test('every event in a script of 3 bytes per character', async ({ page, site, collector, dataFile }) => {
  // A request under the character cap can be over the 64 KB browsers allow keepalive requests in bytes.
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await page.waitForFunction(() => typeof (window as unknown as { _gs: { v?: number } })._gs.v == 'number')
  await page.evaluate((n) => {
    const text = '\u6f22'.repeat(2000)
    for (let i = 0; i < n; i++) (window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', `rcjk-${i}`, { text })
  }, N)
  await expectAll(dataFile, 'rcjk')
  record('events of 6 KB of 3-byte characters each', dataFile, 'rcjk', collector.requests())
})

test('storage full', async ({ page, site, collector, dataFile }) => {
  await page.addInitScript(() => {
    // Fill the origin's quota to the last character: big chunks first, then ever smaller ones.
    let i = 0
    for (let size = 1 << 20; size >= 1; size >>= 1)
      for (;;)
        try {
          localStorage.setItem(`filler-${i++}`, 'x'.repeat(size))
        } catch (_) {
          break
        }
  })
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  const full = await page.evaluate(() => {
    try {
      localStorage.setItem('probe', 'x')
      return false
    } catch (_) {
      return true
    }
  })
  expect(full).toBe(true)
  await trackMany(page, 'rfull')
  await expectAll(dataFile, 'rfull')
  record('localStorage full', dataFile, 'rfull', collector.requests())
})

test('offline, then online', async ({ page, context, site, collector, dataFile }) => {
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await page.waitForFunction(() => typeof (window as unknown as { _gs: { v?: number } })._gs.v == 'number')
  await context.setOffline(true)
  await trackMany(page, 'roffline')
  await page.waitForTimeout(1500)
  expect(storedCounts(dataFile, 'roffline').stored).toBe(0)
  const back = Date.now()
  await context.setOffline(false)
  await expectAll(dataFile, 'roffline')
  record('offline, then online', dataFile, 'roffline', collector.requests(), `delivered ${((Date.now() - back) / 1000).toFixed(1)} s after going online`)
})
