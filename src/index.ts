import { createConsent } from './consent'
import { live } from './lifecycle'
import { install } from './router'
import { createCore } from './tracker'

const script = document.currentScript as HTMLScriptElement | null
const endpoint = new URL('/track', (script && script.src) || location.href).href
const consent = createConsent()

install(window as unknown as { _gs?: never }, (name) => live(createCore(name, endpoint, consent)))
