import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTracker } from '../src/esm'
import { freshPage, gs, loadTracker, settle, stub, type Wire } from './harness'

// Issue 14: GoSquared's settings and transactions, and signatures that come late.
let wire: Wire
const HEX_A = 'a'.repeat(64)
const start = location.href
// Trackers of earlier tests stay alive in this window (their route listeners too): each test has
// its own project and reads only its own batches.
let n = 0
let P = ''
const mine = () => wire.batches.filter((b) => b.project == P).flatMap((b) => b.events)

beforeEach(() => {
  P = `GSN-T${++n}`
  wire = freshPage()
  history.replaceState(null, '', '/shop/reset?token=s3cret&email=a%40b.test#step-2')
})
// The URL goes back before the wait: the live trackers' route listeners may send a pageview for it,
// whose flush timer must run while this file's window exists (a busy CI once ran it after).
afterEach(async () => {
  history.replaceState(null, '', start)
  await settle()
})

describe('settings', () => {
  it('trackParams false keeps query strings out of every URL sent: first pageview, SPA routes, events, a full URL given to track', async () => {
    // GoSquared's order: the token, then the settings, in the same task.
    loadTracker()
    gs(P)
    gs('set', 'trackParams', false)
    gs('event', 'clicked')
    gs('track', 'https://shop.test/receipt?order=41&email=a%40b.test')
    history.pushState(null, '', '/shop/next?token=again')
    await settle()
    const urls = mine().map((e) => e.page!.url)
    expect(urls).toHaveLength(4)
    for (const url of urls) expect(url).not.toMatch(/[?#]/)
    expect(urls).toContain('https://shop.test/receipt')
    expect(wire.warnings).toEqual([])
  })

  it('keeps the query string by default, the hash only with trackHash, which also makes hash changes pageviews', async () => {
    loadTracker()
    gs(P, { spa: true })
    await settle()
    expect(mine()[0].page!.url).toMatch(/\/shop\/reset\?token=s3cret&email=a%40b\.test$/)
    location.hash = '#step-3'
    await settle()
    expect(mine()).toHaveLength(1)
    gs('set', { trackHash: true })
    location.hash = '#step-4'
    await settle()
    expect(mine().map((e) => e.page!.url!.replace(/^.*\/shop\//, ''))).toEqual(['reset?token=s3cret&email=a%40b.test', 'reset?token=s3cret&email=a%40b.test#step-4'])
  })

  it('trackLocal false tracks nothing on localhost', async () => {
    expect(location.hostname).toBe('localhost')
    loadTracker()
    gs(P)
    gs('set', 'trackLocal', false)
    gs('event', 'local')
    await settle()
    expect(mine()).toEqual([])
    expect(wire.warnings).toEqual([])
  })

  it('useCookies false keeps nothing on the device: identity and outbox in memory, what an earlier page stored removed', async () => {
    localStorage.setItem('signet', JSON.stringify({ a: 'earlier', p: 'a', s: HEX_A, x: Date.now() + 60_000 }))
    loadTracker()
    gs(P)
    gs('set', 'useCookies', false)
    gs('identify', { id: 'b' })
    gs('event', 'in-memory')
    await settle()
    expect(localStorage.getItem('signet')).toBeNull()
    expect(JSON.stringify({ ...localStorage })).not.toMatch(new RegExp(`${P}|in-memory|earlier`))
    expect(mine().map((e) => e.name || e.type)).toEqual(['identify', 'in-memory', 'pageview'])
    expect(document.cookie).not.toContain('signet')
  })

  it('referrer overrides the referrer sent; anonymizeIP and debug as before', async () => {
    loadTracker()
    gs(P)
    gs('set', { referrer: 'https://news.test/story', anonymizeIP: true, debug: false })
    await settle()
    expect(mine()[0].page!.referrer).toBe('https://news.test/story')
    expect(wire.batches.find((b) => b.project == P)!.anonymizeIP).toBe(true)
  })

  it('warns once for an unknown name or a wrong type, naming it, and applies the rest', async () => {
    loadTracker()
    gs(P, false)
    gs('set', 'trackParms', false)
    gs('set', 'trackParams', 'no')
    gs('set', { trackHash: 1, trackParams: false })
    gs('set', 'toString', true)
    gs('event', 'e')
    await settle()
    expect(wire.warnings).toEqual([
      '[signet] _gs("set") ignored: no setting "trackParms"',
      '[signet] _gs("set") ignored: trackParams takes a boolean',
      '[signet] _gs("set") ignored: trackHash takes a boolean',
      '[signet] _gs("set") ignored: no setting "toString"',
    ])
    expect(mine()[0].page!.url).not.toContain('?')
  })

  it("applies a named tracker's setting to that tracker only", async () => {
    loadTracker()
    gs(P, false)
    gs('GSN-2', 'second', false)
    gs('second.set', 'trackParams', false)
    gs('event', 'first')
    gs('second.event', 'second')
    await settle()
    const byName = Object.fromEntries(wire.events().map((e) => [e.name, e.page!.url]))
    expect(byName.first).toContain('?token=')
    expect(byName.second).not.toContain('?')
  })

  it('shares the anonymous id and person, never the signature, through a cookie for cookieDomain', async () => {
    loadTracker()
    gs(P, false)
    gs('set', 'cookieDomain', 'localhost')
    gs('identify', { id: 'a' })
    gs('auth', HEX_A)
    await settle()
    const cookie = decodeURIComponent(document.cookie)
    expect(cookie).toContain('"p":"a"')
    expect(cookie).not.toContain(HEX_A)
    const anonymousId = mine()[0].anonymousId
    // Another subdomain: its own storage, the same cookie.
    localStorage.clear()
    delete (window as { _gs?: unknown })._gs
    loadTracker()
    gs(P, false)
    gs('set', 'cookieDomain', 'localhost')
    gs('event', 'elsewhere')
    await settle()
    const e = mine().at(-1)!
    expect(e).toMatchObject({ name: 'elsewhere', anonymousId, personId: 'a' })
    expect(e.signature).toBeUndefined()
    document.cookie = `signet_${P}=; max-age=0; domain=localhost; path=/`
  })
})

describe('transactions', () => {
  it("sends _gs('transaction', id, options, items) as a transaction event, signed like every event", async () => {
    loadTracker()
    gs(P, false)
    gs('identify', { id: 'a', signature: HEX_A })
    gs('transaction', 'order-41', { revenue: 30 }, [{ name: 'Sock', price: 10, quantity: 3 }])
    gs('transaction', 'order-42', { track: false })
    gs('transaction', 'order-43', 'oops')
    await settle()
    const t = mine().filter((e) => e.type == 'transaction')
    expect(t).toEqual([
      expect.objectContaining({ name: 'order-41', personId: 'a', signature: HEX_A, props: { revenue: 30, quantity: 3, items: [{ name: 'Sock', price: 10, quantity: 3, revenue: 30 }] } }),
    ])
    expect(wire.warnings).toEqual(['[signet] _gs("transaction") ignored: needs (id, options?, items?)'])
  })

  it('takes a transaction for a named tracker too', async () => {
    stub()
    gs(P, false)
    gs('GSN-2', 'second', false)
    gs('second.transaction', 't-1', {}, [{ price: 4 }])
    loadTracker()
    await settle()
    expect(wire.batches.find((b) => b.project == 'GSN-2')!.events[0]).toMatchObject({ type: 'transaction', name: 't-1', props: { revenue: 4, quantity: 1 } })
  })
})

describe('signatures that come late', () => {
  // A collector in enforce mode, for this test's project (other tests' trackers may take an answer).
  const refuseUnsigned = (b: { project: string; events: { id: string; signature?: string; personId?: string }[] }) => ({
    accepted: 0,
    rejected: b.project != P ? [] : b.events.filter((e) => e.personId && !e.signature).map((e) => ({ id: e.id, reason: 'missing_signature' })),
  })

  it('keeps events refused for a missing signature and sends them again, signed, with the same ids, when auth comes', async () => {
    loadTracker()
    gs(P, false)
    const rejected: unknown[] = []
    gs('on', 'rejected', (r: unknown) => rejected.push(r))
    for (let i = 0; i < 20; i++) wire.answer(200, refuseUnsigned)
    gs('identify', { id: 'a' })
    gs('event', 'early')
    await settle()
    const first = mine().map((e) => e.id)
    expect(first).toHaveLength(2)
    gs('auth', HEX_A)
    await settle()
    expect(mine().slice(2).map((e) => [e.id, e.signature])).toEqual(first.map((id) => [id, HEX_A]))
    expect(rejected).toEqual([])
  })

  it('reports them through rejected when the person changes and the auth timeout passes', async () => {
    loadTracker()
    gs(P, { pageview: false, authTimeout: 100 })
    const rejected: { reason: string; personId?: string }[] = []
    gs('on', 'rejected', (r: { reason: string }) => rejected.push(r))
    for (let i = 0; i < 20; i++) wire.answer(200, refuseUnsigned)
    gs('identify', { id: 'a' })
    await settle()
    gs('identify', { id: 'b', signature: 'b'.repeat(64) })
    await new Promise((r) => setTimeout(r, 250))
    expect(rejected).toEqual([{ reason: 'missing_signature', personId: 'a', eventIds: [mine()[0].id] }])
  })
})

describe('createTracker', () => {
  it('takes named trackers as its type says', async () => {
    const t = createTracker({ endpoint: 'https://collector.test/track' })
    t(P, false)
    t('GSN-2', 'second', false)
    t('second.event', 'to-second')
    await settle()
    expect(wire.batches.filter((b) => b.project == 'GSN-2').map((b) => b.events.map((e) => e.name))).toEqual([['to-second']])
    expect(wire.warnings).toEqual([])
  })
})
