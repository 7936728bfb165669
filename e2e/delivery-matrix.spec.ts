import type { Page } from '@playwright/test'
import { expect, requestBatch, test, TOKEN, type Fixtures, type TestCollector } from './fixtures'

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
  gzipped: number
  note?: string
}
const rows: Row[] = []

// Requests the pages sent to /track, and how many of them gzipped (compression is on, as in the build users get).
let wire = { sent: 0, gzipped: 0 }
test.beforeEach(({ context }) => {
  wire = { sent: 0, gzipped: 0 }
  context.on('request', (r) => {
    if (r.method() != 'POST' || !r.url().endsWith('/track')) return
    const body = r.postDataBuffer()
    wire.sent++
    if (body && body[0] == 0x1f && body[1] == 0x8b) wire.gzipped++
  })
})

test.afterAll(() => {
  const header = ['row', 'events tracked', 'distinct events stored', 'duplicates stored', 'requests', 'sent gzipped', 'note']
  const lines = rows.map((r) => [r.row, r.tracked, r.stored, r.duplicates, r.requests, r.gzipped, r.note || ''])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)))
  const fmt = (cells: unknown[]) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |'
  console.log(['', 'Fault-injection matrix', fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n'))
})

/** Events the collector stored for this row: distinct ids and repeated ones. */
async function storedCounts(collector: TestCollector, prefix: string) {
  const ids = (await collector.events()).filter((e) => e.name?.startsWith(prefix)).map((e) => e.id)
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

async function expectAll(collector: TestCollector, prefix: string, count = N) {
  await expect.poll(async () => (await storedCounts(collector, prefix)).stored, { timeout: 30_000 }).toBe(count)
}

async function record(row: string, collector: TestCollector, prefix: string, note?: string) {
  const counts = await storedCounts(collector, prefix)
  const requests = collector.requests()
  rows.push({ row, tracked: N, ...counts, requests, gzipped: wire.gzipped, note })
  expect(counts.duplicates).toBe(0)
}

test('503s, then recovering', async ({ page, site, collector }) => {
  collector.inject({ status: 503 }, 3)
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'r503')
  await expectAll(collector, 'r503')
  await record('collector answers 503 three times, then recovers', collector, 'r503')
})

test('429 with Retry-After', async ({ page, site, collector }) => {
  collector.inject({ status: 429, retryAfter: 2 }, 1)
  const times: number[] = []
  page.on('request', (r) => r.method() == 'POST' && times.push(Date.now()))
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'r429')
  await expectAll(collector, 'r429')
  expect(times[1] - times[0]).toBeGreaterThanOrEqual(1900)
  await record('429 with Retry-After: 2', collector, 'r429', `retried after ${((times[1] - times[0]) / 1000).toFixed(1)} s`)
})

test('connection resets', async ({ page, site, collector }) => {
  collector.inject({ reset: true }, 2)
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'rreset')
  await expectAll(collector, 'rreset')
  await record('connections reset twice', collector, 'rreset')
})

type Args = Pick<Fixtures, 'site' | 'collector'> & { page: Page }

async function downDuring(leave: (page: Page, next: string) => Promise<unknown>, args: Args, prefix: string) {
  const { page, site, collector } = args
  await collector.down()
  const url = site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl)
  await page.goto(url)
  await trackMany(page, prefix)
  await page.waitForTimeout(300)
  await leave(page, url)
  await page.waitForTimeout(500)
  await collector.up()
}

test('down while the page reloads', async ({ page, site, collector }) => {
  await downDuring((p) => p.reload(), { page, site, collector }, 'rreload')
  await expectAll(collector, 'rreload')
  await record('collector down while the page reloads', collector, 'rreload')
})

test('down while the user navigates to another page of the site', async ({ page, site, collector }) => {
  const next = site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl)
  await downDuring((p) => p.goto(next), { page, site, collector }, 'rnav')
  await expectAll(collector, 'rnav')
  await record('collector down while navigating to another page', collector, 'rnav')
})

test('a 400 answer is dropped and reported, not retried', async ({ page, site, collector, warnings }) => {
  // Two: a collector may answer 400 because it cannot read gzip, so the batch goes again as JSON once.
  collector.inject({ status: 400 }, 2)
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await trackMany(page, 'r400')
  await expect.poll(() => page.evaluate(() => (window as unknown as { dropped: unknown[] }).dropped)).toEqual([{ count: N, reason: 'http_400' }])
  await page.waitForTimeout(3000)
  expect(collector.requests()).toBe(2)
  expect(warnings).toContain(`[signet] ${N} event(s) dropped: HTTP 400`)
  expect((await storedCounts(collector, 'r400')).stored).toBe(0)
  await record('collector answers 400', collector, 'r400', `${N} dropped and reported after one re-send as JSON`)
})

test('two tabs open on the same site with a backlog', async ({ page, context, site, collector }) => {
  await collector.down()
  const url = site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl)
  await page.goto(url)
  await trackMany(page, 'rtabs')
  await page.waitForTimeout(300)
  await page.close()
  await collector.up()
  const sent = new Map<string, number>()
  const tabs = await Promise.all([context.newPage(), context.newPage()])
  for (const tab of tabs)
    tab.on('request', (r) => {
      if (r.method() != 'POST') return
      for (const e of requestBatch(r.postDataBuffer()).events) if (e.name?.startsWith('rtabs')) sent.set(e.id, (sent.get(e.id) || 0) + 1)
    })
  await Promise.all(tabs.map((t) => t.goto(url)))
  await expectAll(collector, 'rtabs')
  await tabs[0].waitForTimeout(1000)
  const resent = [...sent.values()].filter((n) => n > 1).length
  expect(resent).toBe(0)
  await record('two tabs open on a closed page’s backlog', collector, 'rtabs', `sent once each (${sent.size} ids, ${resent} re-sent)`)
})

test('every event in a script of 3 bytes per character', async ({ page, site, collector }) => {
  // A request under the character cap can be over the 64 KB browsers allow keepalive requests in bytes.
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await page.waitForFunction(() => typeof (window as unknown as { _gs: { v?: number } })._gs.v == 'number')
  await page.evaluate((n) => {
    const text = '\u6f22'.repeat(2000)
    for (let i = 0; i < n; i++) (window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', `rcjk-${i}`, { text })
  }, N)
  await expectAll(collector, 'rcjk')
  await record('events of 6 KB of 3-byte characters each', collector, 'rcjk')
})

test('storage full', async ({ page, site, collector }) => {
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
  await expectAll(collector, 'rfull')
  await record('localStorage full', collector, 'rfull')
})

test('offline, then online', async ({ page, context, site, collector }) => {
  await page.goto(site.snippetPage(start(collector.url + '/track'), '', site.ownTrackerUrl))
  await page.waitForFunction(() => typeof (window as unknown as { _gs: { v?: number } })._gs.v == 'number')
  await context.setOffline(true)
  await trackMany(page, 'roffline')
  await page.waitForTimeout(1500)
  expect((await storedCounts(collector, 'roffline')).stored).toBe(0)
  const back = Date.now()
  await context.setOffline(false)
  await expectAll(collector, 'roffline')
  await record('offline, then online', collector, 'roffline', `delivered ${((Date.now() - back) / 1000).toFixed(1)} s after going online`)
})
