import { describe, expect, it } from 'vitest'
import { createIdentity, parsePerson, type IdentityState, type Person } from '../src/identity'
import { createStore, type Store } from '../src/storage'

let n = 0
const newId = () => `anon-${++n}`
const person = (id: string, signature?: string): Person => ({ id, signature, props: {} })

// A store shared by several "page loads", as localStorage would be.
const memoryStore = (): Store<IdentityState> => {
  let saved: string | undefined
  return {
    get: () => (saved ? JSON.parse(saved) : undefined),
    set: (v) => void (saved = JSON.stringify(v)),
    clear: () => void (saved = undefined),
  }
}

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
    for (const bad of [undefined, null, 'alice', 42, {}, { id: '' }, { id: {} }, { id: NaN }, { id: 1, signature: 5 }])
      expect(typeof parsePerson(bad)).toBe('string')
  })
})

describe('identity binding', () => {
  it('holds an auth given before any identify for the next identify', () => {
    const id = createIdentity(memoryStore(), newId)
    id.auth('sig-a')
    expect(id.stamp().signature).toBeUndefined()
    id.identify(person('a'))
    expect(id.stamp()).toMatchObject({ personId: 'a', signature: 'sig-a' })
  })

  it('binds auth after identify to the current person', () => {
    const id = createIdentity(memoryStore(), newId)
    id.identify(person('a'))
    expect(id.stamp().signature).toBeUndefined()
    id.auth('sig-a')
    expect(id.stamp()).toMatchObject({ personId: 'a', signature: 'sig-a' })
  })

  it('clears the signature on an identify with a different id and keeps it for the same id', () => {
    const id = createIdentity(memoryStore(), newId)
    id.identify(person('a', 'sig-a'))
    id.identify(person('a'))
    expect(id.stamp().signature).toBe('sig-a')
    id.identify(person('b'))
    expect(id.stamp()).toEqual({ anonymousId: expect.any(String), personId: 'b', signature: undefined })
  })

  it('unidentify clears id, signature and person properties and starts a new anonymous id', () => {
    const id = createIdentity(memoryStore(), newId)
    const before = id.stamp().anonymousId
    id.identify({ id: 'a', signature: 'sig-a', props: { plan: 'pro' } })
    id.reset()
    expect(id.stamp()).toEqual({ anonymousId: expect.not.stringMatching(before), personId: undefined, signature: undefined })
    expect(id.properties({})).toEqual({})
  })

  it('keeps properties set while anonymous for the first person, not for the next one', () => {
    const id = createIdentity(memoryStore(), newId)
    id.properties({ theme: 'dark' })
    expect(id.identify({ id: 'a', props: { plan: 'pro' } })).toEqual({ theme: 'dark', plan: 'pro' })
    expect(id.identify({ id: 'b', props: {} })).toEqual({})
  })

  it('persists the id/signature pair and the anonymous id across page loads', () => {
    const store = memoryStore()
    const first = createIdentity(store, newId)
    first.identify(person('a', 'sig-a'))
    const second = createIdentity(store, newId)
    expect(second.stamp()).toEqual(first.stamp())
  })

  it('never lends a new signature to the person remembered from an earlier page', () => {
    const store = memoryStore()
    createIdentity(store, newId).identify(person('a', 'sig-a'))
    const page = createIdentity(store, newId)
    page.auth('sig-b')
    expect(page.stamp()).toMatchObject({ personId: 'a', signature: 'sig-a' })
    page.identify(person('b'))
    expect(page.stamp()).toMatchObject({ personId: 'b', signature: 'sig-b' })
  })

  it('ignores a tampered stored record and starts afresh', () => {
    const store = memoryStore()
    store.set({ a: 5 } as unknown as IdentityState)
    expect(createIdentity(store, () => 'fresh').stamp()).toEqual({ anonymousId: 'fresh', personId: undefined, signature: undefined })
  })
})

describe('storage', () => {
  it('keeps working in memory when localStorage throws', () => {
    const throwing = { getItem: () => { throw new Error('denied') }, setItem: () => { throw new Error('quota') } }
    const real = Object.getOwnPropertyDescriptor(globalThis, 'localStorage')
    Object.defineProperty(globalThis, 'localStorage', { value: throwing, configurable: true })
    try {
      const id = createIdentity(createStore<IdentityState>('signet'), () => 'mem-1')
      id.identify(person('a', 'sig-a'))
      expect(id.stamp()).toEqual({ anonymousId: 'mem-1', personId: 'a', signature: 'sig-a' })
    } finally {
      Object.defineProperty(globalThis, 'localStorage', real!)
    }
  })

  it('keeps an anonymous visitor’s id across reloads without any identify', () => {
    localStorage.clear()
    const first = createIdentity(createStore<IdentityState>('signet'), () => 'anon-first').stamp()
    expect(createIdentity(createStore<IdentityState>('signet'), () => 'anon-second').stamp()).toEqual(first)
  })

  it('survives a reload through localStorage', () => {
    localStorage.clear()
    createIdentity(createStore<IdentityState>('signet'), () => 'anon-x').identify(person('a', 'sig-a'))
    expect(createIdentity(createStore<IdentityState>('signet'), () => 'other').stamp()).toEqual({
      anonymousId: 'anon-x',
      personId: 'a',
      signature: 'sig-a',
    })
  })
})
