import { chromium, type Browser } from '@playwright/test'
import { launchOptions } from './chromium'
import { call, expect, ROTATING, test, TOKEN, type Site } from './fixtures'

// Issue 14: GoSquared's settings, as the collector stores them. The site is served under names that
// are not localhost (Chromium maps a.shop.test and b.shop.test to it), so trackLocal and cookieDomain
// behave as on a real domain.
const js = JSON.stringify

async function mapped(site: Site, run: (browser: Browser, at: (host: string, url: string) => string) => Promise<void>) {
  const port = new URL(site.ownTrackerUrl).port
  const browser = await chromium.launch(launchOptions(`--host-resolver-rules=MAP *.shop.test 127.0.0.1:${port}`))
  try {
    await run(browser, (host, url) => url.replace(/^http:\/\/localhost/, `http://${host}`))
  } finally {
    await browser.close()
  }
}

// A page with the snippet, loaded at ?token=s3cret&email=a%40b.test#step-2 under `host`.
const visit = async (browser: Browser, at: (h: string, u: string) => string, site: Site, host: string, calls: string) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const warnings: string[] = []
  page.on('console', (m) => m.type() == 'warning' && warnings.push(m.text()))
  await page.goto(at(host, site.snippetPage(calls)) + '?token=s3cret&email=a%40b.test#step-2', { referer: 'https://news.test/story' })
  return { context, page, warnings }
}

test('settings matrix: the URLs, referrers and identities that arrive', async ({ site, stored }) => {
  await mapped(site, async (browser, at) => {
    const rows: [string, string, (e: { page?: { url?: string; referrer?: string } }) => void][] = [
      ['defaults', '', (e) => expect(e.page).toMatchObject({ url: expect.stringMatching(/\?token=s3cret&email=a%40b\.test$/), referrer: 'https://news.test/story' })],
      ["_gs('set', 'trackParams', false)", "_gs('set', 'trackParams', false);", (e) => expect(e.page!.url).toMatch(/\/page-\d+$/)],
      ["_gs('set', 'trackHash', true)", "_gs('set', 'trackHash', true);", (e) => expect(e.page!.url).toMatch(/#step-2$/)],
      ["_gs('set', 'referrer', …)", "_gs('set', 'referrer', 'https://ads.test/');", (e) => expect(e.page!.referrer).toBe('https://ads.test/')],
      ["_gs('set', {trackParams: false, trackHash: true})", "_gs('set', {trackParams: false, trackHash: true});", (e) => expect(e.page!.url).toMatch(/\/page-\d+#step-2$/)],
    ]
    for (const [i, [, calls, check]] of rows.entries()) {
      const { context, warnings } = await visit(browser, at, site, 'a.shop.test', `_gs(${js(TOKEN)}); ${calls} _gs('event', 'row-${i}');`)
      const [event] = await stored((e) => e.name == `row-${i}`)
      const [pageview] = await stored((e) => e.type == 'pageview' && e.anonymousId == event.anonymousId)
      check(event)
      check(pageview)
      expect(warnings).toEqual([])
      await context.close()
    }
    // trackLocal false on a localhost page: nothing leaves; on a.shop.test it does not apply.
    const local = await visit(browser, (_, u) => u, site, '', `_gs(${js(TOKEN)}); _gs('set', 'trackLocal', false); _gs('event', 'local-page');`)
    const elsewhere = await visit(browser, at, site, 'a.shop.test', `_gs(${js(TOKEN)}); _gs('set', 'trackLocal', false); _gs('event', 'shop-page');`)
    await stored((e) => e.name == 'shop-page')
    await local.page.waitForTimeout(300)
    expect((await stored(() => true)).some((e) => e.name == 'local-page')).toBe(false)
    // useCookies false: the next page is a new visitor, and nothing is in storage.
    const first = await visit(browser, at, site, 'a.shop.test', `_gs(${js(TOKEN)}); _gs('set', 'useCookies', false); _gs('event', 'nc-1');`)
    const [nc1] = await stored((e) => e.name == 'nc-1')
    expect(await first.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('signet') && k != 'signet_consent'))).toEqual([])
    await first.page.goto(at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}); _gs('set', 'useCookies', false); _gs('event', 'nc-2');`)))
    const [nc2] = await stored((e) => e.name == 'nc-2')
    expect(nc2.anonymousId).not.toBe(nc1.anonymousId)
    await Promise.all([local, elsewhere, first].map((v) => v.context.close()))
  })
})

test('cookieDomain shares the anonymous id and the person across subdomains, never the signature', async ({ site, sign, stored }) => {
  await mapped(site, async (browser, at) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(
      at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}); _gs('set', 'cookieDomain', 'shop.test'); _gs('identify', {id: 'sub'}); _gs('auth', ${js(sign('sub'))}); _gs('event', 'on-a');`)),
    )
    const [onA] = await stored((e) => e.name == 'on-a')
    expect(onA).toMatchObject({ personId: 'sub', verdict: 'verified' })
    const cookies = await context.cookies('http://b.shop.test/')
    // Named after the project, so that another project of the domain cannot take it (below).
    expect(cookies.map((c) => [c.name, c.domain])).toEqual([[`signet_${TOKEN}`, '.shop.test']])
    expect(decodeURIComponent(cookies[0].value)).not.toContain(sign('sub'))
    // b.shop.test, its own storage: the shared cookie names the visitor and the person.
    const other = await context.newPage()
    const person = await other.goto(at('b.shop.test', site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('set', 'cookieDomain', 'shop.test');`))).then(() =>
      other.evaluate(() => new Promise((resolve) => (window as unknown as { _gs: (...a: unknown[]) => void })._gs('on', 'state', resolve))),
    )
    expect(person).toBe('identified')
    // Its page gives its own auth, as every page of a signed-in person does.
    await other.evaluate((sig) => {
      const gs = (window as unknown as { _gs: (...a: unknown[]) => void })._gs
      gs('identify', { id: 'sub' })
      gs('auth', sig)
      gs('event', 'on-b')
    }, sign('sub'))
    const [onB] = await stored((e) => e.name == 'on-b')
    expect(onB).toMatchObject({ personId: 'sub', verdict: 'verified', anonymousId: onA.anonymousId })
    await context.close()
  })
})

test('two projects with cookieDomain on sibling subdomains keep their own shared records', async ({ site, sign, stored }) => {
  await mapped(site, async (browser, at) => {
    const context = await browser.newContext()
    const a = await context.newPage()
    await a.goto(at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}); _gs('set', 'cookieDomain', 'shop.test'); _gs('identify', {id: 'alice'}); _gs('auth', ${js(sign('alice'))}); _gs('event', 'on-a');`)))
    const [onA] = await stored((e) => e.name == 'on-a' && e.verdict == 'verified')
    // Another project of the same domain, on its own subdomain: none of project A's visitor or person.
    const b = await context.newPage()
    await b.goto(at('b.shop.test', site.snippetPage(`_gs(${js(ROTATING)}); _gs('set', 'cookieDomain', 'shop.test'); _gs('event', 'on-b');`)))
    const [onB] = await stored((e) => e.name == 'on-b')
    expect(onB.personId).toBeUndefined()
    expect(onB.anonymousId).not.toBe(onA.anonymousId)
    expect((await context.cookies('http://c.shop.test/')).map((c) => c.name).sort()).toEqual([`signet_${TOKEN}`, `signet_${ROTATING}`].sort())
    // And project A's next page on a.shop.test is still Alice's.
    await a.goto(at('a.shop.test', site.snippetPage(`_gs(${js(TOKEN)}); _gs('set', 'cookieDomain', 'shop.test'); _gs('event', 'on-a-again');`)))
    expect((await stored((e) => e.name == 'on-a-again'))[0]).toMatchObject({ personId: 'alice', verdict: 'verified' })
    await context.close()
  })
})

test("an idle tab on one subdomain keeps the person its page identified, and never writes them back over a newer one through the cookie", async ({ site, sign, stored }) => {
  await mapped(site, async (browser, at) => {
    const context = await browser.newContext()
    await context.clock.install()
    const calls = (id?: string) => `_gs(${js(TOKEN)}); _gs('set', 'cookieDomain', 'shop.test');` + (id ? ` _gs('identify', {id: '${id}'}); _gs('auth', ${js(sign(id))});` : '')
    const alice = await context.newPage()
    await alice.goto(at('a.shop.test', site.snippetPage(calls('alice'))))
    await context.clock.runFor(100)
    await stored((e) => e.type == 'pageview' && e.personId == 'alice')
    await context.clock.fastForward(60_000)
    // Bob signs in on the other subdomain while Alice's tab stays open.
    const bob = await context.newPage()
    await bob.goto(at('b.shop.test', site.snippetPage(calls('bob'))))
    await context.clock.runFor(100)
    await stored((e) => e.type == 'pageview' && e.personId == 'bob')
    // Minutes later Alice's idle tab acts, past the once-a-minute renewal of the identity: its page
    // identified her, and a cookie from another subdomain never replaces that.
    await context.clock.fastForward(3 * 60_000)
    await call(alice, ['event', 'in-alices-tab'])
    await context.clock.runFor(100)
    expect((await stored((e) => e.name == 'in-alices-tab'))[0]).toMatchObject({ personId: 'alice', verdict: 'verified' })
    // Nor did it write her back over Bob: his next page on b.shop.test, and a first page on a third
    // subdomain (which has no signature of his: its events wait for its own auth), both identifying
    // nobody, are Bob's.
    await bob.goto(at('b.shop.test', site.snippetPage(calls() + " _gs('event', 'bobs-next');")))
    const third = await context.newPage()
    await third.goto(at('c.shop.test', site.snippetPage(calls())))
    await context.clock.runFor(100)
    expect((await stored((e) => e.name == 'bobs-next'))[0]).toMatchObject({ personId: 'bob', verdict: 'verified' })
    expect(await third.evaluate(() => JSON.parse(localStorage.getItem('signet')!).p)).toBe('bob')
    await context.close()
  })
})

test('a cookie planted by a sibling subdomain fills in only for a page that identified nobody, never over a signed-in person', async ({ site, sign, stored }) => {
  await mapped(site, async (browser, at) => {
    const context = await browser.newContext()
    // evil.shop.test writes the shared cookie: its own anonymous id and a person, at a version far ahead.
    const evil = await context.newPage()
    await evil.goto(at('evil.shop.test', site.page('<!doctype html><title>evil</title>')))
    // (Under the name before issue 23 as well, which had none of the project's.)
    await evil.evaluate((names) => {
      const record = { a: 'e'.repeat(32), p: 'mallory', x: Date.now() + 3_600_000, t: 1e9 }
      for (const name of names) document.cookie = `${name}=${encodeURIComponent(JSON.stringify(record))}; domain=shop.test; path=/; max-age=3600`
    }, ['signet', `signet_${TOKEN}`])
    // A signed-in page on www: identify, auth, then the setting, as the review did.
    const alice = await context.newPage()
    const identified = `_gs(${js(TOKEN)}); _gs('identify', {id: 'alice'}); _gs('auth', ${js(sign('alice'))}); _gs('set', 'cookieDomain', 'shop.test');`
    await alice.goto(at('www.shop.test', site.snippetPage(identified + " _gs('event', 'alice-1');")))
    expect((await stored((e) => e.name == 'alice-1'))[0]).toMatchObject({ personId: 'alice', verdict: 'verified' })
    // Another tab of www that identifies nobody takes the cookie's person (cookieDomain trusts every
    // subdomain; docs/commands.md says so)...
    const other = await context.newPage()
    await other.goto(at('www.shop.test', site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('set', 'cookieDomain', 'shop.test');`)))
    await other.evaluate(() => (window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', 'filled-in'))
    // ...but Alice's tab, which identified her, goes on as Alice.
    await call(alice, ['event', 'alice-2'])
    expect((await stored((e) => e.name == 'alice-2'))[0]).toMatchObject({ personId: 'alice', verdict: 'verified' })
    const all = await stored(() => true)
    expect(all.filter((e) => e.personId == 'mallory' && e.verdict == 'verified')).toEqual([])
    expect(all.filter((e) => e.name?.startsWith('alice-')).map((e) => e.personId)).toEqual(['alice', 'alice'])
    await context.close()
  })
})
