import { describe, expect, it, vi } from 'vitest'
import { createConsent } from '../src/consent'
import { createCore, type Core } from '../src/tracker'
import { flushed, onFakeClock, type Wire } from './harness'

// Issue 23: several tabs of one browser share one identity record. Each tab here is a tracker of its
// own over the window's one localStorage, as the tabs of a site share theirs.
let wire: Wire
const HEX_A = 'a'.repeat(64)
const HEX_B = 'b'.repeat(64)
const MIN = 60_000

onFakeClock((w) => (wire = w))

type Tab = (...args: unknown[]) => void
/** A tab of the site: a tracker started for GSN-1, its _gs calls, no automatic pageview. */
const tab = (options: object = {}, endpoint = 'https://collector.test/track'): Tab & { core: Core } => {
  const core = createCore('', endpoint, createConsent())
  core.invoke(['GSN-1', { pageview: false, ...options }])
  core.replayed()
  return Object.assign((...args: unknown[]) => core.invoke(args), { core })
}
/** Who an event tracked in `t` now is stamped for. */
const stamp = async (t: Tab, name = 'probe') => {
  t('event', name)
  await flushed()
  const { anonymousId, personId, signature } = wire.events().filter((e) => e.name == name).at(-1)!
  return { anonymousId, personId, signature }
}

describe('one identity per browser, newest wins', () => {
  it("an idle tab of Alice's, active again after Bob signed in elsewhere, tracks as Bob and never writes Alice back", async () => {
    const alice = tab()
    alice('identify', { id: 'alice', signature: HEX_A })
    expect(await stamp(alice, 'a1')).toMatchObject({ personId: 'alice', signature: HEX_A })
    const bob = tab()
    bob('identify', { id: 'bob', signature: HEX_B })
    vi.setSystemTime(Date.now() + 3 * MIN)
    // Alice's tab acts a few minutes later (past the once-a-minute renewal).
    expect(await stamp(alice, 'a2')).toMatchObject({ personId: 'bob', signature: HEX_B })
    // Bob's next page, which identifies nobody, is Bob's.
    expect(await stamp(tab(), 'next-page')).toMatchObject({ personId: 'bob', signature: HEX_B })
    expect(localStorage.getItem('signet')).not.toContain(HEX_A)
  })

  it('logging out in one tab makes every open tab anonymous before its next event, under the one new anonymous id', async () => {
    const one = tab()
    const two = tab()
    one('identify', { id: 'alice', signature: HEX_A })
    expect(await stamp(two, 'before')).toMatchObject({ personId: 'alice', signature: HEX_A })
    one('unidentify')
    const after = await stamp(two, 'after')
    expect(after).toEqual({ anonymousId: expect.any(String), personId: undefined, signature: undefined })
    expect(after.anonymousId).toBe((await stamp(one, 'in-one')).anonymousId)
    expect(localStorage.getItem('signet')).not.toContain(HEX_A)
  })

  it("auth and properties in one tab apply in the others; a signature given in a tab is for that tab's own identify", async () => {
    const one = tab()
    const two = tab()
    one('identify', { id: 'alice' })
    expect(await stamp(two, 'unsigned')).toMatchObject({ personId: 'alice', signature: undefined })
    one('auth', HEX_A)
    expect(await stamp(two, 'signed')).toMatchObject({ personId: 'alice', signature: HEX_A })
    one('properties', { plan: 'pro' })
    two('properties', { theme: 'dark' })
    await flushed()
    expect(wire.events().at(-1)!.props).toEqual({ plan: 'pro', theme: 'dark' })
    // Tab two identified Alice itself; Bob signs in in tab one; tab two's late auth (Alice's) signs nobody.
    two('identify', { id: 'alice' })
    one('identify', { id: 'bob' })
    two('auth', HEX_A)
    expect(await stamp(one, 'bob-unsigned')).toMatchObject({ personId: 'bob', signature: undefined })
  })

  it("a signature provider's late answer for Alice, after Bob signed in in another tab, is not written and signs none of Bob's events", async () => {
    let answer: (s: string) => void = () => {}
    const one = tab()
    one('auth', (id: string) => (id == 'alice' ? new Promise<string>((r) => (answer = r)) : HEX_B))
    one('identify', { id: 'alice' })
    const two = tab()
    two('identify', { id: 'bob', signature: HEX_B })
    answer(HEX_A)
    await flushed()
    expect(localStorage.getItem('signet')).not.toContain(HEX_A)
    expect(await stamp(one, 'in-one')).toMatchObject({ personId: 'bob', signature: HEX_B })
    expect(wire.events().filter((e) => e.personId == 'bob').every((e) => e.signature == HEX_B)).toBe(true)
  })

  it("events waiting for Alice's signature in one tab are never signed with the signature of Bob, identified in another", async () => {
    const one = tab({ secure: true, authTimeout: 5000 })
    one('identify', { id: 'alice' })
    one('event', 'waiting')
    await flushed()
    const two = tab({ secure: true })
    two('identify', { id: 'bob', signature: HEX_B })
    one('event', 'bobs')
    await vi.advanceTimersByTimeAsync(6000)
    const sent = wire.events()
    const waiting = sent.find((e) => e.name == 'waiting')!
    expect([waiting.personId, waiting.signature]).toEqual(['alice', undefined])
    expect(sent.find((e) => e.name == 'bobs')).toMatchObject({ personId: 'bob', signature: HEX_B })
  })

  it('counts the lifetime from activity in any tab, and ends it for every tab when all are idle', async () => {
    const idle = tab()
    const busy = tab()
    idle('identify', { id: 'alice', signature: HEX_A })
    for (let i = 0; i < 3; i++) {
      vi.setSystemTime(Date.now() + 20 * MIN)
      await stamp(busy, `busy-${i}`)
    }
    // 60 minutes since the idle tab last did anything: the busy one kept Alice.
    expect(await stamp(idle, 'idle-60')).toMatchObject({ personId: 'alice', signature: HEX_A })
    vi.setSystemTime(Date.now() + 31 * MIN)
    const gone = await stamp(idle, 'idle-91')
    expect(gone.personId).toBeUndefined()
    expect(await stamp(busy, 'busy-91')).toEqual(gone)
    expect(localStorage.getItem('signet')).not.toContain(HEX_A)
  })

  it('puts its newer identity back over an older one written after it (two tabs racing)', async () => {
    const one = tab()
    one('identify', { id: 'alice', signature: HEX_A })
    const older = localStorage.getItem('signet')!
    one('identify', { id: 'bob', signature: HEX_B })
    // A tab that had not yet seen Bob renewed Alice: its write lands after Bob's.
    localStorage.setItem('signet', older)
    expect(await stamp(one, 'in-one')).toMatchObject({ personId: 'bob', signature: HEX_B })
    expect(await stamp(tab(), 'next-page')).toMatchObject({ personId: 'bob', signature: HEX_B })
  })

  it("with identityTtl 0, a page's person stays its own, but another tab's identify or logout ends it there", async () => {
    const one = tab({ identityTtl: 0 })
    one('identify', { id: 'alice', signature: HEX_A })
    const two = tab({ identityTtl: 0 })
    expect((await stamp(two, 'two')).personId).toBeUndefined()
    expect(await stamp(one, 'one')).toMatchObject({ personId: 'alice', signature: HEX_A })
    two('identify', { id: 'bob', signature: HEX_B })
    expect((await stamp(one, 'one-after')).personId).toBeUndefined()
    expect(await stamp(two, 'two-after')).toMatchObject({ personId: 'bob', signature: HEX_B })
    one('unidentify')
    expect((await stamp(two, 'two-logged-out')).personId).toBeUndefined()
    expect(localStorage.getItem('signet')).not.toMatch(/aaaa|bbbb/)
  })
})

describe('the hand-over of a closed page\'s outbox', () => {
  const outboxes = () => Object.keys(localStorage).filter((k) => k.startsWith('signet_q_'))

  it("takes no live tab's outbox when the clock is set back (its beats then look written in the future), but one dated days ahead", async () => {
    const live = tab({}, 'https://unreachable.test/track')
    live('event', 'waiting')
    live.core.beat()
    await flushed()
    expect(outboxes()).toHaveLength(1)
    vi.setSystemTime(Date.now() - 10 * MIN)
    const other = tab()
    other.core.beat()
    await vi.advanceTimersByTimeAsync(200)
    expect(outboxes()).toHaveLength(2)
    expect(wire.events().map((e) => e.name)).not.toContain('waiting')
    // A beat two days ahead was not written by this clock: that outbox is a backlog, taken (and its
    // event, dated as far ahead, dropped as stale).
    vi.setSystemTime(Date.now() - 2 * 24 * 60 * MIN)
    other.core.beat()
    await vi.advanceTimersByTimeAsync(200)
    expect(outboxes()).toHaveLength(1)
  })

  it("takes the outbox of a page that stopped beating three minutes ago, and not before", async () => {
    const gone = tab({}, 'https://unreachable.test/track')
    gone('event', 'left-behind')
    gone.core.beat()
    await flushed()
    vi.setSystemTime(Date.now() + 2 * MIN)
    const other = tab()
    other.core.beat()
    await vi.advanceTimersByTimeAsync(200)
    expect(wire.events().map((e) => e.name)).not.toContain('left-behind')
    vi.setSystemTime(Date.now() + 61_000)
    other.core.beat()
    await vi.advanceTimersByTimeAsync(200)
    expect(wire.events().map((e) => e.name)).toContain('left-behind')
  })
})
