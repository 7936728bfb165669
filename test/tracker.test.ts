import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { freshPage, gs, loadTracker, settle, stub, type Wire } from './harness'

let wire: Wire

beforeEach(() => {
  wire = freshPage()
})

afterEach(async () => {
  await settle()
})

describe('queue replay', () => {
  it('replays snippet calls in order, then sends the first pageview as the signed person', async () => {
    stub()
    gs('GSN-1')
    gs('identify', { id: 42, name: 'Ann' })
    gs('auth', 'sig-42')
    gs('event', 'queued')
    loadTracker()
    await settle()
    expect(wire.batches).toHaveLength(1)
    const [batch] = wire.batches
    expect(batch).toMatchObject({ v: 1, project: 'GSN-1', sentAt: expect.any(Number) })
    expect(batch.events.map((e) => e.type)).toEqual(['identify', 'event', 'pageview'])
    for (const e of batch.events) expect(e).toMatchObject({ personId: '42', signature: 'sig-42' })
    expect(batch.events[0].props).toEqual({ name: 'Ann' })
    expect(new Set(batch.events.map((e) => e.id)).size).toBe(3)
  })

  it('makes each event id from its time and 84 random bits, so ids sort in the order the events were made', async () => {
    loadTracker()
    gs('GSN-1', false)
    for (let i = 0; i < 30; i++) {
      vi.spyOn(Date, 'now').mockReturnValue(1_790_000_000_000 + i * 7)
      gs('event', `e${i}`)
    }
    vi.restoreAllMocks()
    await settle()
    const events = wire.events()
    expect(events).toHaveLength(30)
    for (const e of events) expect(e.id).toMatch(new RegExp(`^${e.ts.toString(16)}[0-9a-f]{21}$`))
    expect([...events.map((e) => e.id)].sort()).toEqual(events.map((e) => e.id))
    expect(new Set(events.map((e) => e.id.slice(11))).size).toBe(30)
  })

  it('posts a CORS-simple text body with the signature only in the body', async () => {
    loadTracker()
    gs('GSN-1')
    gs('identify', { id: 'a', signature: 'sig-a' })
    await settle()
    expect(wire.requests.length).toBeGreaterThan(0)
    for (const { url, init } of wire.requests) {
      expect(url).toBe('https://collector.test/track')
      expect(init).toMatchObject({ method: 'POST', keepalive: true, credentials: 'omit' })
      expect(init.headers).toBeUndefined()
      expect(typeof init.body).toBe('string')
    }
    expect(wire.requests.map((r) => r.init.body).join()).toContain('"signature":"sig-a"')
  })

  it('replaces _gs with a live function, and a second tracker load changes nothing', async () => {
    stub()
    gs('GSN-1')
    loadTracker()
    const live = (window as { _gs?: unknown })._gs
    expect(loadTracker()).toBeUndefined()
    expect((window as { _gs?: unknown })._gs).toBe(live)
    gs('event', 'after')
    await settle()
    expect(wire.events().map((e) => e.type)).toEqual(['pageview', 'event'])
  })

  it('still reaches the tracker through a stub reference kept from before it loaded', async () => {
    const kept = stub()
    kept('GSN-1', false)
    loadTracker()
    kept('event', 'late')
    await settle()
    expect(wire.events().map((e) => e.name)).toEqual(['late'])
  })

  it('runs a call made while replaying after the ones queued before it', async () => {
    stub()
    gs('GSN-1', false)
    gs('event', 'first', {
      get nested() {
        gs('event', 'reentrant')
        return 1
      },
    })
    gs('event', 'second')
    loadTracker()
    await settle()
    expect(wire.events().map((e) => e.name)).toEqual(['first', 'second', 'reentrant'])
  })

  it('works without any snippet', async () => {
    loadTracker()
    gs('GSN-1')
    await settle()
    expect(wire.events().map((e) => e.type)).toEqual(['pageview'])
  })
})

describe('commands', () => {
  it('honours options: false, pageview: false and a custom endpoint', async () => {
    loadTracker()
    gs('GSN-1', { endpoint: 'https://elsewhere.test/collect', pageview: false })
    gs('track', '/pricing', 'Pricing')
    // No path (null or undefined): this page's URL, with the title given.
    gs('track', null, 'Same page')
    await settle()
    expect(wire.requests[0].url).toBe('https://elsewhere.test/collect')
    expect(wire.events().map((e) => e.page?.title)).toEqual(['Pricing', 'Same page'])
    expect(wire.events()[1].page?.url).toBe(location.href)
    expect(wire.events()[0].page).toEqual({
      url: new URL('/pricing', location.href).href,
      title: 'Pricing',
      referrer: document.referrer,
    })
  })

  it('stamps each event when its command runs, never at send time', async () => {
    loadTracker()
    gs('GSN-1', false)
    gs('identify', { id: 'a' })
    gs('auth', 'sig-a')
    gs('event', 'as-a')
    gs('identify', { id: 'b' })
    gs('event', 'as-b')
    gs('unidentify')
    gs('event', 'anon')
    await settle()
    const [identA, asA, identB, asB, anon] = wire.events()
    expect(identA).toMatchObject({ type: 'identify', personId: 'a', signature: 'sig-a' })
    expect(asA).toMatchObject({ personId: 'a', signature: 'sig-a' })
    expect(identB).toMatchObject({ type: 'identify', personId: 'b' })
    expect(identB.signature).toBeUndefined()
    expect(asB.signature).toBeUndefined()
    expect(anon.personId).toBeUndefined()
    expect(anon.anonymousId).not.toBe(asA.anonymousId)
  })

  it('refuses a start with a bad endpoint with one clear warning, and a later start works', async () => {
    loadTracker()
    gs('GSN-1', { endpoint: 'http://[::1' })
    gs('GSN-1', { endpoint: 42 })
    expect(wire.warnings).toEqual([
      expect.stringMatching(/^\[signet\] _gs\("GSN-1"\) ignored: unreadable arguments: .*URL/),
      '[signet] _gs("GSN-1") ignored: bad endpoint',
    ])
    gs('GSN-1')
    await settle()
    expect(wire.requests.map((r) => r.url)).toEqual(['https://collector.test/track'])
  })

  it('copies props when the command runs', async () => {
    loadTracker()
    gs('GSN-1', false)
    const props = { step: 1 }
    gs('event', 'checkout', props)
    props.step = 2
    await settle()
    expect(wire.events()[0].props).toEqual({ step: 1 })
  })

  it('sends person properties merged, stamped with the current person', async () => {
    loadTracker()
    gs('GSN-1', false)
    gs('identify', { id: 'a', signature: 'sig-a', plan: 'free' })
    gs('properties', { plan: 'pro', seats: 3 })
    await settle()
    expect(wire.events()[1]).toMatchObject({ type: 'properties', personId: 'a', signature: 'sig-a', props: { plan: 'pro', seats: 3 } })
  })

  it('gives each bad call one warning, throws nothing and keeps tracking', async () => {
    loadTracker()
    gs('GSN-1', false)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const bad: unknown[][] = [
      [],
      [42],
      [null],
      ['event'],
      ['event', ''],
      ['event', 'x', 'not-props'],
      ['event', 'x', cyclic],
      ['event', 'x', { n: BigInt(1) }],
      ['event', 'x', { get boom() { throw new Error('getter') } }],
      ['identify'],
      ['identify', { name: 'no id' }],
      ['auth'],
      ['auth', 12],
      ['properties', 'x'],
      ['track', 5],
      ['track', '/p', 5],
      ['GSN-2'],
      ['evnet', 'typo'],
    ]
    for (const args of bad) expect(() => gs(...args)).not.toThrow()
    expect(wire.warnings).toHaveLength(bad.length)
    for (const w of wire.warnings) expect(w).toMatch(/^\[signet\] /)
    gs('event', 'still-works')
    await settle()
    expect(wire.events().map((e) => e.name)).toEqual(['still-works'])
  })

  it('keeps events that failed for a passing reason and re-sends them, after a backoff, with the same ids', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    // The jitter in the middle of its range: waits of 1 s, then 2 s. (Left random, the second and
    // third attempts fell within the first 1.8 s in about 2% of runs, and the test failed.)
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    try {
      loadTracker()
      wire.answer(503)
      wire.answer('network')
      gs('GSN-1', false)
      gs('event', 'one')
      await vi.advanceTimersByTimeAsync(100)
      gs('event', 'two')
      await vi.advanceTimersByTimeAsync(100)
      expect(wire.batches).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1600)
      expect(wire.batches).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(3100)
      expect(wire.batches).toHaveLength(3)
      const [first, second, third] = wire.batches
      expect(first.events.map((e) => e.name)).toEqual(['one'])
      expect(second.events.map((e) => e.id)).toEqual([first.events[0].id, expect.any(String)])
      expect(third.events.map((e) => e.id)).toEqual(second.events.map((e) => e.id))
    } finally {
      vi.useRealTimers()
    }
  })

  it('drops a batch the collector refuses outright, and says so', async () => {
    loadTracker()
    wire.answer(400, { error: 'malformed JSON' })
    gs('GSN-1', false)
    gs('event', 'refused')
    await settle()
    gs('event', 'next')
    await settle()
    expect(wire.batches[1].events.map((e) => e.name)).toEqual(['next'])
    expect(wire.warnings).toEqual(['[signet] 1 event(s) dropped: HTTP 400'])
  })

  it('warns when the collector rejects events', async () => {
    loadTracker()
    wire.answer(200, { accepted: 0, rejected: [{ id: 'x', reason: 'bad_signature' }] })
    gs('GSN-1', false)
    gs('event', 'e')
    await settle()
    expect(wire.warnings).toEqual(['[signet] 1 event(s) rejected: bad_signature'])
  })

  it('holds events tracked before the project token and sends them once it arrives', async () => {
    loadTracker()
    gs('event', 'early')
    await settle()
    expect(wire.batches).toHaveLength(0)
    gs('GSN-1', false)
    await settle()
    expect(wire.events().map((e) => e.name)).toEqual(['early'])
  })

  it('hands pending events to sendBeacon when the page is hidden', async () => {
    const tracker = loadTracker()!
    gs('GSN-1', false)
    gs('event', 'leaving')
    tracker.departing()
    expect(wire.beacons).toHaveLength(1)
    expect(wire.beacons[0].events[0].name).toBe('leaving')
    await settle()
    expect(wire.batches).toHaveLength(1)
  })
})
