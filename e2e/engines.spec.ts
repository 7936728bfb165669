// Issue 33: the scenarios a site relies on, in each engine people browse with (e2e/engines.ts):
// Chromium, Firefox (Gecko) and WebKit, against the real collector. A first slice: a signed
// pageview and event, an event right before a navigation, the outbox across a reload while the
// collector is down, and a logout in a second tab. An engine not installed here says so in its
// tests' names.
import { expect, test, TOKEN } from './fixtures'
import { engineMissing, launchEngine, type Engine, type Tab } from './engines'

const js = (v: unknown) => JSON.stringify(v)
const gs = (tab: Tab, ...args: unknown[]) => tab.run(`window._gs(...${js(args)})`)

for (const name of ['chromium', 'firefox', 'webkit'] as const) {
  const missing = engineMissing(name)
  test.describe(`${name}${missing ? ` (not installed here: ${missing})` : ''}`, () => {
    // One browser for the engine's scenarios, in turn; each scenario in a profile of its own.
    test.describe.configure({ mode: 'default' })
    test.skip(!!missing && !process.env.CI, `${name} is not installed`)
    let engine: Engine
    test.beforeAll(async () => {
      test.setTimeout(60_000)
      engine = await launchEngine(name)
    })
    test.afterAll(async () => engine?.close())

    test('a signed pageview and event arrive verified', async ({ site, sign, stored }) => {
      const profile = await engine.profile()
      try {
        const tab = await profile.tab()
        await tab.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'alice@example.com'}); _gs('auth', ${js(sign('alice@example.com'))}); _gs('event', 'signed-up', {plan: 'pro'});`))
        const events = await stored((e) => e.personId == 'alice@example.com', 3)
        expect(events.map((e) => `${e.type} ${e.name ?? ''} ${e.verdict}`).sort()).toEqual(['event signed-up verified', 'identify  verified', 'pageview  verified'])
      } finally {
        await profile.close()
      }
    })

    test('an event right before the page navigates away arrives, once', async ({ site, sign, stored, collector }) => {
      const profile = await engine.profile()
      try {
        const tab = await profile.tab()
        const next = site.page('<!doctype html><title>next</title><p>next page</p>')
        await tab.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('identify', {id: 'bob'}); _gs('auth', ${js(sign('bob'))});`))
        await tab.run(`(window._gs('event', 'leaving'), location.href = ${js(next)}, 1)`)
        const [left] = await stored((e) => e.name == 'leaving')
        expect(left).toMatchObject({ personId: 'bob', verdict: 'verified' })
        await new Promise((r) => setTimeout(r, 500))
        expect((await collector.events()).filter((e) => e.name == 'leaving')).toHaveLength(1)
      } finally {
        await profile.close()
      }
    })

    test('an event sent while the collector is down survives a reload, and arrives once it is back', async ({ site, sign, stored, collector }) => {
      const profile = await engine.profile()
      try {
        const tab = await profile.tab()
        await collector.down()
        // The page loads the tracker from the site itself: the collector is away.
        await tab.goto(
          site.snippetPage(`_gs(${js(TOKEN)}, {pageview: false, endpoint: ${js(collector.url + '/track')}}); _gs('identify', {id: 'carol'}); _gs('auth', ${js(sign('carol'))});`, '', site.ownTrackerUrl),
        )
        await gs(tab, 'event', 'offline')
        await new Promise((r) => setTimeout(r, 300))
        await tab.reload()
        await collector.up()
        // The page that left may have handed its outbox to a beacon the collector never got: the
        // next page leaves those events alone for the beacon's lease (10 s) before it sends them.
        await expect.poll(async () => (await collector.events()).filter((e) => e.name == 'offline').length, { timeout: 30_000 }).toBe(1)
        const [back] = await stored((e) => e.name == 'offline')
        expect(back).toMatchObject({ personId: 'carol', verdict: 'verified' })
        await new Promise((r) => setTimeout(r, 500))
        expect((await collector.events()).filter((e) => e.name == 'offline')).toHaveLength(1)
      } finally {
        await collector.up().catch(() => {})
        await profile.close()
      }
    })

    test("a logout in one tab: the other tab's next event is anonymous", async ({ site, sign, stored }) => {
      const profile = await engine.profile()
      try {
        const page = site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('identify', {id: 'dave'}); _gs('auth', ${js(sign('dave'))});`)
        const one = await profile.tab()
        await one.goto(page)
        const two = await profile.tab()
        await two.goto(page)
        await gs(two, 'event', 'signed-in')
        expect((await stored((e) => e.name == 'signed-in'))[0]).toMatchObject({ personId: 'dave', verdict: 'verified' })
        await gs(one, 'unidentify')
        // The other tab reads the stored record before each command (no storage event needed).
        await expect.poll(() => two.run(`localStorage.getItem('signet')`)).not.toContain('"p"')
        await gs(two, 'event', 'after-logout')
        const [after] = await stored((e) => e.name == 'after-logout')
        expect(after.personId).toBeUndefined()
        expect(after.verdict).toBe('anonymous')
      } finally {
        await profile.close()
      }
    })
  })
}
