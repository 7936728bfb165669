import { expect, noPageErrors, test, TOKEN } from './fixtures'

// Issue 13 in Chromium against the reference collector: a signed identity that cannot outlive its
// person, storage that cannot plant signed events, a prototype that cannot redirect them.
const js = JSON.stringify
const MIN = 60_000

test('a shared computer: the next visitor after the idle window is anonymous, though the storage is kept', async ({ context, page, site, sign, stored }) => {
  const start = Date.now()
  await page.clock.install({ time: start })
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'a'}); _gs('auth', ${js(sign('a'))});`))
  const [a] = await stored((e) => e.type == 'pageview' && e.personId == 'a' && e.verdict == 'verified')
  // Person A closes the browser without logging out; 20 minutes later they are still signed in here.
  await page.close()
  const later = await context.newPage()
  await later.clock.setSystemTime(start + 20 * MIN)
  await later.goto(site.snippetPage(`_gs(${js(TOKEN)});`))
  await stored((e) => e.type == 'pageview' && e.personId == 'a', 2)
  await later.close()
  // Hours later person B opens the site in the same profile, on pages that identify nobody.
  const b = await context.newPage()
  const errors = noPageErrors(b)
  const states: string[] = []
  await b.exposeFunction('reportState', (s: string) => states.push(s))
  await b.clock.setSystemTime(start + 20 * MIN + 31 * MIN)
  await b.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('on', 'state', reportState); _gs('event', 'search', {q: 'divorce lawyer'});`))
  const [search] = await stored((e) => e.name == 'search')
  expect(search.personId).toBeUndefined()
  expect(search.verdict).toBe('anonymous')
  expect(search.anonymousId).not.toBe(a.anonymousId)
  const [pageview] = await stored((e) => e.type == 'pageview' && e.anonymousId == search.anonymousId)
  expect(pageview.personId).toBeUndefined()
  await expect.poll(() => states).toEqual(['anonymous'])
  // A's signature is no longer in the identity record. (An event A tracked and a closed page left
  // undelivered keeps its signature until this page delivers it, for A.)
  expect(await b.evaluate(() => localStorage.getItem('signet'))).not.toContain(sign('a'))
  expect(errors).toEqual([])
})

test('an event planted in storage, waiting for a signature, is never signed when its person signs in', async ({ context, page, site, sign, sent, collector, stored }) => {
  // A script that runs once while nobody is signed in writes a backlog for person A, waiting since the future.
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}, false);`))
  await page.evaluate(() => {
    const e = { id: 'planted-1', type: 'event', name: 'transfer_approved', ts: Date.now(), anonymousId: 'x', personId: 'a' }
    localStorage.setItem('signet_q_evil', JSON.stringify({ p: 'GSN-E2E-1', i: [{ e, w: Date.now() + 1e9 }] }))
  })
  await page.close()
  const next = await context.newPage()
  const dropped: unknown[] = []
  await next.exposeFunction('reportDropped', (d: unknown) => dropped.push(d))
  await next.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('on', 'dropped', reportDropped); _gs('identify', {id: 'a'}); _gs('auth', ${js(sign('a'))});`))
  await expect.poll(() => dropped).toEqual([{ count: 1, reason: 'stale' }])
  await next.evaluate(() => (window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', 'after'))
  await stored((e) => e.name == 'after' && e.verdict == 'verified')
  expect(await next.evaluate(() => Object.keys(localStorage).filter((k) => k == 'signet_q_evil'))).toEqual([])
  expect(sent.some((e) => e.id == 'planted-1')).toBe(false)
  expect((await collector.events()).some((e) => e.id == 'planted-1')).toBe(false)
})

test('a polluted Object.prototype before the tracker loads changes nothing sent, or where', async ({ page, site, sign, collector, stored, warnings }) => {
  const elsewhere: string[] = []
  page.on('request', (r) => {
    if (!r.url().startsWith(collector.url) && !r.url().startsWith(new URL(site.trackerUrl).origin) && !r.url().includes('/page-')) elsewhere.push(r.url())
  })
  // q too: the snippet's stub must not take a q on Object.prototype for its queue.
  const pollute = `Object.assign(Object.prototype, {endpoint: 'https://evil.example/steal', secure: true, pageview: false, requireConsent: true,
    privacySignals: true, id: 'evil', signature: ${js('e'.repeat(64))}, p: 'evil', s: ${js('e'.repeat(64))}, w: 1, v: 1, q: [['identify', {id: 'evil'}]]});`
  await page.goto(site.snippetPage(`${pollute} _gs(${js(TOKEN)}); _gs('identify', {id: 'a', plan: 'pro'}); _gs('auth', ${js(sign('a'))}); _gs('event', 'signed-up');`))
  const [event] = await stored((e) => e.name == 'signed-up')
  expect(event).toMatchObject({ personId: 'a', verdict: 'verified' })
  await stored((e) => e.type == 'pageview' && e.personId == 'a' && e.verdict == 'verified')
  expect((await collector.events()).some((e) => e.personId == 'evil')).toBe(false)
  expect(elsewhere).toEqual([])
  expect(warnings).toEqual([])
})
