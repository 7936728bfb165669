import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { currentPage, snapshot, transactionProps } from '../src/payload'
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
    expect(currentPage('/docs?x=1#y', 'Docs', true, true)).toEqual({
      url: new URL('/docs?x=1#y', location.href).href,
      title: 'Docs',
      referrer: document.referrer,
    })
    expect(currentPage(undefined, undefined, true, true).url).toBe(location.href)
  })

  it('leaves out the query string without trackParams and the hash without trackHash, and takes a referrer given', () => {
    const page = (params: boolean, hash: boolean) => currentPage('https://shop.test/reset?token=s3cret&email=a%40b.test#step-2', 'T', params, hash, 'https://ref.test/')
    expect(page(false, false)).toEqual({ url: 'https://shop.test/reset', title: 'T', referrer: 'https://ref.test/' })
    expect(page(true, false).url).toBe('https://shop.test/reset?token=s3cret&email=a%40b.test')
    expect(page(false, true).url).toBe('https://shop.test/reset#step-2')
  })

  it('makes a GoSquared transaction: totals from the items unless given, track: false not tracked', () => {
    expect(transactionProps('order-41', { revenue: 30 }, [{ name: 'Sock', price: 10, quantity: 3 }])).toEqual({
      revenue: 30,
      quantity: 3,
      items: [{ name: 'Sock', price: 10, quantity: 3, revenue: 30 }],
    })
    expect(transactionProps(41, undefined, [{ name: 'A', price: '2.5' }, { name: 'B', revenue: 7, quantity: 2 }, { name: 'C' }])).toMatchObject({
      revenue: 9.5,
      quantity: 4,
    })
    expect(transactionProps('t', { revenue: 5, quantity: 1, coupon: 'X' })).toEqual({ revenue: 5, quantity: 1, coupon: 'X', items: [] })
    expect(transactionProps('t', { track: false }, [])).toBeUndefined()
    for (const [id, o, items, problem] of [
      ['', {}, [], 'needs an id'],
      ['t', 'x', [], 'needs (id, options?, items?)'],
      ['t', {}, {}, 'needs (id, options?, items?)'],
      ['t', {}, [{ price: 'ten' }], 'revenue, price and quantity must be numbers'],
      ['x'.repeat(126), {}, [], 'id over 125 characters'],
    ] as const)
      expect(transactionProps(id, o, items as unknown)).toBe(problem)
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
