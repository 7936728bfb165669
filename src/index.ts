import { createConsent } from './consent'
import { install } from './queue'
import { wireTracker } from './wire'

const script = document.currentScript as HTMLScriptElement | null
const endpoint = new URL('/track', (script && script.src) || location.href).href
const consent = createConsent()

install(window as unknown as Record<string, unknown>, '_gs', (name) => wireTracker(name, endpoint, consent))
