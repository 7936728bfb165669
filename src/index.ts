import { createIdentity, type IdentityState } from './identity'
import { onPageHide } from './lifecycle'
import { createPageQueue } from './pagequeue'
import { install } from './queue'
import { createStore } from './storage'
import { createTracker } from './tracker'
import { uid } from './uid'

// How often a live page says so, and looks for backlogs that closed pages left behind.
const HEARTBEAT = 5_000

install(window as unknown as Record<string, unknown>, '_gs', () => {
  const script = document.currentScript as HTMLScriptElement | null
  const pageQueue = createPageQueue(uid(), () => tracker.project(), (items) => tracker.adopt(items))
  const tracker = createTracker(
    new URL('/track', (script && script.src) || location.href).href,
    createIdentity(createStore<IdentityState>('signet'), uid),
    uid,
    pageQueue.save,
  )
  const beat = () => {
    pageQueue.beat()
    if (tracker.project()) pageQueue.claim()
  }
  // Once the snippet's queue has run, the project is known and backlogs can be claimed.
  setTimeout(beat)
  setInterval(beat, HEARTBEAT)
  addEventListener('pageshow', beat)
  addEventListener('online', tracker.retryNow)
  onPageHide(
    () => tracker.flush(true),
    () => {
      tracker.flush(true)
      pageQueue.release()
    },
  )
  return tracker
})
