import { spawn } from 'node:child_process'
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
      const m = /Demo: (http:\/\/\S+)\/\nDashboard: (\S+)/.exec(log)
      if (m) resolve([m[1], m[2]])
    })
    child.on('exit', (code) => reject(new Error(`exited ${code}\n${log}`)))
  })
  const stop = () => new Promise((resolve) => (child.exitCode !== null ? resolve(0) : (child.once('exit', resolve), child.kill('SIGTERM'))))
  return { url, stop }
}

// The demo of `npm start`, clicked through as a person would, with the live dashboard open beside it.
// Its two workers take the site's requests in turn, so the dashboard sees every row only if they
// relay them to each other; after a restart it shows the same counters and timelines, from the store.
test('the demo signs people in through its own server, and the dashboard shows each verdict live', async ({ context }) => {
  const env = { SIGNET_SECRET: randomBytes(32).toString('hex'), SIGNET_DB: join(mkdtempSync(join(tmpdir(), 'signet-demo-')), 'signet.db') }
  let demo = start(env)
  try {
    const [url, board] = await demo.url
    const dashboard = await context.newPage()
    await dashboard.goto(board)
    await expect(dashboard.locator('#status')).toHaveText('live')

    const rows = dashboard.locator('#rows tr')
    // Each step waits for its rows on the dashboard, so the order below is the order of the clicks.
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
    await site.click('#logout')
    await expect(site.locator('#who')).toHaveText('nobody')
    await shown(8)
    const table = (await rows.allInnerTexts()).map((r) => r.split('\t').slice(1).join(' | ')).reverse()
    expect(table).toEqual([
      'anonymous | anonymous | pageview | ',
      'alice | verified | identify | ',
      'alice | verified | pageview | ',
      'alice | verified | event | demo_click',
      'alice | rejected: bad_signature | event | forged_click',
      'bob | verified | identify | ',
      'bob | verified | pageview | ',
      'anonymous | anonymous | pageview | ',
    ])
    await expect(dashboard.locator('#counts')).toContainText('verified: 5')
    await expect(dashboard.locator('#counts')).toContainText('rejected: 1')
    await expect(dashboard.locator('#counts')).toContainText('anonymous: 2')
    expect(await dashboard.locator('#people li b').allInnerTexts()).toEqual(['anonymous', 'alice', 'bob'])
    await dashboard.setViewportSize({ width: 1000, height: 720 })
    await dashboard.screenshot({ path: fileURLToPath(new URL('../docs/dashboard.png', import.meta.url)), fullPage: true })

    await demo.stop()
    demo = start(env)
    const again = await context.newPage()
    // A new run, a new token: the address it prints.
    await again.goto((await demo.url)[1])
    await expect(again.locator('#status')).toHaveText('live')
    // Stored events come back; the rejected one is counted, not stored.
    await expect(again.locator('#counts')).toHaveText(/verified: 5.*anonymous: 2.*rejected: 1|anonymous: 2.*verified: 5.*rejected: 1/)
    expect(await again.locator('#rows tr').count()).toBe(7)
    expect((await again.locator('#people li b').allInnerTexts()).sort()).toEqual(['alice', 'anonymous', 'bob'])
  } finally {
    await demo.stop()
  }
})
