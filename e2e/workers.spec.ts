import Database from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../src/server/store/open'
import { startCollector } from '../test/server/processes'
import { expect, test } from './fixtures'

// `signet collector --workers 2` as built, with the tracker in Chromium sending a steady stream of
// events, and both its workers killed with SIGKILL one after the other in the middle of it: the
// tracker re-sends what was not answered, the primary starts new workers, and every event is stored
// exactly once. Another connection holds the database's write lock around the kills, so requests
// are surely under way when a worker dies (their writes wait for the lock, then land unanswered:
// the re-sends must not store them twice), whatever the machine's speed.
test('workers killed mid-burst lose nothing and store nothing twice', async ({ context, site }) => {
  test.setTimeout(60_000)
  const db = join(mkdtempSync(join(tmpdir(), 'signet-e2e-workers-')), 'signet.db')
  const collector = startCollector(['--workers', '2', '--project', 'GSN-E2E-W', '--db', db], { SIGNET_SECRET: randomBytes(32).toString('hex') })
  const stored = async () => {
    const store = await openStore({ file: db, readonly: true })
    const names: string[] = []
    for await (const line of store.lines()) names.push(JSON.parse(line).name)
    await store.close()
    return names
  }
  let failed = 0
  let lock: Database.Database | undefined
  const unlock = () => {
    lock?.exec('COMMIT')
    lock?.close()
    lock = undefined
  }
  try {
    const url = await collector.url
    const victims = collector.workers()
    const pages = await Promise.all([1, 2, 3].map(() => context.newPage()))
    const page = site.snippetPage(`_gs('GSN-E2E-W', false)`, '', url.replace('/track', '/tracker.js'))
    let sent!: () => void
    const underWay = new Promise<void>((r) => (sent = r))
    for (const tab of pages) {
      tab.on('requestfailed', (r) => r.url() == url && failed++)
      tab.on('request', (r) => r.url() == url && lock && sent())
      await tab.goto(page)
      await tab.waitForFunction(() => typeof (window as unknown as { _gs: { v?: number } })._gs.v == 'number')
    }
    lock = new Database(db, { timeout: 5000 })
    lock.exec('BEGIN IMMEDIATE')
    // Three tabs, 200 events each, 10 every 40 ms (0.8 s).
    const tracking = pages.map((tab, t) =>
      tab.evaluate(async (t) => {
        for (let i = 0; i < 200; i++) {
          ;(window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', `burst-${t}-${i}`, { pad: 'x'.repeat(500) })
          if (i % 10 == 9) await new Promise((r) => setTimeout(r, 40))
        }
      }, t),
    )
    await underWay
    for (const victim of victims) {
      await new Promise((r) => setTimeout(r, 200))
      process.kill(victim, 'SIGKILL')
    }
    unlock()
    await Promise.all(tracking)
    await expect.poll(async () => new Set(await stored()).size, { timeout: 40_000 }).toBe(600)
    const names = await stored()
    expect(names).toHaveLength(600)
    expect(failed).toBeGreaterThan(0)
    for (const victim of victims) expect(collector.log()).toMatch(new RegExp(`started worker \\d+ in place of ${victim}`))
  } catch (err) {
    unlock()
    const names = await stored()
    const perTab = [0, 1, 2].map((t) => names.filter((n) => n.startsWith(`burst-${t}-`)).length)
    throw new Error(`${err}\nstored per tab: ${perTab}, requests failed: ${failed}\n--- collector output ---\n${collector.log()}`)
  } finally {
    await collector.stop()
  }
})
