import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from '@playwright/test'

/** `npm start` as built (dist/start.mjs), with two worker processes; resolves once it prints its URL. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../dist/start.mjs', import.meta.url))], {
    env: { PATH: process.env.PATH!, PORT: '0', SIGNET_WORKERS: '2', ...env },
  })
  let log = ''
  child.stderr.on('data', (d) => (log += d))
  // The demo's address, and the dashboard's with the token made for the run.
  const url = new Promise<[string, string]>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      log += d
      const m = /Demo: (http:\/\/\S+)\/\n.*Dashboard: (\S+)/.exec(log)
      if (m) resolve([m[1], m[2]])
    })
    child.on('exit', (code) => reject(new Error(`exited ${code}\n${log}`)))
  })
  const stop = () => new Promise((resolve) => (child.exitCode !== null ? resolve(0) : (child.once('exit', resolve), child.kill('SIGTERM'))))
  return { url, stop }
}

// The demo of `npm start`, clicked through as a person would, with the console's live view open
// beside it. Its two workers take the site's requests in turn, so the live view sees every row only
// if they relay them to each other. Then each view of the console, as a newcomer opens them; then
// `signet forget --person alice`; after a restart the console shows what the store holds.
test('the demo signs people in through its own server, and the console shows them, their timelines and the forged attempt', async ({ context }) => {
  const db = join(mkdtempSync(join(tmpdir(), 'signet-demo-')), 'signet.db')
  const env = { SIGNET_SECRET: randomBytes(32).toString('hex'), SIGNET_DB: db }
  let demo = start(env)
  try {
    const [url, board] = await demo.url
    const dashboard = await context.newPage()
    await dashboard.goto(board)
    await expect(dashboard).toHaveURL(url + '/dashboard')
    await dashboard.goto(url + '/dashboard#live')
    await expect(dashboard.locator('#status')).toHaveText('live')

    const rows = dashboard.locator('#rows tr')
    // Each step waits for its rows in the live view, so the order below is the order of the clicks.
    const shown = (n: number) => expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(n)
    const site = await context.newPage()
    await site.goto(url + '/')
    await shown(1)
    await site.click('#alice')
    await expect(site.locator('#who')).toHaveText('Alice')
    await shown(3)
    await site.click('#track')
    await shown(4)
    await site.click('#forge')
    await shown(5)
    await site.click('#bob')
    await expect(site.locator('#who')).toHaveText('Bob')
    await shown(7)
    await site.click('#buy')
    await shown(8)
    await site.click('#logout')
    await expect(site.locator('#who')).toHaveText('nobody')
    await shown(9)
    const table = (await rows.allInnerTexts()).map((r) => r.split('\t').slice(1).join(' | ')).reverse()
    expect(table).toEqual([
      'anonymous | anonymous | pageview | ',
      'alice | verified | identify | ',
      'alice | verified | pageview | ',
      'alice | verified | event | demo_click',
      'alice | rejected: bad_signature | event | forged_click',
      'bob | verified | identify | ',
      'bob | verified | pageview | ',
      expect.stringMatching(/^bob \| verified \| transaction \| order-\d+$/),
      'anonymous | anonymous | pageview | ',
    ])

    // Overview: 8 events stored today, 6 of them verified; one attempt refused; Bob's order of two
    // pairs of socks at 4.50.
    await dashboard.click('nav a[href="#overview"]')
    await expect(dashboard.locator('.kpi').first()).toContainText('8')
    await expect(dashboard.locator('main')).toContainText('bad_signature')
    await expect(dashboard.locator('.kpi', { hasText: 'revenue' }).locator('b')).toHaveText('9.00')
    await expect(dashboard.locator('svg.chart')).toHaveCount(3)
    // People: Alice and Bob, verified; Alice's timeline.
    await dashboard.click('nav a[href="#people"]')
    await expect(dashboard.locator('main tbody tr td:first-child')).toHaveText(['bob', 'alice'])
    await dashboard.click('text=alice')
    await expect(dashboard.locator('main h2').first()).toHaveText('alice')
    await expect(dashboard.locator('main tbody tr')).toHaveCount(3)
    await expect(dashboard.locator('main tbody')).toContainText('demo_click')
    // Pages and events; Security: the forged attempt, claiming Alice.
    await dashboard.click('nav a[href="#pages"]')
    await expect(dashboard.locator('main')).toContainText('demo_click')
    await dashboard.click('nav a[href="#security"]')
    await expect(dashboard.locator('main tbody tr')).toHaveCount(1)
    expect((await dashboard.locator('main tbody tr td').allInnerTexts()).slice(0, 3)).toEqual(['alice', 'bad_signature', '1'])

    await demo.stop()
    // The operator erases Alice, collector stopped or not.
    const forgot = spawnSync(process.execPath, [fileURLToPath(new URL('../dist/cli.mjs', import.meta.url)), 'forget', '--person', 'alice', '--db', db], { encoding: 'utf8' })
    expect(forgot.stdout.trim()).toBe('forgot 4 events of alice')
    demo = start(env)
    const again = await context.newPage()
    // A new run, a new token: the address it prints.
    await again.goto((await demo.url)[1])
    await again.goto((await demo.url)[0] + '/dashboard#people')
    await expect(again.locator('main tbody tr td:first-child')).toHaveText(['bob'])
    await again.click('nav a[href="#live"]')
    await expect(again.locator('#status')).toHaveText('live')
    // What the store holds comes back: Bob's three events and the last anonymous one (the first
    // pageview carried Alice's anonymous id); the refused attempt stays counted.
    await expect(again.locator('#rows tr')).toHaveCount(4)
    // On a phone: every view fits the screen's width (a wide table scrolls within itself).
    await again.setViewportSize({ width: 390, height: 844 })
    for (const view of ['overview', 'people', 'pages', 'security', 'live']) {
      await again.click(`nav a[href="#${view}"]`)
      await expect(again.locator('main')).not.toBeEmpty()
      expect(await again.evaluate(() => document.documentElement.scrollWidth), view).toBeLessThanOrEqual(390)
    }
  } finally {
    await demo.stop()
  }
})

// A busy CI saw the overview's answer arrive after the operator had gone on to the people view,
// and overwrite it. The overview's answer is held back here for 1.5 s.
test("a view's late answer does not replace the view the operator has gone on to", async ({ context }) => {
  const db = join(mkdtempSync(join(tmpdir(), 'signet-demo-')), 'signet.db')
  const demo = start({ SIGNET_SECRET: randomBytes(32).toString('hex'), SIGNET_DB: db })
  try {
    const [, board] = await demo.url
    const page = await context.newPage()
    let held = 0
    await page.route('**/api/overview?*', async (route) => {
      held++
      await new Promise((r) => setTimeout(r, 1500))
      await route.continue()
    })
    await page.goto(board)
    await expect.poll(() => held).toBe(1)
    await page.click('nav a[href="#people"]')
    await expect(page.locator('main h2').first()).toHaveText('Verified people seen in the period')
    await page.waitForTimeout(2500)
    await expect(page.locator('main h2').first()).toHaveText('Verified people seen in the period')
  } finally {
    await demo.stop()
  }
})
