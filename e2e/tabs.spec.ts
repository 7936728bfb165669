import type { Page } from '@playwright/test'
import { call, expect, noPageErrors, requestBatch, test, TOKEN } from './fixtures'

// Issue 23 in Chromium against the reference collector: several tabs of one browser (pages of one
// context share their storage, as a site's tabs do), each with a clock of its own.
const js = JSON.stringify
const MIN = 60_000

// Tabs may run in different renderer processes, whose copies of localStorage Chromium brings up to
// date asynchronously, within milliseconds (CI has run a tab's next call first): a tab acts on
// another's write once its copy has it, as a person switching tabs would find.
// (Both are read each time: the writing tab may write again meanwhile.)
const record = (page: Page) => page.evaluate(() => localStorage.getItem('signet'))
const caughtUp = async (from: Page, to: Page) => {
  await expect.poll(async () => (await record(to)) === (await record(from)), { message: 'the tabs read the same identity record' }).toBe(true)
}

test("Bob signs in while Alice's tab stays open: her idle tab, and Bob's next page, never send as Alice", async ({ context, site, sign, stored, collector }) => {
  // One clock for the context: every tab of it sees the same time, as the tabs of a browser do.
  await context.clock.install()
  const alice = await context.newPage()
  const errors = noPageErrors(alice)
  await alice.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'alice'}); _gs('auth', ${js(sign('alice'))});`))
  await context.clock.runFor(100)
  await stored((e) => e.type == 'pageview' && e.personId == 'alice' && e.verdict == 'verified')
  await context.clock.fastForward(MIN)
  const bob = await context.newPage()
  await bob.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'bob'}); _gs('auth', ${js(sign('bob'))});`))
  await context.clock.runFor(100)
  const [bobsPageview] = await stored((e) => e.type == 'pageview' && e.personId == 'bob')
  // A few minutes later Alice's tab tracks something: it is Bob's browser now.
  await context.clock.fastForward(3 * MIN)
  await caughtUp(bob, alice)
  await call(alice, ['event', 'in-alices-tab'])
  await context.clock.runFor(100)
  const [later] = await stored((e) => e.name == 'in-alices-tab')
  expect(later).toMatchObject({ personId: 'bob', verdict: 'verified' })
  // Bob's next page identifies nobody.
  await context.clock.fastForward(MIN)
  const next = await context.newPage()
  await next.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('event', 'bobs-next-page');`))
  await context.clock.runFor(100)
  const [nextEvent] = await stored((e) => e.name == 'bobs-next-page')
  expect(nextEvent).toMatchObject({ personId: 'bob', verdict: 'verified', anonymousId: bobsPageview.anonymousId })
  const afterBob = (await collector.events()).filter((e) => e.receivedAt >= bobsPageview.receivedAt)
  expect(afterBob.filter((e) => e.personId == 'alice')).toEqual([])
  expect(errors).toEqual([])
})

test('Alice logs out in one of her two tabs: the other tab’s next event is anonymous', async ({ context, site, sign, stored }) => {
  const open = async () => {
    const page = await context.newPage()
    await page.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('identify', {id: 'alice'}); _gs('auth', ${js(sign('alice'))});`))
    return page
  }
  const one = await open()
  const two = await open()
  await call(two, ['event', 'signed-in'])
  expect((await stored((e) => e.name == 'signed-in'))[0]).toMatchObject({ personId: 'alice', verdict: 'verified' })
  await call(one, ['unidentify'])
  await caughtUp(one, two)
  await call(two, ['event', 'after-logout'])
  const [after] = await stored((e) => e.name == 'after-logout')
  expect(after.personId).toBeUndefined()
  expect(after.verdict).toBe('anonymous')
  await call(one, ['event', 'in-the-other'])
  expect((await stored((e) => e.name == 'in-the-other'))[0].anonymousId).toBe(after.anonymousId)
  expect(await record(two)).not.toContain('"p"')
})

test('the identity lifetime counts activity in any tab, and ends in every tab when all are idle', async ({ context, site, sign, stored }) => {
  await context.clock.install()
  const open = async (calls: string) => {
    const page = await context.newPage()
    await page.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); ${calls}`))
    return page
  }
  const idle = await open(`_gs('identify', {id: 'alice'}); _gs('auth', ${js(sign('alice'))});`)
  const busy = await open('')
  for (let i = 0; i < 3; i++) {
    await context.clock.fastForward(20 * MIN)
    await call(busy, ['event', `busy-${i}`])
  }
  await caughtUp(busy, idle)
  // An hour since the idle tab did anything: the busy one kept Alice.
  await call(idle, ['event', 'idle-60'])
  await context.clock.runFor(100)
  expect((await stored((e) => e.name == 'idle-60'))[0]).toMatchObject({ personId: 'alice', verdict: 'verified' })
  await context.clock.fastForward(31 * MIN)
  await call(idle, ['event', 'idle-91'])
  await caughtUp(idle, busy)
  await call(busy, ['event', 'busy-91'])
  await context.clock.runFor(100)
  const [a] = await stored((e) => e.name == 'idle-91')
  const [b] = await stored((e) => e.name == 'busy-91')
  expect([a.personId, a.verdict, b.personId, b.anonymousId]).toEqual([undefined, 'anonymous', undefined, a.anonymousId])
  expect(await record(busy)).not.toContain(sign('alice'))
})

test("events waiting in Alice's tab for her signature are never signed for Bob, who signed in in another tab", async ({ context, site, sign, stored }) => {
  const alice = await context.newPage()
  const rejected: unknown[] = []
  await alice.exposeFunction('reportRejected', (r: unknown) => rejected.push(r))
  await alice.goto(
    site.snippetPage(
      `_gs(${js(TOKEN)}, {pageview: false, secure: true, authTimeout: 1500}); _gs('on', 'rejected', reportRejected); _gs('identify', {id: 'alice'}); _gs('event', 'alices-wait');`,
    ),
  )
  const bob = await context.newPage()
  await bob.goto(site.snippetPage(`_gs(${js(TOKEN)}, {pageview: false}); _gs('identify', {id: 'bob'}); _gs('auth', ${js(sign('bob'))});`))
  await caughtUp(bob, alice)
  await call(alice, ['event', 'after-bob'])
  const [afterBob] = await stored((e) => e.name == 'after-bob')
  expect(afterBob).toMatchObject({ personId: 'bob', verdict: 'verified' })
  // Alice's waiting events go out unsigned when her wait times out, and are refused: never Bob's.
  await expect.poll(() => rejected, { timeout: 10_000 }).toEqual([expect.objectContaining({ reason: 'missing_signature', personId: 'alice' })])
  expect((await stored(() => true)).filter((e) => e.name == 'alices-wait')).toEqual([])
})

/** Every event id in a POST /track a page sent, in order. */
const sentIds = (page: Page, collectorUrl: string) => {
  const ids: string[] = []
  page.on('request', (r) => {
    if (r.url() == collectorUrl + '/track' && r.method() == 'POST') ids.push(...requestBatch(r.postDataBuffer()).events.map((e) => e.id))
  })
  return ids
}

// Chrome's intensive throttling, for the page it is given to: once `throttled` is set, its timers
// fire at the next whole minute of the clock (the snippet's first timers are set before).
const THROTTLE = () => {
  const w = window as unknown as { throttled?: boolean; setTimeout: typeof setTimeout; setInterval: typeof setInterval }
  const later = w.setTimeout.bind(w)
  const delay = (ms = 0) => (w.throttled ? Math.ceil((Date.now() + ms) / 60_000) * 60_000 - Date.now() : ms)
  w.setTimeout = ((fn: () => void, ms?: number) => later(fn, delay(ms))) as typeof setTimeout
  w.setInterval = ((fn: () => void, ms?: number) => {
    const tick = () => later(() => (fn(), tick()), delay(ms))
    tick()
    return 0
  }) as unknown as typeof setInterval
}

test("a tab throttled in the background (a timer a minute) keeps its outbox: another tab neither takes nor sends it, and nothing is lost", async ({
  context,
  site,
  collector,
  stored,
}) => {
  // A second past a whole minute, so that the throttled tab's next minute is most of a minute away;
  // the clock moves only when the test says.
  const start = Math.ceil(Date.now() / MIN) * MIN + 1000
  await context.clock.install({ time: start })
  await context.clock.pauseAt(start + 10)
  const quiet = await context.newPage()
  await quiet.addInitScript(THROTTLE)
  const fromQuiet = sentIds(quiet, collector.url)
  // Its first request fails; the retry, after the backoff, is due when the throttled tab next runs.
  collector.inject({ status: 503 }, 1)
  await quiet.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('event', 'quiet-1'); _gs('event', 'quiet-2');`))
  await quiet.evaluate(() => ((window as unknown as { throttled: boolean }).throttled = true))
  await context.clock.runFor(100)
  await expect.poll(() => collector.requests()).toBe(1)
  expect(fromQuiet).toHaveLength(2)
  const busy = await context.newPage()
  const fromBusy = sentIds(busy, collector.url)
  await busy.goto(site.snippetPage(`_gs(${js(TOKEN)}, false); _gs('event', 'busy');`))
  // 55 s of heartbeats in the other tab, each looking for backlogs of closed pages.
  for (let i = 0; i < 11; i++) await context.clock.runFor(5000)
  await stored((e) => e.name == 'busy')
  expect(fromBusy.filter((id) => fromQuiet.includes(id))).toEqual([])
  expect(fromQuiet).toHaveLength(2)
  // The throttled tab's minute comes: it sends its own events, once more, and they are stored.
  await context.clock.runFor(10_000)
  const events = await stored((e) => e.name == 'quiet-1' || e.name == 'quiet-2', 2)
  expect(events).toHaveLength(2)
  expect(fromQuiet).toEqual([...fromQuiet.slice(0, 2), ...fromQuiet.slice(0, 2)])
  expect(fromBusy.filter((id) => fromQuiet.includes(id))).toEqual([])
})
