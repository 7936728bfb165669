// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredEvent, Verdict } from '../../src/server/verify/batch'
import type { Store } from '../../src/server/store/store'
import { DATABASES, open, type Database } from './databases'
import { ATTEMPTS_KEPT, MAX_ATTEMPTS } from '../../src/server/store/rollup'

// Issue 25: what the operator's console reads from a store, on SQLite and PostgreSQL alike.
const HOUR = 3_600_000
const DAY = 24 * HOUR
// Two days ago at noon (UTC), then yesterday: whole days apart.
const today = Math.floor(Date.now() / DAY) * DAY
const T1 = today - 2 * DAY + 12 * HOUR
const T2 = today - DAY + 12 * HOUR
let n = 0
const record = (receivedAt: number, extra: Partial<StoredEvent> & { verdict?: Verdict } = {}): StoredEvent => ({
  id: `e${++n}`,
  type: 'pageview',
  ts: receivedAt - 1000,
  time: receivedAt - 1000,
  anonymousId: 'anon-a',
  page: { url: 'https://shop.test/pricing?x=1', title: 'Pricing', referrer: 'https://news.test/story' },
  project: 'P',
  receivedAt,
  verdict: 'anonymous',
  ...extra,
})
const everything = { from: today - 7 * DAY, to: today + DAY }

describe.each(DATABASES)('the console on $name', ({ skip, make }) => {
  let db: Database
  let stores: Store[] = []
  const start = async () => {
    const store = await open(db)
    stores.push(store)
    return store
  }
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()))
    await db?.drop()
  })

  // Alice browses anonymously, signs in, buys; Bob signs in once; mallory's forgeries are refused.
  const seed = async (store: Store) => {
    const alice = { personId: 'alice', verdict: 'verified' as const }
    await store.add([
      record(T1, { device: 'Firefox|Linux|desktop' }),
      record(T1 + 1, { type: 'event', name: 'search', page: { url: 'https://shop.test/', title: 'Shop', referrer: '' } }),
      record(T1 + 2, { ...alice, type: 'identify', props: { plan: 'free' } }),
      record(T2, { ...alice, type: 'properties', props: { plan: 'pro' } }),
      record(T2 + 1, { ...alice, type: 'event', name: 'checkout' }),
      record(T2 + 2, { ...alice, device: 'Chrome Mobile|Android|mobile' }),
      record(T2 + 3, { anonymousId: 'anon-b', personId: 'bob', verdict: 'verified', type: 'identify', props: {} }),
      // Landed from a campaign.
      record(T2 + 4, { anonymousId: 'anon-b', device: 'Firefox|Windows|desktop', page: { url: 'https://shop.test/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=winter%20sale', referrer: 'https://news.test/story' } }),
    ])
    const forged = (at: number, ip: string) => ({ project: 'P', reason: 'bad_signature', personId: 'alice', receivedAt: at, ip, origin: 'https://evil.test' })
    await store.add([], [forged(T2 + 10, '203.0.113.0'), forged(T2 + 11, '203.0.113.0'), forged(T2 + 12, '198.51.100.0'), { project: 'P', reason: 'invalid_event' }])
    await store.rollUp()
  }

  it.skipIf(skip)('sums events and people per day, verdicts, and refused attempts per reason, over whole days', async () => {
    db = await make()
    const store = await start()
    await seed(store)
    const overview = await store.overview('P', { from: T1 - HOUR, to: T2 + HOUR })
    expect(overview.days).toEqual([
      { day: new Date(T1).toISOString().slice(0, 10), events: 3, people: 1, orders: 0, revenue: 0 },
      { day: new Date(T2).toISOString().slice(0, 10), events: 5, people: 2, orders: 0, revenue: 0 },
    ])
    expect(overview.revenue).toEqual({ orders: 0, total: 0 })
    expect(overview.verdicts).toEqual({ anonymous: 3, verified: 5 })
    expect(overview.rejected).toEqual({ bad_signature: 3 })
    // Summing up again adds nothing; a later event is summed up at the next call.
    await store.rollUp()
    await store.add([record(T2 + 20)])
    await store.rollUp()
    expect((await store.overview('P', everything)).verdicts).toEqual({ anonymous: 4, verified: 5 })
  })

  it.skipIf(skip)('lists verified people with first and last seen, events and their latest properties, by id prefix, and their timelines', async () => {
    db = await make()
    const store = await start()
    await seed(store)
    const people = await store.people('P', { period: everything, limit: 10 })
    expect(people).toEqual([
      { id: 'bob', firstSeen: T2 + 3, lastSeen: T2 + 3, events: 1, props: {} },
      { id: 'alice', firstSeen: T1 + 2, lastSeen: T2 + 2, events: 4, props: { plan: 'pro' } },
    ])
    expect((await store.people('P', { period: everything, prefix: 'al', limit: 10 })).map((p) => p.id)).toEqual(['alice'])
    // Any part of the id, in either case, or of the latest properties; key=value, a property's value.
    const found = async (search: string) => (await store.people('P', { period: everything, search, limit: 10 })).map((p) => p.id)
    expect(await found('LIC')).toEqual(['alice'])
    expect(await found('o')).toEqual(['bob', 'alice'])
    expect(await found('pro')).toEqual(['alice'])
    expect(await found('plan=pro')).toEqual(['alice'])
    expect(await found('plan = free')).toEqual([])
    expect(await found("'; DROP TABLE signet_people; --")).toEqual([])
    expect(await found('%')).toEqual([])
    expect(await store.people('P', { period: { from: T2 + HOUR, to: T2 + 2 * HOUR }, limit: 10 })).toEqual([])
    expect(await store.person('P', 'alice')).toEqual({ ...people[1], revenue: { orders: 0, total: 0 } })
    const timeline = await store.timeline('P', 'alice', { limit: 3 })
    expect(timeline.map((e) => [e.type, e.verdict])).toEqual([
      ['pageview', 'verified'],
      ['event', 'verified'],
      ['properties', 'verified'],
    ])
    expect((await store.timeline('P', 'alice', { limit: 3, offset: 3 })).map((e) => e.type)).toEqual(['identify'])
  })

  it.skipIf(skip)('sums up the events stored after a long run of repeats (on PostgreSQL each repeat draws a seq, so the rows have gaps wider than a chunk)', async () => {
    db = await make()
    const store = await start()
    // Three calls, not hundreds: a busy CI timed out a test that made 510 one at a time.
    const stored = Array.from({ length: 510 }, (_, i) => record(T1, { id: `first-${i}` }))
    await store.add(stored)
    await store.rollUp()
    expect((await store.add(stored)).every((o) => o == 'repeat')).toBe(true)
    await store.add([record(T2, { id: 'after-the-repeats' }), record(T2 + 1, { id: 'and-one-more' })])
    await store.rollUp()
    expect((await store.overview('P', everything)).verdicts).toEqual({ anonymous: 512 })
  })

  it.skipIf(skip)('names the top pages by path, event names, outside referrers, the campaigns landed from, browsers, systems and device types; groups the attempts by the person they claimed', async () => {
    db = await make()
    const store = await start()
    await seed(store)
    expect(await store.names('P', everything, 5)).toEqual({
      pages: [{ name: '/pricing', n: 3 }],
      events: [
        { name: 'checkout', n: 1 },
        { name: 'search', n: 1 },
      ],
      referrers: [{ name: 'news.test', n: 3 }],
      utm_source: [{ name: 'newsletter', n: 1 }],
      utm_medium: [{ name: 'email', n: 1 }],
      utm_campaign: [{ name: 'winter sale', n: 1 }],
      // Of pageviews (device.ts's labels).
      browsers: [
        { name: 'Firefox', n: 2 },
        { name: 'Chrome Mobile', n: 1 },
      ],
      systems: [
        { name: 'Android', n: 1 },
        { name: 'Linux', n: 1 },
        { name: 'Windows', n: 1 },
      ],
      devices: [
        { name: 'desktop', n: 2 },
        { name: 'mobile', n: 1 },
      ],
    })
    // The console's goals: events of the names asked for, by day.
    const day = (t: number) => new Date(Math.floor(t / DAY) * DAY).toISOString().slice(0, 10)
    expect(await store.eventsByDay('P', everything, ['checkout', 'search', 'never'])).toEqual(
      [
        { day: day(T1), name: 'search', n: 1 },
        { day: day(T2), name: 'checkout', n: 1 },
      ].sort((a, b) => a.day.localeCompare(b.day) || a.name.localeCompare(b.name)),
    )
    expect(await store.eventsByDay('P', everything, [])).toEqual([])
    expect(await store.attempts('P', everything, 10)).toEqual([
      { personId: 'alice', reason: 'bad_signature', n: 3, first: T2 + 10, last: T2 + 12, ips: ['203.0.113.0', '198.51.100.0'], origins: ['https://evil.test'] },
    ])
  })

  it.skipIf(skip)(`keeps at most ${MAX_ATTEMPTS} refused attempts, cut from the biggest sender first: one address's flood never evicts another's evidence (issue 31)`, async () => {
    db = await make()
    const store = await start()
    const attempt = (ip: string, personId: string, receivedAt: number) => ({ project: 'P', reason: 'missing_signature', personId, receivedAt, ip })
    // Evidence first: three addresses, each claiming a person of its own 30 times.
    for (const ip of ['198.51.100.0', '192.0.2.0', '203.0.113.0']) await store.add([], Array.from({ length: 30 }, (_, i) => attempt(ip, `claimed-by-${ip}`, T1 + i)))
    // Then one address floods: more than the bound on its own.
    for (let i = 0; i < MAX_ATTEMPTS + 5000; i += 5000) await store.add([], Array.from({ length: 5000 }, (_, j) => attempt('6.6.6.0', `victim-${(i + j) % 50}`, T2 + i + j)))
    await store.rollUp()
    const kept = await store.attempts('P', everything, 500)
    const byIp = (ip: string) => kept.filter((a) => a.ips.includes(ip)).reduce((n, a) => n + a.n, 0)
    for (const ip of ['198.51.100.0', '192.0.2.0', '203.0.113.0']) expect(byIp(ip)).toBe(30)
    // The flood kept its newest, to what the bound leaves it.
    expect(byIp('6.6.6.0')).toBe(ATTEMPTS_KEPT - 90)
    const victims = kept.filter((a) => a.personId.startsWith('victim-'))
    expect(Math.max(...victims.map((a) => a.last))).toBe(T2 + MAX_ATTEMPTS + 4999)
    expect(Math.min(...victims.map((a) => a.first))).toBe(T2 + MAX_ATTEMPTS + 5000 - (ATTEMPTS_KEPT - 90))
  }, 60_000)

  it.skipIf(skip)('forgets a person: their events, their anonymous id\'s, summaries and attempts, counted; once; and an event sent again stays gone', async () => {
    db = await make()
    const store = await start()
    await seed(store)
    const before = (await store.counts('P')).stored
    expect(before).toEqual({ anonymous: 3, verified: 5 })
    const resent = (await store.timeline('P', 'alice', { limit: 1 }))[0]
    expect(await store.forget('alice', 'P')).toBe(6)
    expect(await store.forget('alice', 'P')).toBe(0)
    // Bob and his anonymous id's events stay.
    const left: StoredEvent[] = []
    for await (const line of store.lines()) left.push(JSON.parse(line))
    expect(left.map((e) => e.personId ?? e.anonymousId)).toEqual(['bob', 'anon-b'])
    expect((await store.counts('P')).stored).toEqual({ anonymous: 1, verified: 1 })
    expect((await store.overview('P', everything)).verdicts).toEqual({ anonymous: 1, verified: 1 })
    expect(await store.person('P', 'alice')).toBeUndefined()
    expect(await store.attempts('P', everything, 10)).toEqual([])
    expect((await store.overview('P', everything)).days.map((d) => d.people)).toEqual([0, 0, 0, 0, 0, 0, 1, 0])
    // Her tracker's outbox sends one of her events again: answered as absorbed, not stored.
    expect(await store.add([{ ...resent, receivedAt: Date.now() }])).toEqual(['repeat'])
    expect(await store.timeline('P', 'alice', { limit: 10 })).toEqual([])
    // What stops it is a digest of each id, dated; the upkeep deletes those older than a tracker
    // could send again (issue 32): not yet, then all six.
    const digests = async () => Number(Object.values(((await db.sql('SELECT count(*) AS n FROM signet_forgotten')) as object[])[0])[0])
    expect(await digests()).toBe(6)
    expect(await store.expireForgotten(Date.now() - 8 * DAY)).toBe(0)
    expect(await digests()).toBe(6)
    expect(await store.expireForgotten(Date.now() + DAY)).toBe(6)
    expect(await digests()).toBe(0)
  })

  it.skipIf(skip)("counts transactions' revenue per day and per person, to the hundredth: signed, anonymous or unchecked ones, never one whose signature failed; erasure and purge take theirs back (issue 34)", async () => {
    db = await make()
    const store = await start()
    await seed(store)
    const order = (at: number, id: string, props: Record<string, unknown>, extra: Partial<StoredEvent> = {}) =>
      record(at, { type: 'transaction', name: id, id: `tx:${id}`, page: {}, props: { quantity: 1, ...props }, ...extra })
    const alice = { personId: 'alice', verdict: 'verified' as const }
    await store.add([
      order(T1 + 10, 'o1', { revenue: 19.99 }, alice),
      order(T2 + 10, 'o2', { revenue: 0.1 }, alice),
      order(T2 + 11, 'o3', { revenue: 0.2 }, { anonymousId: 'anon-d' }),
      order(T2 + 12, 'o4', { revenue: 5 }, { verdict: 'unchecked', personId: 'carol' }),
      // A refund is an order of no revenue; a forgery claiming Bob is not money.
      order(T2 + 13, 'o5', { revenue: -3 }, { anonymousId: 'anon-c' }),
      order(T2 + 14, 'o6', { revenue: 1000 }, { personId: 'bob', verdict: 'bad_signature' }),
    ])
    await store.rollUp()
    const overview = await store.overview('P', everything)
    const day = (at: number) => overview.days.find((d) => d.day == new Date(at).toISOString().slice(0, 10))!
    expect([day(T1).orders, day(T1).revenue, day(T2).orders, day(T2).revenue]).toEqual([1, 19.99, 4, 5.3])
    // 0.1 + 0.2 summed in hundredths, not as floating point (0.30000000000000004).
    expect(overview.revenue).toEqual({ orders: 5, total: 25.29 })
    expect((await store.person('P', 'alice'))!.revenue).toEqual({ orders: 2, total: 20.09 })
    expect((await store.person('P', 'bob'))!.revenue).toEqual({ orders: 0, total: 0 })
    // The period before sees none of it.
    expect((await store.overview('P', { from: T1 - 7 * DAY, to: T1 - 6 * DAY })).revenue).toEqual({ orders: 0, total: 0 })
    // Alice erased: her orders leave the overview; yesterday's rest stays.
    await store.forget('alice', 'P')
    expect((await store.overview('P', everything)).revenue).toEqual({ orders: 3, total: 5.2 })
    // Everything before yesterday purged: only yesterday's orders count.
    await store.add([order(T1 + 20, 'o7', { revenue: 7 })])
    await store.rollUp()
    expect((await store.overview('P', everything)).revenue).toEqual({ orders: 4, total: 12.2 })
    await store.purge(today - DAY)
    expect((await store.overview('P', everything)).revenue).toEqual({ orders: 3, total: 5.2 })
  })

  // 3.1 s beside stress-ng --cpu 2 (issue 33): given 15 s, not the default 5.
  it.skipIf(skip)('purges events received before a time, a chunk at a time, with their summaries and counts', async () => {
    db = await make()
    const store = await start()
    await seed(store)
    // 12,000 more events two days ago: several chunks.
    for (let i = 0; i < 12_000; i += 2000) await store.add(Array.from({ length: 2000 }, (_, j) => record(T1 + 100 + i + j)))
    await store.rollUp()
    expect(await store.purge(today - DAY)).toBe(12_003)
    expect((await store.counts('P')).stored).toEqual({ anonymous: 1, verified: 4 })
    const overview = await store.overview('P', everything)
    expect(overview.verdicts).toEqual({ anonymous: 1, verified: 4 })
    expect((await store.people('P', { period: everything, limit: 10 })).map((p) => p.id)).toEqual(['bob', 'alice'])
    expect(await store.purge(today - DAY)).toBe(0)
  }, 15_000)
})
