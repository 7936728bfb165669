import type { Consent } from './consent'
import { createIdentity, type IdentityState } from './identity'
import { onPageHide } from './lifecycle'
import { createPageQueue } from './pagequeue'
import { createStore } from './storage'
import { createTracker, type Tracker } from './tracker'
import { uid } from './uid'

// How often a live page says so, and looks for backlogs that closed pages left behind.
const HEARTBEAT = 5_000

/** One tracker with its storage, outbox and page lifecycle wired up. */
export function wireTracker(name: string, endpoint: string, consent: Consent): Tracker {
  let tracker: Tracker | undefined
  const allowed = () => !!tracker && tracker.may()
  const identityStore = createStore<IdentityState>(name ? 'signet_' + name : 'signet', allowed)
  const pageQueue = createPageQueue(uid(), () => tracker!.project(), (items) => tracker!.adopt(items), allowed)
  const t = (tracker = createTracker({
    endpoint,
    identity: createIdentity(identityStore, uid),
    consent,
    newId: uid,
    save: pageQueue.save,
    forget() {
      identityStore.clear()
      pageQueue.clear()
    },
  }))
  const beat = () => {
    pageQueue.beat()
    pageQueue.claim()
  }
  // Once the snippet's queue has run, the project is known and backlogs can be claimed.
  setTimeout(beat)
  setInterval(beat, HEARTBEAT)
  addEventListener('pageshow', beat)
  addEventListener('online', t.retryNow)
  onPageHide(
    () => t.flush(true),
    () => {
      t.flush(true)
      pageQueue.release()
    },
  )
  return t
}
