import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushed, gs, lastStamp, loadTracker, onFakeClock, reload, type Wire } from './harness'

// Issue 13: a signed identity lasts while its person is active; storage and the prototype chain are
// untrusted input.
let wire: Wire
const HEX_A = 'a'.repeat(64)
const MIN = 60_000

onFakeClock((w) => (wire = w))
const page = reload
const probe = () => lastStamp(wire, flushed)
const stored = () => JSON.parse(localStorage.getItem('signet')!)

describe('identity lifetime', () => {
  it('forgets a signed-in person after 30 idle minutes: the next page is anonymous, with a fresh anonymous id', async () => {
    page()
    gs('identify', { id: 'a', signature: HEX_A })
    const a = await probe()
    expect(a).toMatchObject({ personId: 'a', signature: HEX_A })
    vi.setSystemTime(Date.now() + 31 * MIN)
    page()
    const states: string[] = []
    gs('on', 'state', (s: string) => states.push(s))
    const next = await probe()
    expect(next.personId).toBeUndefined()
    expect(next.signature).toBeUndefined()
    expect(next.anonymousId).not.toBe(a.anonymousId)
    expect(states).toEqual(['anonymous'])
    // The signature is gone from the device too.
    expect(localStorage.getItem('signet')).not.toContain(HEX_A)
  })

  it('keeps an active person: each event renews the window', async () => {
    page()
    gs('identify', { id: 'a', signature: HEX_A })
    for (let i = 0; i < 4; i++) {
      vi.setSystemTime(Date.now() + 20 * MIN)
      page()
      expect(await probe()).toMatchObject({ personId: 'a', signature: HEX_A })
    }
  })

  it('takes identityTtl in ms, 0 keeping the person to this page and no signature in storage', async () => {
    page({ pageview: false, identityTtl: 5 * MIN })
    gs('identify', { id: 'a', signature: HEX_A })
    await flushed()
    vi.setSystemTime(Date.now() + 4 * MIN)
    page({ pageview: false, identityTtl: 5 * MIN })
    expect(await probe()).toMatchObject({ personId: 'a' })
    vi.setSystemTime(Date.now() + 6 * MIN)
    page({ pageview: false, identityTtl: 5 * MIN })
    expect((await probe()).personId).toBeUndefined()

    page({ pageview: false, identityTtl: 0 })
    gs('identify', { id: 'b', signature: HEX_A, plan: 'pro' })
    expect(await probe()).toMatchObject({ personId: 'b', signature: HEX_A })
    expect(stored().s).toBeUndefined()
    expect(stored().r).toBeUndefined()
    page({ pageview: false, identityTtl: 0 })
    expect((await probe()).personId).toBeUndefined()
  })

  it('refuses a bad identityTtl with one warning', () => {
    page({ identityTtl: '1d' })
    expect(wire.warnings).toEqual(['[signet] _gs("GSN-1") ignored: bad identityTtl'])
  })

  it('does not restore a stored person without an expiry (an earlier version) or with a tampered one', async () => {
    for (const x of [undefined, 'never', Date.now() - 1]) {
      localStorage.setItem('signet', JSON.stringify({ a: 'old', p: 'a', s: HEX_A, x }))
      page()
      const stamp = await probe()
      expect(stamp.personId).toBeUndefined()
      expect(stamp.anonymousId).not.toBe('old')
    }
  })
})

describe('storage is untrusted', () => {
  // Another page's outbox, left behind with no heartbeat: a backlog this page claims.
  const plant = (items: unknown[]) => localStorage.setItem('signet_q_planted', JSON.stringify({ p: 'GSN-1', i: items }))
  const event = (name: string, ts = Date.now()) => ({ id: name, type: 'event', name, ts, anonymousId: 'x', personId: 'a' })

  it('drops planted waiting events instead of signing them when their person signs in, and reports them', async () => {
    plant([
      { e: event('future'), w: Date.now() + 1e9 },
      { e: event('too-long'), w: Date.now() - 11_000 },
      { e: event('old', Date.now() - 8 * 86_400_000) },
      { e: event('ahead', Date.now() + 2 * 3_600_000) },
      { e: event('fine'), w: Date.now() - 1000 },
    ])
    page({ pageview: false, secure: true })
    const dropped: unknown[] = []
    gs('on', 'dropped', (d: unknown) => dropped.push(d))
    loadTracker.last!.beat()
    await vi.advanceTimersByTimeAsync(200)
    expect(dropped).toEqual([{ count: 4, reason: 'stale' }])
    gs('identify', { id: 'a' })
    gs('auth', HEX_A)
    await flushed()
    const names = wire.events().map((e) => e.name)
    expect(names).toContain('fine')
    for (const n of ['future', 'too-long', 'old', 'ahead']) expect(names).not.toContain(n)
  })

  it('never sends to an endpoint named in storage', async () => {
    plant([{ e: event('x'), endpoint: 'https://evil.test/' }])
    localStorage.setItem('signet', JSON.stringify({ a: 'anon', endpoint: 'https://evil.test/' }))
    page({ pageview: false })
    loadTracker.last!.beat()
    await vi.advanceTimersByTimeAsync(200)
    gs('event', 'mine')
    await flushed()
    expect(wire.requests.length).toBeGreaterThan(0)
    for (const r of wire.requests) expect(r.url).toBe('https://collector.test/track')
  })

  it('ignores a stored record too large to be one of its own', async () => {
    localStorage.setItem('signet', JSON.stringify({ a: 'anon', pad: 'x'.repeat(700_000) }))
    page()
    expect((await probe()).anonymousId).not.toBe('anon')
  })
})

describe('a polluted Object.prototype changes nothing', () => {
  const POLLUTION: Record<string, unknown> = {
    endpoint: 'https://evil.test/steal',
    secure: true,
    pageview: false,
    requireConsent: true,
    privacySignals: true,
    authTimeout: -1,
    identityTtl: 0,
    signature: 'f'.repeat(64),
    userSignature: 'f'.repeat(64),
    id: 'evil',
    userId: 'evil',
    email: 'evil@evil.test',
    p: 'evil',
    s: 'f'.repeat(64),
    x: 9e15,
    w: 1,
    v: 1,
    q: [['identify', { id: 'evil' }]],
    rejected: [{ id: 'x', reason: 'bad_signature' }],
    url: 'https://evil.test/page',
  }
  beforeEach(() => {
    for (const [k, v] of Object.entries(POLLUTION)) Object.defineProperty(Object.prototype, k, { value: v, configurable: true, writable: true })
  })
  afterEach(() => {
    for (const k of Object.keys(POLLUTION)) delete (Object.prototype as Record<string, unknown>)[k]
  })

  it('through _gs(token, options), identify, auth, set and track, stored records and answers', async () => {
    page({ authTimeout: 50 })
    gs('set', 'anonymizeIP', false)
    gs('event', 'anonymous')
    gs('identify', { id: 'a', plan: 'pro' })
    gs('auth', HEX_A)
    gs('track', '/next')
    await flushed()
    page({})
    gs('event', 'after-reload')
    await vi.advanceTimersByTimeAsync(200)
    expect(wire.warnings).toEqual([])
    for (const r of wire.requests) expect(r.url).toBe('https://collector.test/track')
    const byName = Object.fromEntries(wire.events().map((e) => [e.name || e.type + ':' + e.page?.url, e]))
    // (Own keys: what arrived, not what the polluted prototype would add to any object here.)
    expect(Object.keys(byName['anonymous']).sort()).toEqual(['anonymousId', 'id', 'name', 'page', 'ts', 'type'])
    expect(byName['after-reload']).toMatchObject({ personId: 'a', signature: HEX_A })
    expect(wire.events().filter((e) => e.type == 'pageview').length).toBe(3)
    expect(wire.events().some((e) => e.personId == 'evil')).toBe(false)
  })

  it('through the snippet stub and the ESM entry', async () => {
    const { createTracker } = await import('../src/esm')
    const t = createTracker({ endpoint: 'https://collector.test/track', name: 'esm' })
    t('GSN-1', { pageview: false })
    t('event', 'esm')
    ;(window as unknown as { _gs: (...a: unknown[]) => void })._gs = function () {} as never
    loadTracker()
    gs('GSN-1', { pageview: false })
    gs('event', 'stub')
    await flushed()
    const names = wire.events().map((e) => e.name)
    expect(names).toEqual(expect.arrayContaining(['esm', 'stub']))
    expect(wire.events().some((e) => e.personId == 'evil')).toBe(false)
    for (const r of wire.requests) expect(r.url).toBe('https://collector.test/track')
  })
})

describe('the vendor adapters under a polluted Object.prototype', () => {
  beforeEach(() => {
    Object.defineProperty(Object.prototype, 'userSignature', { value: 'f'.repeat(64), configurable: true, writable: true })
    Object.defineProperty(Object.prototype, 'url', { value: 'https://evil.test/page', configurable: true, writable: true })
  })
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>).userSignature
    delete (Object.prototype as Record<string, unknown>).url
  })

  it('Engagespot and Beacon read own properties only', async () => {
    loadTracker()
    await import('../src/adapters/engagespot')
    await import('../src/adapters/beacon')
    const w = window as unknown as { Engagespot: new (k: string, o: object) => unknown; Beacon: (...a: unknown[]) => void }
    new w.Engagespot('GSN-1', { userId: 'a' })
    w.Beacon('event', { type: 'page-viewed', title: 'Help' })
    await flushed()
    const [pageview] = wire.events().filter((e) => e.type == 'pageview')
    expect(pageview.page!.url).toBe(location.href)
    expect(wire.events().every((e) => !Object.keys(e).includes('signature'))).toBe(true)
  })
})

describe('ids that mean one thing', () => {
  it('refuses an id with a control character or half a surrogate pair, with one warning', async () => {
    page({ pageview: false })
    for (const id of ['a\u0000', 'a\tb', 'x\ud83d', '\ude00y']) gs('identify', { id })
    gs('identify', { id: 'ok\ud83d\ude00' })
    await flushed()
    expect(wire.warnings).toHaveLength(4)
    expect(wire.warnings[0]).toBe('[signet] _gs("identify") ignored: id has a control character or lone surrogate')
    expect(wire.events().map((e) => e.personId)).toEqual(['ok\ud83d\ude00'])
  })
})
