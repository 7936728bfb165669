import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from '@playwright/test'
import { serve } from '../src/server/serve'

// The demo of `npm start`, clicked through as a person would, with the live dashboard open beside it.
test('the demo signs people in through its own server, and the dashboard shows each verdict live', async ({ context }) => {
  const dist = fileURLToPath(new URL('../dist', import.meta.url))
  const { url, collector } = await serve(
    {
      port: 0,
      host: '127.0.0.1',
      dataFile: join(mkdtempSync(join(tmpdir(), 'signet-demo-')), 'events.jsonl'),
      projects: { 'GSN-DEMO-1': { secureMode: 'enforce', secrets: [randomBytes(32).toString('hex')] } },
      demoProject: 'GSN-DEMO-1',
      generatedSecret: false,
    },
    { demo: true, dist },
  )
  try {
    const dashboard = await context.newPage()
    await dashboard.goto(url + '/dashboard')
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
  } finally {
    await collector.close()
  }
})
