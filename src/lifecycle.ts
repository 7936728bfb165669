import type { Core } from './tracker'

// How often a live page says so, and looks for backlogs that closed pages left behind.
const HEARTBEAT = 5_000

/** Gives a tracker its timers and page events. */
export function live(t: Core): Core {
  const hidden = t.departing
  // Once the snippet's queue has run, the project is known and backlogs can be claimed.
  setTimeout(t.beat)
  setInterval(t.beat, HEARTBEAT)
  addEventListener('pageshow', t.beat)
  addEventListener('online', t.online)
  // pagehide covers navigation and bfcache; visibilitychange covers tab switches and mobile app
  // switching, after which the page may be killed without any further event.
  addEventListener('pagehide', () => {
    hidden()
    t.leave()
  })
  document.addEventListener('visibilitychange', () => document.visibilityState == 'hidden' && hidden())
  return t
}
