import { createConsent } from './consent'
import { live } from './lifecycle'
import { install } from './router'
import { createCore } from './tracker'

export interface TrackerOptions {
  /** The collect endpoint; default: this page's origin + /track. */
  endpoint?: string
  /** Keeps this tracker's identity apart from other trackers' on the page (storage key signet_<name>). */
  name?: string
}

export type Gs = (...args: unknown[]) => void

/**
 * A tracker for bundler users, built from the same modules as dist/tracker.js. It answers the same
 * commands as window._gs, named trackers included (`gs('GSN-2', 'second')`, `gs('second.event', …)`),
 * and touches no global: `const gs = createTracker(); gs('GSN-1'); gs('event', 'signup')`.
 * During a server render it returns a tracker whose calls do nothing.
 */
export function createTracker({ endpoint, name = '' }: TrackerOptions = {}): Gs {
  // On a server (a Next.js, Nuxt or SvelteKit render) there is no page to track: a tracker whose
  // calls do nothing, with no timer or listener, so the same module can be imported on both sides.
  if (typeof document == 'undefined') return () => {}
  const url = new URL(endpoint || '/track', location.href).href
  const consent = createConsent()
  // The router of tracker.js, on an object of its own instead of window.
  const holder: { _gs?: Gs } = {}
  install(holder, (tracker) => live(createCore(tracker || name, url, consent)))
  return holder._gs!
}
