// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { clientAddress, clientKey, createBudget, trustedProxies } from '../../src/server/http/budget'

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
