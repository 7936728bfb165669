import { describe, expect, it, vi } from 'vitest'
import type { WireEvent } from '../src/protocol'
import { BATCH_CHARS, BATCH_EVENTS, batchSize, groupRejections, retryDelay } from '../src/rules'

const event = (id: string, extra: Partial<WireEvent> = {}): WireEvent => ({ id, type: 'event', ts: Date.now() + 1, anonymousId: 'a', name: 'n', ...extra })

describe('batchSize', () => {
  it('takes up to 100 events', () => {
    expect(batchSize(Array.from({ length: 250 }, (_, i) => event(`e${i}`)))).toBe(BATCH_EVENTS)
    expect(batchSize([event('a'), event('b')])).toBe(2)
  })

  it('takes no more than 20,000 characters of events, but always one, however large', () => {
    const big = (id: string) => event(id, { props: { text: 'x'.repeat(6000) } })
    expect(batchSize([big('a'), big('b'), big('c'), big('d')])).toBe(3)
    expect(batchSize([event('a', { props: { text: 'x'.repeat(BATCH_CHARS) } }), event('b')])).toBe(1)
  })
})

describe('retryDelay', () => {
  it('tries again after network errors, 5xx, 408 and 429, and not after anything else', () => {
    for (const status of [0, 500, 503, 599, 408, 429]) expect(retryDelay(status, 0), String(status)).toBeGreaterThan(0)
    for (const status of [200, 204, 301, 400, 401, 404, 413]) expect(retryDelay(status, 0), String(status)).toBe(-1)
  })

  it('backs off exponentially from 1 s to at most 60 s, each wait ×0.5–1.5 at random', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    expect([0, 1, 2, 3, 4, 5, 6, 7, 30, 1000].map((failures) => retryDelay(503, failures))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000,
    ])
    vi.spyOn(Math, 'random').mockReturnValue(0)
    expect(retryDelay(503, 0)).toBe(500)
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    expect(retryDelay(503, 0)).toBeCloseTo(1499, 0)
  })

  it('waits what Retry-After says, in seconds or until a date, when it says something usable', () => {
    expect(retryDelay(429, 5, '2')).toBe(2000)
    expect(retryDelay(503, 0, '0')).toBe(0)
    const now = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(now)
    expect(retryDelay(503, 0, new Date(now + 30_000).toUTCString())).toBeGreaterThan(29_000)
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    // A date in the past, a negative number, or nonsense: the backoff, as without the header.
    for (const header of [new Date(now - 30_000).toUTCString(), '-5', 'soon', '', null]) expect(retryDelay(503, 1, header)).toBe(2000)
    // Not a status that is tried again: the header does not make it one.
    expect(retryDelay(400, 0, '1')).toBe(-1)
  })
})

describe('groupRejections', () => {
  it('groups by reason and person, with the events each names, in the order first named', () => {
    const sent = [event('1', { personId: 'ann' }), event('2', { personId: 'ann' }), event('3', { personId: 'bob' }), event('4')]
    const groups = [...groupRejections(sent, [
      { id: '1', reason: 'bad_signature' },
      { id: '3', reason: 'bad_signature' },
      { id: '2', reason: 'bad_signature' },
      { id: '4', reason: 'too_large' },
    ]).values()]
    expect(groups.map(([group, events]) => [group, events.map((e) => e.id)])).toEqual([
      [{ reason: 'bad_signature', personId: 'ann', eventIds: ['1', '2'] }, ['1', '2']],
      [{ reason: 'bad_signature', personId: 'bob', eventIds: ['3'] }, ['3']],
      [{ reason: 'too_large', personId: undefined, eventIds: ['4'] }, ['4']],
    ])
  })

  it('reports an id that was not in the request, but gives no event for it (an answer is untrusted)', () => {
    const groups = [...groupRejections([event('1')], [{ id: 'other', reason: 'invalid_event' }, null as never, 5 as never]).values()]
    expect(groups[0]).toEqual([{ reason: 'invalid_event', personId: undefined, eventIds: ['other'] }, []])
    expect(groups).toHaveLength(2)
  })
})
