// The operator's console as it is opened daily, on a store the test fills (SQLite, and PostgreSQL
// when SIGNET_TEST_DATABASE_URL names one): figures on the charts' axes and under the pointer, the
// period compared with the one before, long and non-ASCII paths, the operator's time zone, people
// found by any part of their id or a property, a timeline with each event's properties, campaign
// sources, devices, goals, revenue, a CSV of each table, and every view on a 390 px phone.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from '@playwright/test'
import { openStore } from '../src/server/store/open'
import type { StoreOptions } from '../src/server/store/store'
import type { StoredEvent } from '../src/server/verify/batch'
import { DATABASES } from '../test/server/databases'

const PROJECT = 'GSN-CONSOLE-1'
const DAY = 86_400_000
const LONG = '/guides/' + 'a-very-long-article-slug-'.repeat(12) + 'end'

/** Starts the collector (`npm start`'s, as built) on the store; resolves to the console's address with its token. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../dist/start.mjs', import.meta.url))], {
    env: { PATH: process.env.PATH!, PORT: '0', SIGNET_PROJECT: PROJECT, SIGNET_SECRET: randomBytes(32).toString('hex'), ...env },
  })
  let log = ''
  child.stderr.on('data', (d) => (log += d))
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      log += d
      const m = /Dashboard: (\S+)/.exec(log)
      if (m) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`exited ${code}\n${log}`)))
  })
  const stop = () => new Promise((resolve) => (child.exitCode !== null ? resolve(0) : (child.once('exit', resolve), child.kill('SIGTERM'))))
  return { url, stop }
}

/** Ann (Acme, pro) and Bob (free) this week, Ann's order of 49.50; four events in the week before (Bob's order of 30), for the comparison. */
async function fill(options: StoreOptions) {
  const now = Date.now()
  let n = 0
  const event = (at: number, personId: string, e: Partial<StoredEvent>): StoredEvent => ({
    id: `e${String(++n).padStart(4, '0')}`,
    ts: at,
    time: at,
    receivedAt: at,
    project: PROJECT,
    anonymousId: `anon-${personId}`,
    personId,
    verdict: 'verified',
    type: 'event',
    ...e,
  })
  const store = await openStore({ ...options, log: () => {} })
  await store.add([
    ...[8, 9, 10].map((d) => event(now - d * DAY, 'bob@other.example', { type: 'pageview', page: { url: 'https://shop.example/' } })),
    event(now - 9 * DAY, 'bob@other.example', { type: 'transaction', name: 'order-1', props: { revenue: 30, quantity: 1 } }),
    event(now - 2 * DAY + 2000, 'ann@acme.example', { type: 'transaction', name: 'order-2', props: { revenue: 49.5, quantity: 2 } }),
    event(now - 2 * DAY, 'ann@acme.example', { type: 'identify', props: { plan: 'pro', company: 'Acme' } }),
    event(now - 2 * DAY + 1000, 'ann@acme.example', { type: 'pageview', device: 'Firefox|Linux|desktop', page: { url: 'https://shop.example/produits/%C3%A9t%C3%A9' } }),
    event(now - DAY, 'ann@acme.example', { type: 'pageview', device: 'Mobile Safari|iOS|mobile', page: { url: 'https://shop.example' + LONG + '?utm_source=newsletter&utm_campaign=spring' } }),
    event(now - DAY + 1000, 'ann@acme.example', { name: 'signed-up', props: { source: 'newsletter' } }),
    event(now - 60_000, 'bob@other.example', { type: 'identify', props: { plan: 'free' } }),
  ])
  await store.close()
}

/** The collector's environment naming the test's database (a file, or a URL with its own schema). */
const envOf = (o: StoreOptions): Record<string, string> => (o.url ? { SIGNET_DATABASE_URL: o.url } : { SIGNET_DB: o.file! })

for (const engine of DATABASES)
  test(`the console, daily, on ${engine.name}: axes and hover figures, the period before, decoded and cut paths, the time zone, search, timelines, revenue, devices, CSV, a phone`, async ({ browser }) => {
    test.skip(engine.skip, 'SIGNET_TEST_DATABASE_URL is not set')
    const db = await engine.make()
    await fill(db.options)
    const collector = start(envOf(db.options))
    const context = await browser.newContext({ timezoneId: 'America/St_Johns', acceptDownloads: true })
    try {
      const page = await context.newPage()
      await page.goto(await collector.url)
      await expect(page.locator('#zone')).toHaveText('Times in America/St_Johns (UTC−03:30); days are UTC days')

      // Overview: 6 events this week against 4 the week before; revenue against the week before's;
      // values on the axis; the figure under the pointer.
      await expect(page.locator('.kpi').first().locator('b')).toHaveText('6')
      await expect(page.locator('.kpi').first().locator('.delta')).toHaveText('▲ 50 % on the period before (4)')
      await expect(page.locator('.kpi').nth(1).locator('.delta')).toHaveText('+0 points on the period before (100 %)')
      const revenue = page.locator('.kpi', { hasText: 'revenue' })
      await expect(revenue.locator('b')).toHaveText('49.50')
      await expect(revenue.locator('span')).toHaveText('revenue, 1 order')
      await expect(revenue.locator('.delta')).toHaveText('▲ 65 % on the period before (30)')
      await expect(page.locator('figcaption', { hasText: 'Revenue per day' })).toBeVisible()
      const chart = page.locator('svg.chart').first()
      await expect(chart.locator('text')).toContainText(['0', '1', '2'])
      const today = new Date().toISOString().slice(0, 10)
      await chart.locator('rect:not(.column)').last().hover()
      await expect(chart.locator('.readout')).toHaveText(`${today}: 1`)

      // Pages: the long path cut to its cell, the count beside it on screen; the accented path decoded.
      await page.click('nav a[href="#pages"]')
      const long = page.locator('tr', { hasText: 'a-very-long-article-slug' })
      await expect(long.locator('.cut')).toHaveAttribute('title', LONG)
      const count = await long.locator('.counted').boundingBox()
      expect(count!.x + count!.width).toBeLessThanOrEqual(page.viewportSize()!.width)
      await expect(page.locator('main')).toContainText('/produits/été')
      // Sources: the campaign the long page was landed on from.
      await expect(page.locator('.tablebox', { hasText: 'utm_source' })).toContainText('newsletter')
      await expect(page.locator('.tablebox', { hasText: 'utm_campaign' })).toContainText('spring')
      // Devices: what Ann's two pageviews came from (one each: in the order of the database's collation).
      const names = (head: string) => page.locator('.tablebox', { hasText: head }).locator('tbody td:first-child').allInnerTexts()
      await expect.poll(async () => (await names('browser')).sort()).toEqual(['Firefox', 'Mobile Safari'])
      expect((await names('system')).sort()).toEqual(['Linux', 'iOS'])
      expect((await names('type')).sort()).toEqual(['desktop', 'mobile'])
      // Its CSV: what the table shows, whole.
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('.tablebox button.csv').first().click()])
      expect(download.suggestedFilename()).toBe('pages.csv')
      const csv = readFileSync((await download.path())!, 'utf8').split('\r\n')
      expect(csv[0]).toBe('path,events')
      expect(csv).toContain(`${LONG},1`)
      expect(csv).toContain('/produits/été,1')

      // Goals: signed-up marked in the top events; counted on the Goals view, with its chart.
      await page.locator('tr', { hasText: 'signed-up' }).locator('button.goal').click()
      await expect(page.locator('tr', { hasText: 'signed-up' }).locator('button.goal')).toHaveText('★ goal')
      await page.click('nav a[href="#goals"]')
      await expect(page.locator('main tbody tr td').first()).toHaveText('signed-up')
      await expect(page.locator('main tbody tr td').nth(1)).toHaveText('1')
      await expect(page.locator('main tbody tr td').nth(2)).toHaveText('none in the period before')
      await expect(page.locator('figcaption')).toHaveText(['signed-up: conversions per day (UTC days)'])
      // One added by name, with none yet.
      await page.fill('.addgoal input', 'upgraded')
      await page.click('.addgoal button')
      await expect(page.locator('main tbody tr td:first-child')).toHaveText(['signed-up', 'upgraded'])

      // People: by any part of the id, by a property's value, by key=value.
      await page.click('nav a[href="#people"]')
      const search = page.locator('input[type=search]')
      const found = page.locator('main tbody tr td:first-child')
      await expect(found).toHaveText(['bob@other.example', 'ann@acme.example'])
      await search.fill('ACME.EX')
      await expect(found).toHaveText(['ann@acme.example'])
      await search.fill('plan=free')
      await expect(found).toHaveText(['bob@other.example'])
      await search.fill('newsletter')
      await expect(page.locator('main')).toContainText('No verified person in this period.')

      // A timeline with each event's properties.
      await page.goto(page.url().replace(/#.*/, '') + '#person/ann%40acme.example')
      const signedUp = page.locator('tr', { hasText: 'signed-up' })
      await expect(signedUp.locator('td').nth(3)).toHaveText('{"source":"newsletter"}')
      await expect(page.locator('main .revenue')).toHaveText(' · revenue 49.50 from 1 order')
      await expect(page.locator('main')).toContainText('/produits/été')

      // A phone: every view within its 390 px, the pages' counts on screen.
      await page.setViewportSize({ width: 390, height: 844 })
      for (const view of ['overview', 'people', 'pages', 'goals', 'security', 'live']) {
        await page.click(`nav a[href="#${view}"]`)
        await expect(page.locator('main')).not.toContainText('loading…')
        expect(await page.evaluate(() => document.documentElement.scrollWidth), view).toBeLessThanOrEqual(390)
      }
      await page.click('nav a[href="#pages"]')
      const phone = await page.locator('tr', { hasText: 'a-very-long-article-slug' }).locator('.counted').boundingBox()
      expect(phone!.x + phone!.width).toBeLessThanOrEqual(390)
    } finally {
      await context.close()
      await collector.stop()
      await db.drop()
    }
  })
