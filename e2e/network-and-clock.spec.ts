import { call, expect, noPageErrors, test, TOKEN } from './fixtures'

// Issue 23 in Chromium against the reference collector: a collector that takes a request and never
// answers, a device whose clock is hours or weeks off, a machine Chromium thinks is offline.
const js = JSON.stringify
const HOUR = 3_600_000
const DAY = 24 * HOUR

test('a collector that takes a request and never answers holds nothing back: the events made meanwhile arrive, each once', async ({
  page,
  site,
  collector,
  stored,
}) => {
  const errors = noPageErrors(page)
  await page.clock.install()
  collector.inject({ hang: true }, 1)
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)});`))
  await page.clock.runFor(100)
  await expect.poll(() => collector.requests()).toBe(1)
  // Six events over the next 6 s while the pageview's request hangs.
  for (let i = 0; i < 6; i++) {
    await call(page, ['event', `meanwhile-${i}`])
    await page.clock.runFor(1000)
  }
  expect(collector.requests()).toBe(1)
  // The hung request is given up at 10 s and retried after the first backoff (at most 1.5 s).
  await page.clock.runFor(6000)
  const events = await stored((e) => e.type == 'pageview' || !!e.name?.startsWith('meanwhile-'), 7)
  expect(events).toHaveLength(7)
  expect(new Set(events.map((e) => e.id)).size).toBe(7)
  expect(collector.requests()).toBe(2)
  expect(errors).toEqual([])
})

for (const [skew, label] of [
  [3 * HOUR, '3 hours fast'],
  [DAY, 'a day fast'],
  [-30 * DAY, 'a month slow'],
] as const)
  test(`a device whose clock is ${label}: its signed events are stored, dated by the collector's clock`, async ({ page, site, sign, stored, answers }) => {
    await page.clock.setSystemTime(Date.now() + skew)
    await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('identify', {id: 'skewed'}); _gs('auth', ${js(sign('skewed'))}); _gs('event', 'on-time');`))
    const [event] = await stored((e) => e.name == 'on-time')
    expect(event.verdict).toBe('verified')
    // ts is the device's own; time is the collector's, within the request's round trip of receipt.
    expect(Math.abs(event.ts - (event.receivedAt + skew))).toBeLessThan(10_000)
    expect(event.time).toBeLessThanOrEqual(event.receivedAt)
    expect(event.receivedAt - event.time).toBeLessThan(10_000)
    await stored((e) => e.type == 'pageview' && e.personId == 'skewed')
    expect(answers.flatMap((a) => a.rejected)).toEqual([])
  })

test('navigator.onLine is not consulted: a page Chromium calls offline still sends to a collector it can reach', async ({ page, site, stored }) => {
  // What Chromium reports on a machine with only a loopback or intranet interface.
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'onLine', { get: () => false }))
  await page.goto(site.snippetPage(`_gs(${js(TOKEN)}); _gs('event', 'offline-says-chromium');`))
  expect(await page.evaluate(() => navigator.onLine)).toBe(false)
  await stored((e) => e.name == 'offline-says-chromium')
})
