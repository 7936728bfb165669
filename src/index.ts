import { createConsent } from './consent'
import { live } from './lifecycle'
import { install } from './queue'
import { createTracker } from './tracker'

const script = document.currentScript as HTMLScriptElement | null
const endpoint = new URL('/track', (script && script.src) || location.href).href
const consent = createConsent()

install(window as unknown as { _gs?: never }, (name) => live(createTracker(name, endpoint, consent)))
