// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { SignJWT } from 'jose'
import { clientAddress, clientKey, createBudget, trustedProxies, VERIFICATION_COST } from '../../src/server/http/budget'
import { createSignetHandler } from '../../src/server/http/handlers'
import { personSignature } from '../../src/server/verify/signature'

// Issue 24, finding 3: a client's budget per minute, and the client's address behind a proxy.
describe('a client budget', () => {
  it('counts events and bytes per client over whole minutes, and says how long to wait past them', () => {
    let now = Date.UTC(2026, 11, 3, 10, 0, 15)
    const budget = createBudget({ eventsPerMinute: 100, bytesPerMinute: 10_000 }, { now: () => now })
    expect(budget.take('a', 60, 1000)).toBeUndefined()
    expect(budget.take('a', 41, 1000)).toEqual({ retryAfter: 45 })
    // What was refused is not counted; another client has its own.
    expect(budget.take('a', 40, 1000)).toBeUndefined()
    expect(budget.take('b', 100, 10_000)).toBeUndefined()
    expect(budget.take('b', 1, 1)).toEqual({ retryAfter: 45 })
    now += 44_500
    expect(budget.take('a', 1, 9_000)).toEqual({ retryAfter: 1 })
    now += 500
    expect(budget.take('a', 100, 10_000)).toBeUndefined()
  })

  it('keys IPv4 addresses whole and IPv6 addresses by their /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7')
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(clientKey('2001:db8:85a3:1:a:b:c:d')).toBe('2001:db8:85a3:1::/64')
    expect(clientKey('2001:db8:85a3:1::9')).toBe('2001:db8:85a3:1::/64')
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(clientKey('::1')).toBe('0:0:0:0::/64')
  })
})

describe("the client's address", () => {
  const proxies = trustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8'])

  it('is the peer, unless the peer is a trusted proxy: then the last address in X-Forwarded-For that is not one', () => {
    expect(clientAddress('198.51.100.4', '1.2.3.4', proxies)).toBe('198.51.100.4')
    expect(clientAddress('198.51.100.4', '1.2.3.4', undefined)).toBe('198.51.100.4')
    expect(clientAddress('127.0.0.1', '198.51.100.4', proxies)).toBe('198.51.100.4')
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.4', proxies)).toBe('198.51.100.4')
    // A client writes its own header: what it wrote stands left of what the proxies appended.
    expect(clientAddress('127.0.0.1', '6.6.6.6, 198.51.100.4, 10.1.2.3', proxies)).toBe('198.51.100.4')
    expect(clientAddress('fd00::2', '2001:db8::7', proxies)).toBe('2001:db8::7')
    // Not an address: the walk stops at the last one believed.
    expect(clientAddress('127.0.0.1', 'garbage, 10.1.2.3', proxies)).toBe('10.1.2.3')
    expect(clientAddress('127.0.0.1', undefined, proxies)).toBe('127.0.0.1')
  })

  it('refuses a proxy that is not an address or a range, by name', () => {
    expect(() => trustedProxies(['nginx'])).toThrow('signet: trust proxy: "nginx" is not an address or a CIDR range')
    expect(() => trustedProxies(['10.0.0.0/99'])).toThrow(/"10.0.0.0\/99"/)
  })
})

// Issue 31, finding 4: every verification costs the sender, and a budget holds per collector.
describe('what a client pays for', () => {
  it('forgets the client seen least recently past its bound, never pooling new clients into one shared count', () => {
    const budget = createBudget({ eventsPerMinute: 10, bytesPerMinute: 1_000_000 }, { now: () => Date.UTC(2026, 11, 6, 10, 0, 1), maxClients: 3 })
    for (const client of ['a', 'b', 'c']) expect(budget.take(client, 10, 1)).toBeUndefined()
    // d is a client of its own (it once shared one count with every newcomer, and got 429 at once).
    expect(budget.take('d', 10, 1)).toBeUndefined()
    expect(budget.take('d', 1, 1)).toBeDefined()
    expect(budget.size()).toBe(3)
    // a, seen least recently, was forgotten; b and c are still spent.
    expect(budget.spent('b')).toBeDefined()
    expect(budget.spent('c')).toBeDefined()
    expect(budget.take('a', 10, 1)).toBeUndefined()
  })

  it('charges work done for nothing whether or not it fits, which refuses the client next', () => {
    const budget = createBudget({ eventsPerMinute: 100, bytesPerMinute: 1_000_000 }, { now: () => Date.UTC(2026, 11, 6, 10, 0, 50) })
    budget.charge('x', 70)
    expect(budget.left('x')).toBe(30)
    budget.charge('x', 70)
    expect(budget.left('x')).toBe(0)
    expect(budget.spent('x')).toEqual({ retryAfter: 10 })
    expect(budget.take('x', 1, 1)).toEqual({ retryAfter: 10 })
  })

  it('holds for a whole collector: workers report what they counted, the primary sums it and every worker learns the totals', () => {
    let now = Date.UTC(2026, 11, 6, 10, 0, 1)
    const limits = { eventsPerMinute: 100, bytesPerMinute: 1_000_000 }
    const [one, two, primary] = [createBudget(limits, { now: () => now, reports: true }), createBudget(limits, { now: () => now, reports: true }), createBudget(limits, { now: () => now })]
    const sync = () => {
      for (const worker of [one, two]) {
        const report = worker.report()
        if (!report) continue
        const totals = primary.sum(report.minute, report.counts)
        one.learn(report.minute, totals)
        two.learn(report.minute, totals)
      }
    }
    expect(one.take('x', 60, 10)).toBeUndefined()
    expect(two.take('x', 30, 10)).toBeUndefined()
    sync()
    // 90 of 100 used between them: 20 more is too many on either worker.
    expect(one.take('x', 20, 1)).toBeDefined()
    expect(two.take('x', 20, 1)).toBeDefined()
    expect(two.take('x', 10, 1)).toBeUndefined()
    sync()
    expect(one.spent('x')).toBeDefined()
    // Nothing new, nothing reported; a report of a minute gone by is not summed.
    expect(one.report()).toBeUndefined()
    const late = { minute: Math.floor(now / 60_000), counts: [['y', 50, 1]] as [string, number, number][] }
    now += 60_000
    expect(primary.sum(late.minute, late.counts)).toEqual([])
    expect(one.take('x', 100, 1)).toBeUndefined()
  })
})

describe('refused work against the budget, through createSignetHandler', () => {
  const SECRET = 'budget-secret'
  const ip = '203.0.113.9'
  let n = 0
  const event = (signature: string, person = 'ada') => ({ id: `b-${n++}`, type: 'event', name: 'x', ts: Date.now(), anonymousId: 'a', personId: person, signature })
  const batch = (project: string, events: unknown[]) => JSON.stringify({ v: 1, project, sentAt: Date.now(), events })
  // One minute of the budget's clock throughout, whenever the test runs.
  const fixedMinute = () => createBudget({ eventsPerMinute: 100, bytesPerMinute: 1_000_000 }, { now: () => Date.UTC(2026, 11, 6, 10, 0, 1) })

  it('counts events refused for a forged signature, so a forger is answered 429 before anything is read', async () => {
    const signet = createSignetHandler({ projects: { P: { secureMode: 'enforce', secrets: [SECRET] } }, onEvents: () => {}, budget: fixedMinute() })
    const forged = () => batch('P', Array.from({ length: 50 }, () => event('0'.repeat(64))))
    expect((await signet.handle(forged(), ip)).status).toBe(200)
    expect((await signet.handle(forged(), ip)).status).toBe(200)
    expect((await signet.handle(forged(), ip)).status).toBe(429)
    // Another client, and verified people behind any address, go on.
    expect((await signet.handle(batch('P', [event(personSignature(SECRET, 'ada'))]), '198.51.100.1')).status).toBe(200)
  })

  it(`weighs a jwt verification that proves nothing as ${VERIFICATION_COST} events, and makes none the client cannot pay for`, async () => {
    const key = new TextEncoder().encode(SECRET)
    const token = (sub: string, secret = key) => new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h').sign(secret)
    const wrong = new TextEncoder().encode('not-the-secret')
    const signet = createSignetHandler({ projects: { J: { secureMode: 'enforce', scheme: 'jwt', secrets: [SECRET] } }, onEvents: () => {}, budget: fixedMinute() })
    // Five distinct forged tokens would cost 125 of 100: refused before any is verified, and charged,
    // so that the address's next request is refused before it is read, even one it could pay for.
    const five = await Promise.all(Array.from({ length: 5 }, (_, i) => token(`p${i}`, wrong)))
    expect((await signet.handle(batch('J', five.map((t, i) => event(t, `p${i}`))), ip)).status).toBe(429)
    expect((await signet.handle('not even JSON', ip)).status).toBe(429)
    // Three cost 75 (and their three refused events 3): verified, refused, charged.
    const other = '203.0.113.10'
    const three = await Promise.all(Array.from({ length: 3 }, (_, i) => token(`q${i}`, wrong)))
    const answer = await signet.handle(batch('J', three.map((t, i) => event(t, `q${i}`))), other)
    expect([answer.status, (answer.body as { rejected: unknown[] }).rejected.length]).toEqual([200, 3])
    expect((await signet.handle(batch('J', [event(await token('r', wrong), 'r')]), other)).status).toBe(429)
    // A person's valid token costs nothing, however often it comes.
    const valid = await token('ada')
    for (let i = 0; i < 30; i++) expect((await signet.handle(batch('J', [event(valid)]), '198.51.100.2')).status).toBe(200)
  })
})
