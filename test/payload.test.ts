import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { currentPage, snapshot } from '../src/payload'
import { uid } from '../src/uid'
import { freshPage, gs, loadTracker, settle, type Wire } from './harness'

let wire: Wire

beforeEach(() => {
  wire = freshPage()
})
afterEach(() => settle())

describe('payload', () => {
  it('sends a v1 batch whose events carry exactly the wire keys', async () => {
    loadTracker()
    gs('GSN-1', false)
    gs('identify', { id: 'p', signature: 's' })
    gs('event', 'signup', { plan: 'pro' })
    await settle()
    const [batch] = wire.batches
    expect(Object.keys(batch)).toEqual(['v', 'project', 'sentAt', 'events'])
    expect(batch).toMatchObject({ v: 1, project: 'GSN-1' })
    expect(Math.abs(batch.sentAt - Date.now())).toBeLessThan(1000)
    expect(Object.keys(batch.events[1]).sort()).toEqual(
      ['anonymousId', 'id', 'name', 'page', 'personId', 'props', 'signature', 'ts', 'type'].sort(),
    )
    expect(batch.events[1]).toMatchObject({ type: 'event', name: 'signup', props: { plan: 'pro' }, personId: 'p', signature: 's' })
  })

  it('leaves out personId, signature, name and props when there are none', async () => {
    loadTracker()
    gs('GSN-1')
    await settle()
    expect(Object.keys(wire.events()[0]).sort()).toEqual(['anonymousId', 'id', 'page', 'ts', 'type'])
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
