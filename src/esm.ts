import { createConsent } from './consent'
import { live } from './lifecycle'
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
 * commands as window._gs, and touches no global: `const gs = createTracker(); gs('GSN-1'); gs('event', 'signup')`.
 */
export function createTracker({ endpoint, name = '' }: TrackerOptions = {}): Gs {
  const tracker = live(createCore(name, new URL(endpoint || '/track', location.href).href, createConsent()))
  tracker.replayed()
  return (...args) => tracker.invoke(args)
}
