// Help Scout Beacon's calls mapped onto Signet, for sites moving from Beacon('identify', {email, signature}).
import { own } from '../storage'
import { warn } from '../warn'
import { gs } from './gs'

type Queued = { method: string; options?: unknown; data?: unknown }
type BeaconFn = ((method: string, options?: unknown, data?: unknown) => void) & { readyQueue?: Queued[] }

const w = window as unknown as { Beacon?: BeaconFn }
const existing = w.Beacon
const unsupported = new Set<string>()

// Help Scout's own snippet leaves a stub with a readyQueue and loads its script from helpscout.net;
// when that is on the page, the real Beacon is coming and this adapter stays out of its way.
if (existing && (!existing.readyQueue || document.querySelector('script[src*="helpscout.net"]')))
  warn('window.Beacon belongs to Help Scout on this page; the Signet Beacon adapter does nothing')
else {
  const beacon: BeaconFn = (method, options) => {
    if (method == 'init') gs(options)
    else if (method == 'identify') gs('identify', options)
    else if (method == 'logout') gs('unidentify')
    else if (method == 'event') {
      // Own properties only: a key on Object.prototype is not part of the event.
      const props = own(options as Record<string, unknown>)
      const { type, url, title } = props
      if (type == 'page-viewed') gs('track', url, title)
      else {
        delete props.type
        gs('event', type, props)
      }
    } else if (!unsupported.has(method)) {
      unsupported.add(method)
      warn(`Beacon('${method}') has no Signet equivalent and is ignored`)
    }
  }
  w.Beacon = beacon
  for (const call of (existing && existing.readyQueue) || []) beacon(call.method, call.options, call.data)
}
