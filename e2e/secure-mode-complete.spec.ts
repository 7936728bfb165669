import { personSignature } from '../src/server/verify/signature'
import { call, expect, MAX_AGE, ROTATING, test, TOKEN, TOKEN_PROJECT } from './fixtures'

const js = JSON.stringify

test('secure mode holds identified events, then signs them when auth arrives late', async ({ page, site, sign, stored, sent, collector }) => {
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}, {secure: true}); _gs('identify', {id: 'late'}); _gs('event', 'early');`))
  await page.waitForTimeout(500)
  expect(sent).toEqual([])
  expect(await collector.events()).toEqual([])
  await page.evaluate(`_gs('auth', ${js(sign('late'))})`)
  const events = await stored((e) => e.personId == 'late', 3)
  expect(events.map((e) => [e.type, e.name, e.verdict])).toEqual([
    ['identify', undefined, 'verified'],
    ['event', 'early', 'verified'],
    ['pageview', undefined, 'verified'],
  ])
  await expect.poll(() => sent.length).toBeGreaterThanOrEqual(3)
  expect(sent.every((e) => e.signature == sign('late'))).toBe(true)
})

test("a provider backed by the site's own route signs events, and only for the id it was asked", async ({ page, site, sign, stored, sent }) => {
  const asked: string[] = []
  site.route('/sign', (url) => {
    asked.push(url.searchParams.get('id')!)
    return sign(url.searchParams.get('id')!)
  })
  await page.goto(
    site.snippetPage(
      `_gs(${js(TOKEN)}); _gs('auth', function (id) { return fetch('/sign?id=' + encodeURIComponent(id)).then(function (r) { return r.text() }) }); _gs('identify', {id: 'prov-1'});`,
    ),
  )
  await stored((e) => e.personId == 'prov-1' && e.type == 'pageview')
  await call(page, ['identify', { id: 'prov-2' }], ['event', 'as-2'])
  const [as2] = await stored((e) => e.name == 'as-2')
  expect(as2).toMatchObject({ personId: 'prov-2', verdict: 'verified' })
  expect(asked).toEqual(['prov-1', 'prov-2'])
  for (const e of sent) expect(e.signature).toBe(sign(e.personId!))
})

test("a fresh verification token is accepted; an expired one is rejected and reported through 'rejected'", async ({ page, site, token, stored }) => {
  await page.goto(
    site.snippetPage(
      `window.rejections = []; _gs('on', 'rejected', function (r) { rejections.push(r) });
       _gs(${js(TOKEN_PROJECT)}, false); _gs('identify', {id: 'tok-user'}); _gs('auth', ${js(token('tok-user'))}); _gs('event', 'fresh');`,
    ),
  )
  const [fresh] = await stored((e) => e.name == 'fresh')
  expect(fresh).toMatchObject({ personId: 'tok-user', verdict: 'verified' })
  await call(page, ['identify', { id: 'old-user' }], ['auth', token('old-user', MAX_AGE + 60)], ['event', 'stale'])
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { rejections: unknown[] }).rejections))
    .toEqual([{ reason: 'expired_signature', personId: 'old-user', eventIds: [expect.any(String), expect.any(String)] }])
})

test('an expired token is refreshed by the provider and the events re-sent with their ids', async ({ page, site, token, stored, sent }) => {
  let calls = 0
  // The first answer is an old token (as a cached one would be); the second a fresh one.
  site.route('/token', (url) => token(url.searchParams.get('id')!, calls++ == 0 ? MAX_AGE + 60 : 0))
  await page.goto(
    site.snippetPage(
      `_gs(${js(TOKEN_PROJECT)}, false); _gs('auth', function (id) { return fetch('/token?id=' + id).then(function (r) { return r.text() }) }); _gs('identify', {id: 'refresh-me'}); _gs('event', 'needs-refresh');`,
    ),
  )
  const [event] = await stored((e) => e.name == 'needs-refresh')
  expect(event.verdict).toBe('verified')
  // The page's request events reach the test apart from the collector's answer: wait for the second.
  await expect.poll(() => sent.filter((e) => e.name == 'needs-refresh').length).toBe(2)
  const attempts = sent.filter((e) => e.name == 'needs-refresh')
  expect(attempts[0].id).toBe(attempts[1].id)
  expect(attempts[0].signature).not.toBe(attempts[1].signature)
})

test('the Help Scout Beacon adapter produces signed, accepted events, including calls queued before it loaded', async ({ page, site, sign, stored, collector }) => {
  await page.goto(
    site.snippetPage(
      `window.Beacon = function (m, o, d) { (Beacon.readyQueue = Beacon.readyQueue || []).push({method: m, options: o, data: d}) };
       Beacon('init', ${js(TOKEN)});
       Beacon('identify', {name: 'Hana', email: 'hana@example.com', signature: ${js(sign('hana@example.com'))}});`,
      `<script src="${collector.url}/adapters/beacon.js"></script>`,
    ),
  )
  await stored((e) => e.personId == 'hana@example.com' && e.type == 'pageview')
  await page.evaluate(() => {
    const Beacon = (window as unknown as { Beacon: (...a: unknown[]) => void }).Beacon
    Beacon('event', { type: 'page-viewed', url: '/help/article', title: 'An article' })
    Beacon('event', { type: 'chat-started', topic: 'billing' })
    Beacon('logout')
    Beacon('event', { type: 'after-logout' })
  })
  const all = await stored(() => true, 5)
  expect(all.map((e) => [e.type, e.name, e.personId, e.verdict])).toEqual([
    ['identify', undefined, 'hana@example.com', 'verified'],
    ['pageview', undefined, 'hana@example.com', 'verified'],
    ['pageview', undefined, 'hana@example.com', 'verified'],
    ['event', 'chat-started', 'hana@example.com', 'verified'],
    ['event', 'after-logout', undefined, 'anonymous'],
  ])
  expect(all[2].page).toMatchObject({ url: expect.stringMatching(/\/help\/article$/), title: 'An article' })
  expect(all.find((e) => e.name == 'chat-started')!.props).toEqual({ topic: 'billing' })
})

test('the Engagespot adapter produces signed, accepted events', async ({ page, site, sign64, stored, collector }) => {
  await page.goto(site.snippetPage('', `<script src="${collector.url}/adapters/engagespot.js"></script>`))
  await page.waitForFunction(() => 'Engagespot' in window)
  await page.evaluate(
    ([token, sig]) => {
      const Engagespot = (window as unknown as { Engagespot: new (k: string, o: object) => unknown }).Engagespot
      new Engagespot(token, { userId: 'ivy@example.com', userSignature: sig })
      ;(window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', 'engaged')
    },
    [TOKEN, sign64('ivy@example.com')],
  )
  const [engaged] = await stored((e) => e.name == 'engaged')
  expect(engaged).toMatchObject({ personId: 'ivy@example.com', verdict: 'verified' })
})

test('neither adapter replaces a real vendor global already on the page', async ({ page, site, collector, warnings }) => {
  await page.goto(
    site.snippetPage(
      `window.Beacon = function realBeacon() {}; window.Engagespot = function RealEngagespot() {};`,
      `<script src="${collector.url}/adapters/beacon.js"></script><script src="${collector.url}/adapters/engagespot.js"></script>`,
    ),
  )
  await expect.poll(() => warnings.length).toBe(2)
  expect(await page.evaluate(() => [(window as unknown as { Beacon: { name: string } }).Beacon.name, (window as unknown as { Engagespot: { name: string } }).Engagespot.name])).toEqual([
    'realBeacon',
    'RealEngagespot',
  ])
})

test('during a secret rotation both the old and the new secret are accepted', async ({ page, site, secret, newSecret, stored, answers }) => {
  await page.goto(site.snippetPage(`_gs(${js(ROTATING)}, false);`))
  await call(
    page,
    ['identify', { id: 'rot-old', signature: personSignature(secret, 'rot-old') }],
    ['event', 'old-secret'],
    ['identify', { id: 'rot-new', signature: personSignature(newSecret, 'rot-new') }],
    ['event', 'new-secret'],
    ['identify', { id: 'rot-retired', signature: personSignature('retired-secret', 'rot-retired') }],
    ['event', 'retired-secret'],
  )
  const accepted = await stored((e) => e.type == 'event', 2)
  expect(accepted.map((e) => [e.name, e.verdict])).toEqual([
    ['old-secret', 'verified'],
    ['new-secret', 'verified'],
  ])
  await expect.poll(() => answers.flatMap((a) => a.rejected.map((r) => r.reason))).toEqual(['bad_signature', 'bad_signature'])
})
