// Issue 33: each engine's own storage rules, and what they mean for identity: how long the cookie
// of cookieDomain lasts, what a frame on another site sees (storage partitioned by top-level
// site), and a private window. Pages are on real domain names (shop.test and its subdomains, and
// another site, news.test), each engine resolving them to this machine (e2e/engines.ts).
import { expect, test, TOKEN } from './fixtures'
import { forEachEngine, type Tab } from './engines'

const js = (v: unknown) => JSON.stringify(v)
const HOSTS = ['a.shop.test', 'b.shop.test', 'news.test']
const at = (host: string, url: string) => url.replace(/^http:\/\/localhost/, `http://${host}`)
const DAY = 86_400
const state = (tab: Tab) => tab.run(`new Promise(function (resolve) { _gs('on', 'state', resolve) })`)
const record = (tab: Tab) => tab.run(`localStorage.getItem('signet')`) as Promise<string | null>

forEachEngine({ hosts: HOSTS }, (name, inProfile) => {
  // What each engine does with the 2 years the tracker asks for an anonymous visitor's cookie:
  // Chromium and Firefox cap every cookie at 400 days. Safari's tracking prevention caps one
  // written by script at 7 days; WebKitGTK's WebDriver sessions run without it (e2e/engines.ts).
  const cap = { chromium: 400, firefox: 400, webkit: 730 }[name]
  test(`the anonymous visitor's cookie of cookieDomain lasts ${cap} days here (asked: 730)`, async ({ site }) => {
    await inProfile(async (profile) => {
      const tab = await profile.tab()
      const url = at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('set', 'cookieDomain', 'shop.test'); _gs('event', 'x');`))
      await tab.goto(url)
      await expect.poll(() => tab.run('document.cookie')).toContain(`signet_${TOKEN}=`)
      const [cookie] = (await tab.cookies(url)).filter((c) => c.name == `signet_${TOKEN}`)
      expect(cookie.domain).toBe('.shop.test')
      expect(Math.round((cookie.expires! - Date.now() / 1000) / DAY)).toBe(cap)
    })
  })

  test('cookieDomain shares the person between a.shop.test and b.shop.test; a frame of b.shop.test on another site (news.test) has storage of its own: a visitor of its own, nobody identified', async ({ site, sign, stored }) => {
    await inProfile(async (profile) => {
      const a = await profile.tab()
      await a.goto(at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}); _gs('set', 'cookieDomain', 'shop.test'); _gs('identify', {id: 'sub'}); _gs('auth', ${js(sign('sub'))}); _gs('event', 'on-a');`)))
      const [onA] = await stored((e) => e.name == 'on-a')
      expect(onA).toMatchObject({ personId: 'sub', verdict: 'verified' })
      // b.shop.test is the same site: the shared cookie names the visitor and the person there.
      const b = await profile.tab()
      await b.goto(at('b.shop.test', site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('set', 'cookieDomain', 'shop.test');`)))
      expect(await state(b)).toBe('identified')
      await b.run(`(_gs('identify', {id: 'sub'}), _gs('auth', ${js(sign('sub'))}), _gs('event', 'on-b'), 1)`)
      expect((await stored((e) => e.name == 'on-b'))[0]).toMatchObject({ personId: 'sub', verdict: 'verified', anonymousId: onA.anonymousId })
      // The same page of b.shop.test in a frame on news.test: its cookie and storage are partitioned under news.test.
      const frame = at('b.shop.test', site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('set', 'cookieDomain', 'shop.test'); _gs('event', 'in-frame', {cookie: document.cookie.indexOf('signet_') >= 0});`))
      const news = await profile.tab()
      await news.goto(at('news.test', site.page(`<!doctype html><title>news</title><iframe src="${frame}"></iframe>`)))
      const [inFrame] = await stored((e) => e.name == 'in-frame')
      expect(inFrame.personId).toBeUndefined()
      expect(inFrame.anonymousId).not.toBe(onA.anonymousId)
      expect(inFrame.props).toEqual({ cookie: false })
    })
  })

  if (name == 'webkit')
    test("after Safari's 7-day cap deletes the site's storage (deleted here by the test): the returning visitor is a new anonymous visitor, and the next signed-in page is verified", async ({ site, sign, stored, collector }) => {
      await inProfile(async (profile) => {
        const tab = await profile.tab()
        await tab.goto(at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}); _gs('set', 'cookieDomain', 'shop.test'); _gs('identify', {id: 'week'}); _gs('auth', ${js(sign('week'))});`)))
        const [before] = await stored((e) => e.type == 'pageview' && e.personId == 'week')
        await tab.run(`(localStorage.clear(), document.cookie = 'signet_${TOKEN}=; domain=shop.test; path=/; max-age=0', 1)`)
        await tab.goto(at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('set', 'cookieDomain', 'shop.test'); _gs('event', 'back');`)))
        const [back] = await stored((e) => e.name == 'back')
        expect(back.personId).toBeUndefined()
        expect(back.anonymousId).not.toBe(before.anonymousId)
        await tab.run(`(_gs('identify', {id: 'week'}), _gs('auth', ${js(sign('week'))}), _gs('event', 'signed-in-again'), 1)`)
        expect((await stored((e) => e.name == 'signed-in-again'))[0]).toMatchObject({ personId: 'week', verdict: 'verified', anonymousId: back.anonymousId })
        expect((await collector.events()).filter((e) => e.personId == 'week' && e.verdict != 'verified')).toEqual([])
      })
    })

  // What a private window is to a site: storage that works while it is open, shared by its tabs,
  // and gone with it. Each driver's profile is such a one (Playwright's contexts are Chromium's
  // incognito profiles; puppeteer's contexts and WebDriver's sessions keep nothing either).
  test('a throwaway profile, as a private window: it tracks as a normal one, its tabs share the person, and the next one keeps nothing of it', async ({ site, sign, stored }) => {
    const page = site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'incognito'}); _gs('auth', ${js(sign('incognito'))});`)
    const anonymousId = await inProfile(async (first) => {
      const one = await first.tab()
      await one.goto(page)
      const [view] = await stored((e) => e.type == 'pageview' && e.personId == 'incognito')
      expect(view.verdict).toBe('verified')
      const two = await first.tab()
      await two.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('event', 'second-tab');`))
      expect((await stored((e) => e.name == 'second-tab'))[0]).toMatchObject({ personId: 'incognito', verdict: 'verified', anonymousId: view.anonymousId })
      return view.anonymousId
    })
    await inProfile(async (next) => {
      const tab = await next.tab()
      await tab.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('event', 'next-window');`))
      const [later] = await stored((e) => e.name == 'next-window')
      expect(later.personId).toBeUndefined()
      expect(later.anonymousId).not.toBe(anonymousId)
      expect(await record(tab)).not.toContain('incognito')
    })
  })
})
