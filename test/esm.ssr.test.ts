// @vitest-environment node
import { expect, it, vi } from 'vitest'

// A server render (Next.js, Nuxt, SvelteKit) imports the same module and calls createTracker: in
// plain Node, with no window, document or location, nothing throws and nothing is scheduled.
it('createTracker during a server render returns a tracker whose calls do nothing', async () => {
  expect(typeof document).toBe('undefined')
  const timers = vi.spyOn(globalThis, 'setTimeout')
  const intervals = vi.spyOn(globalThis, 'setInterval')
  const { createTracker } = await import('../src/esm')
  const gs = createTracker({ endpoint: 'https://collector.test/track' })
  expect(() => {
    gs('GSN-SSR')
    gs('identify', { id: 'u-1' })
    gs('event', 'rendered', { on: 'server' })
    gs('transaction', 't-1', {}, [{ price: 1 }])
  }).not.toThrow()
  expect(timers).not.toHaveBeenCalled()
  expect(intervals).not.toHaveBeenCalled()
})
