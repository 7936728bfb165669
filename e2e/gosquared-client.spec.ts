import { chromium } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { launchOptions } from './chromium'
import { expect, test, TOKEN } from './fixtures'

// Issue 14: a GoSquared site switching by one URL. A third-party client from npm drives _gs its own
// way: `analytics` with its `@analytics/gosquared` plugin, unmodified, which loads GoSquared's
// tracker from GoSquared's CDN URL and sends GoSquared's settings. Chromium maps that CDN host to
// the collector (--host-resolver-rules), so tracker.js and its requests go to Signet; the site
// itself is on shop.test, not localhost, because the plugin sets trackLocal false.
const require = createRequire(import.meta.url)
const ANALYTICS = readFileSync(require.resolve('analytics/dist/analytics.min.js'), 'utf8')
const PLUGIN = readFileSync(join(dirname(require.resolve('@analytics/gosquared/package.json')), 'lib/analytics-plugin-gosquared.browser.es.js'), 'utf8')
const CDN = 'd1l6p2sc9645hc.cloudfront.net'

test('the analytics library’s GoSquared plugin: identify, track, page and reset arrive, signed where the page gave auth, with no warning', async ({
  collector,
  site,
  sign,
  stored,
}) => {
  const port = (url: string) => new URL(url).port
  const browser = await chromium.launch(
    launchOptions(`--host-resolver-rules=MAP ${CDN} 127.0.0.1:${port(collector.url)}, MAP shop.test 127.0.0.1:${port(site.ownTrackerUrl)}`),
  )
  try {
    const onShop = (url: string) => url.replace(/^http:\/\/localhost/, 'http://shop.test')
    const plugin = onShop(site.page(PLUGIN, { 'Content-Type': 'text/javascript; charset=utf-8' }))
    const page = await (await browser.newContext()).newPage()
    // The library queues every call while navigator.onLine is false, which Chromium reports on a
    // machine with only a loopback or intranet interface though the collector is reachable: the
    // test says online whatever the machine's network (Signet itself never reads it).
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'onLine', { get: () => true }))
    const warnings: string[] = []
    const requests: string[] = []
    page.on('console', (m) => m.type() == 'warning' && warnings.push(m.text()))
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(
      onShop(
        site.page(`<!doctype html><html><head><title>Shop</title><script>${ANALYTICS}</script>
<script type="module">
import goSquaredPlugin from ${JSON.stringify(plugin)}
const analytics = _analytics.init({ app: 'shop', plugins: [goSquaredPlugin({ projectToken: ${JSON.stringify(TOKEN)} })] })
window.analytics = analytics
// Until its plugins are ready the library queues calls and may hand them over in another order.
await new Promise((resolve) => analytics.ready(resolve))
await analytics.identify('u-41', { name: 'Ann', plan: 'pro' })
_gs('auth', ${JSON.stringify(sign('u-41'))})
await analytics.page()
await analytics.track('cartCheckout', { item: 'pink socks', price: 20 })
window.done = true
</script></head><body>shop</body></html>`),
      ),
    )
    await page.waitForFunction(() => (window as unknown as { done?: boolean }).done)
    const [identify] = await stored((e) => e.type == 'identify')
    expect(identify).toMatchObject({ personId: 'u-41', verdict: 'verified', props: { name: 'Ann', custom: { plan: 'pro' } } })
    const [checkout] = await stored((e) => e.name == 'cartCheckout')
    expect(checkout).toMatchObject({ personId: 'u-41', verdict: 'verified', props: { item: 'pink socks', price: 20 } })
    // GoSquared's automatic pageview when the plugin gives the token (anonymous if tracker.js ran
    // its queue before identify, else signed), then analytics.page(), signed.
    const pageviews = await stored((e) => e.type == 'pageview', 2)
    expect(pageviews[pageviews.length - 1]).toMatchObject({ personId: 'u-41', verdict: 'verified' })
    for (const e of pageviews) expect([e.personId, e.verdict]).toEqual(e.personId ? ['u-41', 'verified'] : [undefined, 'anonymous'])
    expect(pageviews.every((e) => e.page!.url!.startsWith('http://shop.test'))).toBe(true)
    await page.evaluate(() => (window as unknown as { analytics: { reset(): Promise<void> } }).analytics.reset())
    await page.evaluate(() => (window as unknown as { analytics: { track(n: string): Promise<void> } }).analytics.track('after-reset'))
    const [after] = await stored((e) => e.name == 'after-reset')
    expect(after.personId).toBeUndefined()
    expect(after.verdict).toBe('anonymous')
    expect(after.anonymousId).not.toBe(identify.anonymousId)
    // tracker.js came from GoSquared's URL, and every event went to that origin (the collector).
    expect(requests).toContain(`http://${CDN}/tracker.js`)
    expect(requests.filter((u) => u.includes('/track') && !u.endsWith('tracker.js')).every((u) => u == `http://${CDN}/track`)).toBe(true)
    expect(warnings).toEqual([])
  } finally {
    await browser.close()
  }
})
