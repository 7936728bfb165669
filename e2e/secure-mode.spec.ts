import { expect, noPageErrors, test, TOKEN } from './fixtures'
import { renderSnippet } from '../src/server/http/snippet'

const js = JSON.stringify

test('identify + auth queued in the snippet give a signed first pageview that is accepted', async ({ page, site, sign, sent, answers, stored }) => {
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 123456, name: 'Ann'}); _gs('auth', ${js(sign('123456'))});`))
  const [pageview] = await stored((e) => e.type == 'pageview')
  expect(pageview).toMatchObject({ personId: '123456', verdict: 'verified', page: { title: 'E2E page' } })
  await stored((e) => e.type == 'identify' && e.verdict == 'verified')
  // The page's request events reach the test apart from what the collector stored: polled.
  await expect
    .poll(() => sent.map((e) => [e.type, e.personId, e.signature]))
    .toEqual([
      ['identify', '123456', sign('123456')],
      ['pageview', '123456', sign('123456')],
    ])
  await expect.poll(() => answers.flatMap((a) => a.rejected)).toEqual([])
})

test('a forged signature is rejected, reported to the page, and nothing is stored for that person', async ({ page, site, answers, warnings, collector }) => {
  const forged = 'ab'.repeat(32)
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'victim'}); _gs('auth', ${js(forged)});`))
  await expect.poll(() => answers.flatMap((a) => a.rejected.map((r) => r.reason))).toEqual(['bad_signature', 'bad_signature'])
  await expect.poll(() => warnings).toContain('[signet] 2 event(s) rejected: bad_signature, bad_signature')
  expect((await collector.events()).filter((e) => e.personId == 'victim')).toEqual([])
})

test("an identity switch never carries the previous person's signature", async ({ page, site, sign, sent, stored, answers }) => {
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('identify', {id: 'alice'}); _gs('auth', ${js(sign('alice'))});`))
  await page.evaluate(() => {
    const gs = (window as unknown as { _gs: (...a: unknown[]) => void })._gs
    gs('event', 'as-alice')
    gs('identify', { id: 'bob' })
    gs('event', 'bob-unsigned')
  })
  await expect.poll(() => answers.flatMap((a) => a.rejected.map((r) => r.reason))).toEqual(['missing_signature', 'missing_signature'])
  await page.evaluate((sig) => {
    const gs = (window as unknown as { _gs: (...a: unknown[]) => void })._gs
    gs('auth', sig)
    gs('event', 'bob-signed')
  }, sign('bob'))
  await stored((e) => e.name == 'bob-signed' && e.verdict == 'verified' && e.personId == 'bob')
  for (const e of sent.filter((e) => e.personId == 'bob')) expect(e.signature).not.toBe(sign('alice'))
  expect(sent.filter((e) => e.signature == sign('alice')).every((e) => e.personId == 'alice')).toBe(true)
  expect((await stored((e) => e.name == 'as-alice'))[0].verdict).toBe('verified')
})

test('unidentify yields anonymous events under a new anonymous id, which survives a reload', async ({ page, site, sign, stored }) => {
  const url = site.snippetPage(`_gs(${js(TOKEN)});`)
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'carol'}); _gs('auth', ${js(sign('carol'))});`))
  const [signedIn] = await stored((e) => e.type == 'pageview' && e.personId == 'carol')
  await page.evaluate(() => {
    const gs = (window as unknown as { _gs: (...a: unknown[]) => void })._gs
    gs('unidentify')
    gs('event', 'after-logout')
  })
  const [after] = await stored((e) => e.name == 'after-logout')
  expect(after.personId).toBeUndefined()
  expect(after.verdict).toBe('anonymous')
  expect(after.anonymousId).not.toBe(signedIn.anonymousId)
  await page.goto(url)
  const pageviews = await stored((e) => e.type == 'pageview', 2)
  expect(pageviews[1]).toMatchObject({ anonymousId: after.anonymousId, verdict: 'anonymous' })
  expect(pageviews[1].personId).toBeUndefined()
})

test('the signed person persists across page loads with its signature', async ({ page, site, sign, stored }) => {
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'dana'}); _gs('auth', ${js(sign('dana'))});`))
  await stored((e) => e.type == 'pageview')
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)});`))
  const views = await stored((e) => e.type == 'pageview', 2)
  expect(views.map((e) => [e.personId, e.verdict])).toEqual([
    ['dana', 'verified'],
    ['dana', 'verified'],
  ])
})

test('the Help Scout Beacon and Engagespot identify shapes are accepted', async ({ page, site, sign, sign64, stored }) => {
  await page.goto(
    site.snippetPage(
      `_gs(${js(TOKEN)}, false); _gs('identify', {name: 'Erin', email: 'erin@example.com', signature: ${js(sign('erin@example.com'))}}); _gs('event', 'beacon-shape');`,
    ),
  )
  const [beacon] = await stored((e) => e.name == 'beacon-shape')
  expect(beacon).toMatchObject({ personId: 'erin@example.com', verdict: 'verified' })
  await page.evaluate((sig) => {
    const gs = (window as unknown as { _gs: (...a: unknown[]) => void })._gs
    gs('identify', { userId: 'frank-42', userSignature: sig })
    gs('event', 'engagespot-shape')
  }, sign64('frank-42'))
  const [engage] = await stored((e) => e.name == 'engagespot-shape')
  expect(engage).toMatchObject({ personId: 'frank-42', verdict: 'verified' })
  const identifies = await stored((e) => e.type == 'identify', 2)
  expect(identifies.map((e) => [e.personId, e.verdict, e.props])).toEqual([
    ['erin@example.com', 'verified', { name: 'Erin', email: 'erin@example.com' }],
    ['frank-42', 'verified', {}],
  ])
})

test('a barrage of bad calls leaves no page error, one warning each, and tracking working', async ({ page, site, stored, warnings }) => {
  const errors = noPageErrors(page)
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}, false);`))
  const count = await page.evaluate(() => {
    const gs = (window as unknown as { _gs: (...a: unknown[]) => void })._gs
    const cyclic: Record<string, unknown> = {}
    cyclic.me = cyclic
    const calls: unknown[][] = [
      [],
      [undefined],
      [{}],
      [Symbol('x')],
      ['event'],
      ['event', 7],
      ['event', 'x', cyclic],
      ['event', 'x', { big: BigInt(1) }],
      ['event', 'x', Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('getter') } })],
      ['identify', null],
      ['identify', { id: { nested: true } }],
      ['identify', new Proxy({}, { ownKeys: () => { throw new Error('proxy') } })],
      ['auth', ''],
      ['auth', ['not', 'a', 'string']],
      ['properties', 'nope'],
      ['track', {}],
      ['__proto__', 'x'],
      ['constructor', 'x'],
      ['toString', 1],
    ]
    for (const c of calls) gs(...c)
    gs('event', 'survivor')
    return calls.length
  })
  await stored((e) => e.name == 'survivor')
  expect(errors).toEqual([])
  // Console messages reach the test asynchronously, apart from the requests: wait for them to arrive,
  // then check that no more follow.
  await expect.poll(() => warnings.length).toBeGreaterThanOrEqual(count)
  await page.waitForTimeout(300)
  expect(warnings).toHaveLength(count)
  expect(({} as Record<string, unknown>).x).toBeUndefined()
})

test('storage that throws does not stop tracking', async ({ page, site, sign, stored }) => {
  await page.addInitScript(() => {
    Object.defineProperty(window, 'localStorage', { get: () => { throw new DOMException('denied', 'SecurityError') } })
  })
  const errors = noPageErrors(page)
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'gina'}); _gs('auth', ${js(sign('gina'))});`))
  expect((await stored((e) => e.type == 'pageview'))[0]).toMatchObject({ personId: 'gina', verdict: 'verified' })
  expect(errors).toEqual([])
})

test('renderSnippet writes identify and auth for a server-rendered page: a hostile name stays a string, the events are signed', async ({ page, site, sign, stored }) => {
  const id = 'ann</script><script>window.pwned=1</script>'
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const html = renderSnippet({ src: site.trackerUrl, token: TOKEN, identify: { id, name: 'Ann\u2028<!--', email: 'ann@example.com' }, signature: sign(id) })
  await page.goto(site.page(`<!doctype html><html><head><title>E2E page</title>${html}</head><body></body></html>`))
  const [pageview] = await stored((e) => e.type == 'pageview')
  expect(pageview).toMatchObject({ personId: id, verdict: 'verified' })
  const [identify] = await stored((e) => e.type == 'identify')
  expect(identify.props).toMatchObject({ name: 'Ann\u2028<!--', email: 'ann@example.com' })
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined()
  expect(errors).toEqual([])
})
