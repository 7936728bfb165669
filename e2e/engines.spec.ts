// Issue 33: the scenarios a site relies on, in each engine people browse with (e2e/engines.ts):
// Chromium, Firefox (Gecko) and WebKit, against the real collector. Only what every engine's
// driver can do is used: no fake clock (WebKitGTK has none), so the scenarios that wait on the
// tracker's timers wait in real time and say so. An engine not installed here says so in its
// tests' names.
import { loader } from '../src/server/http/snippet'
import { expect, test, TOKEN } from './fixtures'
import { forEachEngine, type Tab } from './engines'

const js = (v: unknown) => JSON.stringify(v)
const gs = (tab: Tab, ...args: unknown[]) => tab.run(`window._gs(...${js(args)})`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Page script that keeps the page's uncaught errors and console warnings where run() can read them. */
const WATCH = `window.seen = {errors: [], warnings: []};
addEventListener('error', function (e) { seen.errors.push(String(e.message)) });
addEventListener('unhandledrejection', function (e) { seen.errors.push(String(e.reason)) });
var warn = console.warn; console.warn = function () { seen.warnings.push([].join.call(arguments, ' ')); return warn.apply(console, arguments) };`
const seen = (tab: Tab) => tab.run('window.seen') as Promise<{ errors: string[]; warnings: string[] }>

// WebKitGTK's MiniBrowser says Safari, as WebKit browsers do.
const DEVICES = { chromium: 'Chrome Headless|Linux|desktop', firefox: 'Firefox|Linux|desktop', webkit: 'Safari|Linux|desktop' }

// One browser for each engine's scenarios, in turn; each scenario in a profile of its own.
forEachEngine({}, (name, inProfile) => {
  test('a signed pageview and event arrive verified', async ({ site, sign, stored }) => {
    await inProfile(async (profile) => {
      const tab = await profile.tab()
      await tab.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'alice@example.com'}); _gs('auth', ${js(sign('alice@example.com'))}); _gs('event', 'signed-up', {plan: 'pro'});`))
      const events = await stored((e) => e.personId == 'alice@example.com', 3)
      expect(events.map((e) => `${e.type} ${e.name ?? ''} ${e.verdict}`).sort()).toEqual(['event signed-up verified', 'identify  verified', 'pageview  verified'])
      // The browser, system and device type the console counts, from the engine's own User-Agent.
      expect(events.map((e) => e.device)).toEqual(Array(3).fill(DEVICES[name]))
    })
  })

  test('an event right before the page navigates away arrives, once', async ({ site, sign, stored, collector }) => {
    await inProfile(async (profile) => {
      const tab = await profile.tab()
      const next = site.page('<!doctype html><title>next</title><p>next page</p>')
      await tab.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('identify', {id: 'bob'}); _gs('auth', ${js(sign('bob'))});`))
      await tab.run(`(window._gs('event', 'leaving'), location.href = ${js(next)}, 1)`)
      const [left] = await stored((e) => e.name == 'leaving')
      expect(left).toMatchObject({ personId: 'bob', verdict: 'verified' })
      await new Promise((r) => setTimeout(r, 500))
      expect((await collector.events()).filter((e) => e.name == 'leaving')).toHaveLength(1)
    })
  })

  test('an event sent while the collector is down survives a reload, and arrives once it is back', async ({ site, sign, stored, collector }) => {
    await inProfile(async (profile) => {
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
    }).finally(() => collector.up().catch(() => {}))
  })

  test("a logout in one tab: the other tab's next event is anonymous", async ({ site, sign, stored }) => {
    await inProfile(async (profile) => {
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
    })
  })

  test('auth in a later script tag, 1.5 s after identify: every event of the person arrives verified, once, none rejected', async ({ site, sign, collector }) => {
    await inProfile(async (profile) => {
      const tab = await profile.tab()
      const id = `late-${name}`
      await tab.goto(
        site.snippetPage(
          `${WATCH} window.rejected = []; _gs(${js(TOKEN)}); _gs('on', 'rejected', function (r) { rejected.push(r) }); _gs('identify', {id: ${js(id)}}); _gs('event', 'first');`,
          `<script>setTimeout(function () { _gs('auth', ${js(sign(id))}) }, 1500)</script>`,
        ),
      )
      await sleep(1500)
      await gs(tab, 'event', 'after-auth')
      await expect
        .poll(async () => (await collector.events()).filter((e) => e.personId == id).map((e) => e.name || e.type).sort(), { timeout: 15_000 })
        .toEqual(['after-auth', 'first', 'identify', 'pageview'])
      const mine = (await collector.events()).filter((e) => e.personId == id)
      expect(mine.map((e) => e.verdict)).toEqual(['verified', 'verified', 'verified', 'verified'])
      expect(new Set(mine.map((e) => e.id)).size).toBe(4)
      expect(await tab.run('window.rejected')).toEqual([])
      expect(await seen(tab)).toEqual({ errors: [], warnings: [] })
    })
  })

  test("an identity switch in one tab: the next person's events are theirs, none carries the previous person's id", async ({ site, sign, stored, collector }) => {
    await inProfile(async (profile) => {
      const tab = await profile.tab()
      await tab.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('identify', {id: 'erin'}); _gs('auth', ${js(sign('erin'))}); _gs('event', 'as-erin');`))
      await stored((e) => e.name == 'as-erin' && e.personId == 'erin' && e.verdict == 'verified')
      await tab.run(`(_gs('identify', {id: 'frank'}), _gs('auth', ${js(sign('frank'))}), _gs('event', 'as-frank'), 1)`)
      const [frank] = await stored((e) => e.name == 'as-frank')
      expect(frank).toMatchObject({ personId: 'frank', verdict: 'verified' })
      const events = await collector.events()
      expect(events.filter((e) => e.personId == 'erin').map((e) => e.name || e.type).sort()).toEqual(['as-erin', 'identify'])
      expect(events.every((e) => e.verdict == 'verified')).toBe(true)
    })
  })

  test('two tabs, the newest sign-in wins: the older tab sends as the newer person, never as the earlier one', async ({ site, sign, stored, collector }) => {
    await inProfile(async (profile) => {
      const alice = await profile.tab()
      await alice.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'alice'}); _gs('auth', ${js(sign('alice'))});`))
      await stored((e) => e.type == 'pageview' && e.personId == 'alice' && e.verdict == 'verified')
      const bob = await profile.tab()
      await bob.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'bob'}); _gs('auth', ${js(sign('bob'))});`))
      const [bobsPageview] = await stored((e) => e.type == 'pageview' && e.personId == 'bob')
      await expect.poll(() => alice.run(`localStorage.getItem('signet')`)).toContain('"bob"')
      await gs(alice, 'event', 'in-alices-tab')
      const [later] = await stored((e) => e.name == 'in-alices-tab')
      expect(later).toMatchObject({ personId: 'bob', verdict: 'verified', anonymousId: bobsPageview.anonymousId })
      const afterBob = (await collector.events()).filter((e) => e.receivedAt >= bobsPageview.receivedAt)
      expect(afterBob.filter((e) => e.personId == 'alice')).toEqual([])
    })
  })

  // Chromium runs this one on Playwright's fake clock, in seconds (network-and-clock.spec.ts).
  if (name != 'chromium')
    test('a collector that takes a request and never answers (in real time, about 12 s: this driver has no fake clock): the events made meanwhile arrive, each once', async ({ site, collector, stored }) => {
      test.setTimeout(45_000)
      await inProfile(async (profile) => {
        const tab = await profile.tab()
        collector.inject({ hang: true }, 1)
        await tab.goto(site.snippetPage(`${WATCH} _gs(${js(TOKEN)});`))
        await expect.poll(() => collector.requests()).toBe(1)
        for (let i = 0; i < 3; i++) {
          await gs(tab, 'event', `meanwhile-${i}`)
          await sleep(1000)
        }
        // Nothing else is sent while the pageview's request hangs.
        expect(collector.requests()).toBe(1)
        // It is given up 10 s after it started, and retried after the first backoff (at most 1.5 s).
        const events = await stored((e) => e.type == 'pageview' || !!e.name?.startsWith('meanwhile-'), 4)
        expect(events).toHaveLength(4)
        expect(new Set(events.map((e) => e.id)).size).toBe(4)
        expect(collector.requests()).toBe(2)
        expect((await seen(tab)).errors).toEqual([])
      })
    })

  test('events waiting behind a hung request when the tab is closed are handed to the browser on page hide, and arrive', async ({ site, collector, stored }) => {
    await inProfile(async (profile) => {
      const closing = await profile.tab()
      collector.inject({ hang: true }, 1)
      await closing.goto(site.snippetPage(`_gs(${js(TOKEN)});`))
      await expect.poll(() => collector.requests()).toBe(1)
      await closing.run(`(_gs('event', 'before-close', {n: 1}), _gs('event', 'before-close', {n: 2}), 1)`)
      await closing.close()
      const events = await stored((e) => e.name == 'before-close', 2)
      expect(events.map((e) => e.props?.n).sort()).toEqual([1, 2])
    })
  })

  test('a strict nonce CSP: tracking works with no violation', async ({ site, collector, stored }) => {
    await inProfile(async (profile) => {
      const nonce = 'r4nd0m-n0nce'
      const url = site.page(
        `<!doctype html><html><head><title>CSP</title><script nonce="${nonce}">
          ${WATCH}
          window.violations = [];
          document.addEventListener('securitypolicyviolation', function (e) { violations.push(e.violatedDirective + ' ' + e.blockedURI) });
          ${loader(site.trackerUrl)}
          _gs(${js(TOKEN)}); _gs('event', 'under-csp');
        </script></head><body></body></html>`,
        // img-src 'self' for the browser's own favicon request, which Firefox and WebKit check against it.
        { 'Content-Security-Policy': `default-src 'none'; img-src 'self'; script-src 'nonce-${nonce}'; connect-src ${collector.url}` },
      )
      const tab = await profile.tab()
      await tab.goto(url)
      await stored((e) => e.name == 'under-csp')
      await stored((e) => e.type == 'pageview')
      await sleep(200)
      expect(await tab.run('window.violations')).toEqual([])
      expect((await seen(tab)).errors).toEqual([])
    })
  })

  test('a sandboxed iframe, where storage throws: signed tracking works, no page error', async ({ site, sign, stored }) => {
    await inProfile(async (profile) => {
      const inner = site.snippetPage(
        `_gs(${js(TOKEN)}); _gs('identify', {id: 'gina'}); _gs('auth', ${js(sign('gina'))});
         var storageWorks = true; try { localStorage.length } catch (e) { storageWorks = false }
         _gs('event', 'from-sandbox', {storageWorks: storageWorks});`,
      )
      const tab = await profile.tab()
      await tab.goto(site.page(`<!doctype html><title>host</title><script>${WATCH}</script><iframe sandbox="allow-scripts" src="${inner}"></iframe>`))
      const [e] = await stored((e) => e.name == 'from-sandbox')
      expect(e).toMatchObject({ personId: 'gina', verdict: 'verified', props: { storageWorks: false } })
      expect((await stored((e) => e.type == 'pageview'))[0]).toMatchObject({ personId: 'gina', verdict: 'verified' })
      expect((await seen(tab)).errors).toEqual([])
    })
  })

  test('single-page app route changes send pageviews; a new query string alone does not', async ({ site, stored }) => {
    await inProfile(async (profile) => {
      const tab = await profile.tab()
      await tab.goto(site.snippetPage(`_gs(${js(TOKEN)});`))
      await stored((e) => e.type == 'pageview')
      await tab.run(`(history.pushState(null, '', '/app/one'), history.replaceState(null, '', '/app/one?tab=2'), history.pushState(null, '', '/app/two'), 1)`)
      await stored((e) => e.type == 'pageview', 3)
      await tab.run('(history.back(), 1)')
      const views = await stored((e) => e.type == 'pageview', 4)
      expect(views.map((e) => new URL(e.page!.url!).pathname + new URL(e.page!.url!).search)).toEqual([
        expect.stringMatching(/^\/page-\d+$/),
        '/app/one',
        '/app/two',
        '/app/one?tab=2',
      ])
    })
  })
})
