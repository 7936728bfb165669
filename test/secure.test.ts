import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Batch } from '../src/protocol'
import { freshPage, gs, loadTracker, settle, type Wire } from './harness'

let wire: Wire
const HEX_A = 'a'.repeat(64)
const HEX_B = 'b'.repeat(64)
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeEach(() => {
  wire = freshPage()
})

afterEach(() => settle())

const names = () => wire.events().map((e) => [e.name || e.type, e.personId, e.signature])

describe('auth queue (secure: true)', () => {
  it('holds identified events until a signature for that person exists, then sends them signed', async () => {
    loadTracker()
    gs('GSN-1', { secure: true, pageview: false })
    gs('event', 'anonymous-goes-now')
    gs('identify', { id: 'a' })
    await settle()
    gs('event', 'waits')
    await settle()
    expect(names()).toEqual([['anonymous-goes-now', undefined, undefined]])
    gs('auth', HEX_A)
    await settle()
    expect(names()).toEqual([
      ['anonymous-goes-now', undefined, undefined],
      ['identify', 'a', HEX_A],
      ['waits', 'a', HEX_A],
    ])
  })

  it('sends unsigned after authTimeout, with one warning naming the fix', async () => {
    loadTracker()
    gs('GSN-1', { secure: true, pageview: false, authTimeout: 100 })
    gs('identify', { id: 'a' })
    gs('event', 'never-signed')
    await settle()
    expect(wire.batches).toHaveLength(0)
    await wait(150)
    expect(names()).toEqual([
      ['identify', 'a', undefined],
      ['never-signed', 'a', undefined],
    ])
    expect(wire.warnings).toHaveLength(1)
    expect(wire.warnings[0]).toMatch(/no signature for "a" in 0.1 s, sent unsigned: call _gs\('auth', signature\) after identify/)
  })

  it("never gives waiting events another person's signature, and gives them their own when it comes", async () => {
    loadTracker()
    gs('GSN-1', { secure: true, pageview: false })
    gs('identify', { id: 'a' })
    gs('event', 'a-1')
    gs('identify', { id: 'b' })
    gs('auth', HEX_B)
    gs('event', 'b-1')
    gs('unidentify')
    gs('event', 'anon-1')
    await settle()
    expect(names()).toEqual([
      ['identify', 'b', HEX_B],
      ['b-1', 'b', HEX_B],
      ['anon-1', undefined, undefined],
    ])
    gs('identify', { id: 'a' })
    gs('auth', HEX_A)
    await settle()
    const forA = wire.events().filter((e) => e.personId == 'a')
    expect(forA.map((e) => [e.name || e.type, e.signature])).toEqual([
      ['identify', HEX_A],
      ['a-1', HEX_A],
      ['identify', HEX_A],
    ])
  })

  it('keeps waiting events across a reload, with their ids', async () => {
    const before = loadTracker()!
    gs('GSN-1', { secure: true, pageview: false })
    gs('identify', { id: 'a' })
    gs('event', 'before-reload')
    await settle()
    expect(wire.batches).toHaveLength(0)
    before.leave()
    delete (window as { _gs?: unknown })._gs
    const after = loadTracker()!
    gs('GSN-1', { secure: true, pageview: false })
    after.beat()
    await wait(150)
    gs('identify', { id: 'a' })
    gs('auth', HEX_A)
    await settle()
    expect(names()).toEqual([
      ['identify', 'a', HEX_A],
      ['before-reload', 'a', HEX_A],
      ['identify', 'a', HEX_A],
    ])
    expect(new Set(wire.events().map((e) => e.id)).size).toBe(3)
  })
})

describe('signature providers', () => {
  it("asks the provider for each new person; that person's events wait for the answer even without secure", async () => {
    const asked: string[] = []
    loadTracker()
    gs('GSN-1', false)
    gs('auth', (id: string) => {
      asked.push(id)
      return new Promise((r) => setTimeout(() => r(id == 'a' ? HEX_A : HEX_B), 50))
    })
    gs('identify', { id: 'a' })
    gs('event', 'a-1')
    await settle()
    gs('identify', { id: 'a' })
    gs('identify', { id: 'b' })
    gs('event', 'b-1')
    await settle()
    await settle()
    expect(asked).toEqual(['a', 'b'])
    expect(names()).toEqual([
      ['identify', 'a', HEX_A],
      ['a-1', 'a', HEX_A],
      ['identify', 'a', HEX_A],
      ['identify', 'b', HEX_B],
      ['b-1', 'b', HEX_B],
    ])
  })

  it('applies a late answer only to the id it was asked for, and only while that person is identified', async () => {
    let answerA!: (s: string) => void
    loadTracker()
    gs('GSN-1', false)
    gs('auth', (id: string) => (id == 'a' ? new Promise<string>((r) => (answerA = r)) : HEX_B))
    gs('identify', { id: 'a' })
    gs('event', 'a-1')
    gs('identify', { id: 'b' })
    gs('event', 'b-1')
    await settle()
    answerA(HEX_A)
    await settle()
    const byName = Object.fromEntries(wire.events().map((e) => [e.name || `${e.type}-${e.personId}`, e]))
    // a is no longer identified: their event is not signed now; it waits out the auth timeout.
    expect(byName['a-1']).toBeUndefined()
    expect(byName['b-1']).toMatchObject({ personId: 'b', signature: HEX_B })
    gs('event', 'b-2')
    await settle()
    expect(wire.events().at(-1)).toMatchObject({ name: 'b-2', personId: 'b', signature: HEX_B })
  })

  it('retries a failing provider a bounded number of times, warns once, and never rejects unhandled', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const unhandled = vi.fn()
    window.addEventListener('unhandledrejection', unhandled)
    let calls = 0
    try {
      loadTracker()
      gs('GSN-1', false)
      gs('auth', () => {
        calls++
        if (calls == 1) throw new Error('sync failure')
        return Promise.reject(new Error('server said no'))
      })
      gs('identify', { id: 'a' })
      gs('event', 'a-1')
      await vi.advanceTimersByTimeAsync(10_000)
      expect(calls).toBe(3)
      expect(wire.warnings).toEqual([
        '[signet] signature provider failed for "a": server said no',
      ])
      expect(names()).toEqual([
        ['identify', 'a', undefined],
        ['a-1', 'a', undefined],
      ])
      expect(unhandled).not.toHaveBeenCalled()
    } finally {
      window.removeEventListener('unhandledrejection', unhandled)
      vi.useRealTimers()
    }
  })

  it('asks once more when the collector refuses a signature, and re-sends those events with the same ids', async () => {
    const answers = ['c'.repeat(64), HEX_A]
    loadTracker()
    gs('GSN-1', false)
    gs('auth', () => answers.shift())
    wire.answer(200, (b: Batch) => ({ accepted: 0, rejected: b.events.map((e) => ({ id: e.id, reason: 'expired_signature' })) }))
    gs('identify', { id: 'a' })
    gs('event', 'a-1')
    await settle()
    await settle()
    expect(wire.batches).toHaveLength(2)
    const [first, second] = wire.batches
    expect(first.events.map((e) => e.signature)).toEqual(['c'.repeat(64), 'c'.repeat(64)])
    expect(second.events.map((e) => [e.id, e.signature])).toEqual(first.events.map((e) => [e.id, HEX_A]))
    gs('event', 'a-2')
    await settle()
    expect(wire.events().at(-1)).toMatchObject({ name: 'a-2', signature: HEX_A })
  })

  it('refreshes a person at most once per interval', async () => {
    let asked = 0
    const rejectAll = (b: Batch) => ({ accepted: 0, rejected: b.events.map((e) => ({ id: e.id, reason: 'bad_signature' })) })
    loadTracker()
    gs('GSN-1', false)
    gs('auth', () => (++asked, HEX_A))
    gs('identify', { id: 'a' })
    await settle()
    expect(asked).toBe(1)
    wire.answer(200, rejectAll)
    gs('event', 'x')
    await settle()
    await settle()
    expect(asked).toBe(2)
    expect(wire.batches.at(-1)!.events.map((e) => e.name)).toEqual(['x'])
    wire.answer(200, rejectAll)
    gs('event', 'y')
    await settle()
    await settle()
    expect(asked).toBe(2)
    expect(wire.batches.at(-1)!.events.map((e) => e.name)).toEqual(['y'])
  })
})

describe("_gs('on')", () => {
  it('reports rejections by reason and person, and a throwing handler does not stop tracking', async () => {
    const seen: unknown[] = []
    loadTracker()
    gs('GSN-1', false)
    gs('on', 'rejected', () => {
      throw new Error('handler bug')
    })
    gs('on', 'rejected', (r: unknown) => seen.push(r))
    wire.answer(200, (b: Batch) => ({
      accepted: 1,
      rejected: b.events.filter((e) => e.personId).map((e) => ({ id: e.id, reason: e.type == 'identify' ? 'invalid_event' : 'bad_signature' })),
    }))
    gs('event', 'anonymous')
    gs('identify', { id: 'a', signature: HEX_A })
    gs('event', 'e1')
    gs('event', 'e2')
    await settle()
    const [, ident, e1, e2] = wire.batches[0].events
    expect(seen).toEqual([
      { reason: 'invalid_event', personId: 'a', eventIds: [ident.id] },
      { reason: 'bad_signature', personId: 'a', eventIds: [e1.id, e2.id] },
    ])
    gs('event', 'after')
    await settle()
    expect(wire.events().at(-1)!.name).toBe('after')
    expect(wire.warnings).toContain("[signet] 'rejected' handler threw")
  })

  it("tells 'state' listeners the current state at once and every change", async () => {
    const states: string[] = []
    loadTracker()
    gs('GSN-1', false)
    gs('on', 'state', (s: string) => states.push(s))
    gs('identify', { id: 'a' })
    gs('auth', HEX_A)
    gs('identify', { id: 'b' })
    gs('unidentify')
    await settle()
    expect(states).toEqual(['anonymous', 'identified', 'verified', 'identified', 'anonymous'])
  })
})

describe('development checks', () => {
  const check = (signature: string) => {
    wire.warnings.length = 0
    gs('auth', signature)
    return wire.warnings
  }

  it('warns about signatures that cannot be right, in debug mode', () => {
    loadTracker()
    gs('set', 'debug', true)
    expect(check('Secure Mode Secret')).toEqual([expect.stringMatching(/signature is not 64 hex, base64 of 32 bytes or a token/)])
    expect(check('a'.repeat(40))).toHaveLength(1)
    expect(check(btoa('0f8e2c1a;9b8a7c6d'))).toEqual([expect.stringMatching(/Verification Key, a secret/)])
    expect(check(HEX_A)).toEqual([])
    expect(check(btoa(String.fromCharCode(...Array(32).fill(7))))).toEqual([])
    expect(check(btoa(String.fromCharCode(...Array(52).fill(200))))).toEqual([])
    // An identity provider's JWT (issue 32: every valid one was warned about).
    expect(check('eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6MTc5OTk5OTk5OX0.' + 'Ab_-'.repeat(21))).toEqual([])
    expect(check('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0')).toHaveLength(1)
  })

  it('stays quiet outside development unless asked', () => {
    loadTracker()
    gs('set', 'debug', false)
    expect(check('Secure Mode Secret')).toEqual([])
  })
})
