// The strict-CSP, sandboxed-iframe and single-page-app scenarios run in every engine (engines.spec.ts).
import { call, expect, test, TOKEN, TOKEN_PROJECT } from './fixtures'

const js = JSON.stringify

test('consent: nothing stored or sent before it, sent once given, remembered; a refusal stops everything', async ({ page, site, stored, sent, collector }) => {
  const url = site.snippetPage(`_gs(${js(TOKEN)}, {requireConsent: true}); _gs('event', 'waiting-for-consent');`)
  await page.goto(url)
  await page.waitForTimeout(300)
  expect(sent).toEqual([])
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('signet')))).toEqual([])
  await call(page, ['consent', true])
  const arrived = await stored(() => true, 2)
  expect(arrived.map((e) => e.name || e.type).sort()).toEqual(['pageview', 'waiting-for-consent'])
  await page.goto(url)
  await stored((e) => e.name == 'waiting-for-consent', 2)
  await call(page, ['consent', false], ['event', 'after-refusal'])
  await page.goto(url)
  await page.waitForTimeout(500)
  expect((await collector.events()).filter((e) => e.name == 'after-refusal')).toEqual([])
  expect(await collector.events()).toHaveLength(4)
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('signet')))).toEqual(['signet_consent'])
})

test('an answer given in one tab applies at once in the other open tabs', async ({ context, page, site, stored, collector }) => {
  const url = site.snippetPage(`_gs(${js(TOKEN)}, {requireConsent: true}); _gs('event', 'asked-in-a');`)
  await page.goto(url)
  const other = await context.newPage()
  await other.goto(url)
  await page.waitForTimeout(300)
  expect(await collector.events()).toEqual([])
  // Given in the other tab: this tab's waiting events go, without a reload.
  await call(other, ['consent', true])
  await stored((e) => e.name == 'asked-in-a', 2)
  // Refused in the other tab: this tab stops at once.
  await call(other, ['consent', false])
  await page.waitForTimeout(100)
  await call(page, ['event', 'after-refusal-elsewhere'])
  await page.waitForTimeout(500)
  expect((await collector.events()).filter((e) => e.name == 'after-refusal-elsewhere')).toEqual([])
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('signet')))).toEqual(['signet_consent'])
})

test('two named trackers keep their projects and visitors apart', async ({ page, site, stored }) => {
  await page.goto(
    site.snippetPage(`_gs(${js(TOKEN)}); _gs(${js(TOKEN_PROJECT)}, 'second'); _gs('second.event', 'second-only'); _gs('event', 'main-only');`),
  )
  const all = await stored(() => true, 4)
  const byProject = (p: string) => all.filter((e) => e.project == p).map((e) => e.name || e.type).sort()
  expect(byProject(TOKEN)).toEqual(['main-only', 'pageview'])
  expect(byProject(TOKEN_PROJECT)).toEqual(['pageview', 'second-only'])
  const visitors = new Set(all.map((e) => e.project + ' ' + e.anonymousId))
  expect(visitors.size).toBe(2)
  expect(new Set(all.map((e) => e.anonymousId)).size).toBe(2)
})
