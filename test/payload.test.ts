import { describe, expect, it } from 'vitest'
import { currentPage, makeBatch, makeEvent, snapshot } from '../src/payload'
import { uid } from '../src/uid'

describe('payload', () => {
  it('builds a v1 batch whose events carry exactly the wire keys', () => {
    const e = makeEvent('e1', 'event', { anonymousId: 'anon', personId: 'p', signature: 's' }, currentPage(), 'signup', { plan: 'pro' })
    const batch = JSON.parse(makeBatch('GSN-1', [e]))
    expect(Object.keys(batch)).toEqual(['v', 'project', 'sentAt', 'events'])
    expect(batch).toMatchObject({ v: 1, project: 'GSN-1' })
    expect(Math.abs(batch.sentAt - Date.now())).toBeLessThan(1000)
    expect(Object.keys(batch.events[0]).sort()).toEqual(
      ['anonymousId', 'id', 'name', 'page', 'personId', 'props', 'signature', 'ts', 'type'].sort(),
    )
  })

  it('leaves out personId, signature, name and props when there are none', () => {
    const e = makeEvent('e1', 'pageview', { anonymousId: 'anon' }, currentPage())
    expect(Object.keys(JSON.parse(JSON.stringify(e))).sort()).toEqual(['anonymousId', 'id', 'page', 'ts', 'type'])
  })

  it('resolves a tracked path against the page and keeps the referrer', () => {
    expect(currentPage('/docs?x=1#y', 'Docs')).toEqual({
      url: new URL('/docs?x=1#y', location.href).href,
      title: 'Docs',
      referrer: document.referrer,
    })
    expect(currentPage().url).toBe(location.href)
  })

  it('snapshots props and refuses what JSON cannot carry', () => {
    expect(snapshot(undefined)).toBeUndefined()
    expect(snapshot({ a: [1, { b: 2 }] })).toEqual({ a: [1, { b: 2 }] })
    const cyclic: Record<string, unknown> = {}
    cyclic.c = cyclic
    for (const bad of [null, 5, 'x', [1], cyclic, { n: BigInt(2) }]) expect(() => snapshot(bad)).toThrow()
  })

  it('makes 128-bit random ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, uid))
    expect(ids.size).toBe(1000)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/)
  })
})
