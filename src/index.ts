import { createAuthQueue, type Waiting } from './authqueue'
import { createIdentity, type IdentityState } from './identity'
import { onPageHide } from './lifecycle'
import { install } from './queue'
import { createStore } from './storage'
import { createTracker } from './tracker'
import { uid } from './uid'

install(window as unknown as Record<string, unknown>, '_gs', () => {
  const script = document.currentScript as HTMLScriptElement | null
  const tracker = createTracker(
    new URL('/track', (script && script.src) || location.href).href,
    createIdentity(createStore<IdentityState>('signet'), uid),
    createAuthQueue(createStore<Waiting[]>('signet_wait')),
    uid,
  )
  onPageHide(() => tracker.flush(true))
  return tracker
})
