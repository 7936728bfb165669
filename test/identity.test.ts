import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parsePerson } from '../src/identity'
import { freshPage, gs, lastStamp, reload, settle, type Wire } from './harness'

let wire: Wire

beforeEach(() => {
  wire = freshPage()
})
afterEach(() => settle())

const page = () => reload()
const probe = () => lastStamp(wire)

describe('parsePerson', () => {
  it('takes the id as a string, or the email when there is no id', () => {
    expect(parsePerson({ id: 123456, plan: 'pro' })).toEqual({ id: '123456', signature: undefined, props: { plan: 'pro' } })
    expect(parsePerson({ email: 'a@b.co', name: 'A' })).toMatchObject({ id: 'a@b.co', props: { email: 'a@b.co', name: 'A' } })
    expect(parsePerson({ id: 7, email: 'a@b.co' })).toMatchObject({ id: '7' })
  })

  it('reads the Help Scout Beacon and Engagespot shapes with their inline signatures', () => {
    expect(parsePerson({ name: 'Ann', email: 'ann@x.io', signature: 'f'.repeat(64) })).toEqual({
      id: 'ann@x.io',
      signature: 'f'.repeat(64),
      props: { name: 'Ann', email: 'ann@x.io' },
    })
    expect(parsePerson({ userId: 'u-9', userSignature: 'c2ln' })).toEqual({ id: 'u-9', signature: 'c2ln', props: {} })
  })

  it('explains what is wrong with unusable input', () => {
    for (const bad of [undefined, null, 'alice', 42, {}, { id: '' }, { id: {} }, { id: NaN }, { id: 1, signature: 5 }, { id: 'x'.repeat(513) }])
      expect(typeof parsePerson(bad)).toBe('string')
  })
})

describe('identity binding', () => {
  it('holds an auth given before any identify for the next identify', async () => {
    page()
    gs('auth', 'sig-a')
    expect((await probe()).signature).toBeUndefined()
    gs('identify', { id: 'a' })
    expect(await probe()).toMatchObject({ personId: 'a', signature: 'sig-a' })
  })

  it('binds auth after identify to the current person', async () => {
    page()
    gs('identify', { id: 'a' })
    expect((await probe()).signature).toBeUndefined()
    gs('auth', 'sig-a')
    expect(await probe()).toMatchObject({ personId: 'a', signature: 'sig-a' })
  })

  it('clears the signature on an identify with a different id and keeps it for the same id', async () => {
    page()
    gs('identify', { id: 'a', signature: 'sig-a' })
    gs('identify', { id: 'a' })
    expect((await probe()).signature).toBe('sig-a')
    gs('identify', { id: 'b' })
    expect(await probe()).toEqual({ anonymousId: expect.any(String), personId: 'b', signature: undefined })
  })

  it('unidentify clears id, signature and person properties and starts a new anonymous id', async () => {
    page()
    gs('identify', { id: 'a', signature: 'sig-a', plan: 'pro' })
    const before = await probe()
    gs('unidentify')
    const after = await probe()
    expect(after).toEqual({ anonymousId: expect.any(String), personId: undefined, signature: undefined })
    expect(after.anonymousId).not.toBe(before.anonymousId)
    gs('properties', {})
    await settle()
    expect(wire.events().at(-1)!.props).toEqual({})
  })

  it('keeps properties set while anonymous for the first person, not for the next one', async () => {
    page()
    gs('properties', { theme: 'dark' })
    gs('identify', { id: 'a', plan: 'pro' })
    gs('identify', { id: 'b' })
    await settle()
    expect(wire.events().filter((e) => e.type == 'identify').map((e) => e.props)).toEqual([{ theme: 'dark', plan: 'pro' }, {}])
  })

  it('persists the id/signature pair and the anonymous id across page loads', async () => {
    page()
    gs('identify', { id: 'a', signature: 'sig-a' })
    const first = await probe()
    page()
    expect(await probe()).toEqual(first)
  })

  it('never lends a new signature to the person remembered from an earlier page', async () => {
    page()
    gs('identify', { id: 'a', signature: 'sig-a' })
    page()
    gs('auth', 'sig-b')
    expect(await probe()).toMatchObject({ personId: 'a', signature: 'sig-a' })
    gs('identify', { id: 'b' })
    expect(await probe()).toMatchObject({ personId: 'b', signature: 'sig-b' })
  })

  it('ignores a tampered stored record and starts afresh', async () => {
    for (const record of [{ a: 5 }, { a: 'anon', p: 7, s: 'sig' }, 'text', [1]]) {
      localStorage.setItem('signet', JSON.stringify(record))
      page()
      const stamp = await probe()
      expect(stamp.anonymousId).toMatch(/^[0-9a-f]{32}$/)
      expect(stamp.personId).toBeUndefined()
    }
  })
})

describe('storage', () => {
  it('keeps working in memory when localStorage throws', async () => {
    const throwing = { getItem: () => { throw new Error('denied') }, setItem: () => { throw new Error('quota') } }
    vi.stubGlobal('localStorage', throwing)
    page()
    gs('identify', { id: 'a', signature: 'sig-a' })
    expect(await probe()).toMatchObject({ personId: 'a', signature: 'sig-a' })
  })

  it('keeps an anonymous visitor’s id across reloads without any identify', async () => {
    page()
    const first = await probe()
    page()
    expect(await probe()).toEqual(first)
  })
})
