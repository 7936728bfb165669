import { readFileSync } from 'node:fs'
import { expect, test, TOKEN } from './fixtures'

const js = JSON.stringify

// GoSquared's published loader, byte for byte (from its Secure Mode page), with only its script URL changed.
function goSquaredSnippet(trackerUrl: string): string {
  const snippet = readFileSync(new URL('./pages/gosquared-snippet.js', import.meta.url), 'utf8')
  expect(snippet).toContain("d.src='//d1l6p2sc9645hc.cloudfront.net/tracker.js'")
  return snippet.replace('//d1l6p2sc9645hc.cloudfront.net/tracker.js', trackerUrl)
}

test("GoSquared's own snippet works unchanged but for its URL", async ({ page, site, sign, stored }) => {
  await page.goto(
    site.page(
      `<!doctype html><html><head><title>GS</title><script>${goSquaredSnippet(site.trackerUrl)}
_gs(${js(TOKEN)});
_gs('identify', {id: 123456});
_gs('auth', ${js(sign('123456'))});</script></head><body></body></html>`,
    ),
  )
  const [pageview] = await stored((e) => e.type == 'pageview')
  expect(pageview).toMatchObject({ personId: '123456', verdict: 'verified', page: { title: 'GS' } })
})

test('loading the tracker twice sends one pageview and keeps one live _gs', async ({ page, site, stored, sent, collector }) => {
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)});`, `<script src="${site.trackerUrl}"></script>`))
  await stored((e) => e.type == 'pageview')
  await page.addScriptTag({ url: site.trackerUrl })
  await page.evaluate(() => (window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', 'once'))
  await stored((e) => e.name == 'once')
  await page.waitForTimeout(200)
  expect(sent.map((e) => e.type)).toEqual(['pageview', 'event'])
  expect(await collector.events()).toHaveLength(2)
})

test('an event fired on a link click that navigates away still arrives', async ({ page, site, stored }) => {
  const next = site.page('<!doctype html><title>Next</title><p>next page, no tracker</p>')
  await page.goto(
    site.snippetPage(
      `_gs(${js(TOKEN)}, false);`,
      `<a id="out" href="${next}" onclick="_gs('event', 'outbound', {to: this.href})">leave</a>`,
    ),
  )
  await page.waitForFunction(() => typeof (window as unknown as { _gs: { v?: number } })._gs.v == 'number')
  await Promise.all([page.waitForURL(next), page.click('#out')])
  const [outbound] = await stored((e) => e.name == 'outbound')
  expect(outbound.props).toEqual({ to: next })
})

test('the default endpoint is the origin the tracker was loaded from', async ({ page, site, collector }) => {
  const requests: string[] = []
  page.on('request', (r) => {
    if (r.method() == 'POST') requests.push(r.url())
  })
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)});`))
  await expect.poll(() => requests).toEqual([collector.url + '/track'])
})
