import { beforeEach, expect, it } from 'vitest'
import { createTracker } from '../src/esm'
import { recordWire, settle } from './harness'

beforeEach(() => {
  localStorage.clear()
  delete (window as { _gs?: unknown })._gs
})

it('createTracker tracks through the same commands as _gs, without touching any global', async () => {
  const wire = recordWire()
  const gs = createTracker({ endpoint: 'https://collector.test/collect', name: 'bundled' })
  gs('GSN-ESM', false)
  gs('identify', { id: 'u-1', signature: 'a'.repeat(64) })
  gs('event', 'from-a-bundle', { ok: true })
  await settle()
  expect(wire.requests.every((r) => r.url == 'https://collector.test/collect')).toBe(true)
  expect(wire.events().map((e) => [e.type, e.name, e.personId])).toEqual([
    ['identify', undefined, 'u-1'],
    ['event', 'from-a-bundle', 'u-1'],
  ])
  expect((window as { _gs?: unknown })._gs).toBeUndefined()
  expect(localStorage.getItem('signet_bundled')).not.toBeNull()
})

it('the built ESM file exports createTracker', async () => {
  const built = await import('../dist/signet.mjs' as string)
  expect(typeof built.createTracker).toBe('function')
})
