// Compiled by `npm run typecheck` (tsc --noEmit): the calls below must compile, and every line
// after @ts-expect-error must not.
import type {} from '../../types/global'
import { createTracker } from '../../types/signet'

_gs('GSN-123456-A')
_gs('GSN-123456-A', false)
_gs('GSN-123456-A', { secure: true, authTimeout: 5000, requireConsent: true })
_gs('GSN-222-B', 'second', { pageview: false })
_gs('second.event', 'signup', { plan: 'pro' })
_gs('track')
_gs('track', '/pricing', 'Pricing')
_gs('event', 'signup')
_gs('event', 'signup', { plan: 'pro', seats: 3 })
_gs('properties', { plan: 'pro' })
_gs('identify', { id: 123456, name: 'Ann' })
_gs('identify', { name: 'Ann', email: 'ann@example.com', signature: 'f'.repeat(64) })
_gs('identify', { userId: 'u-1', userSignature: 'c2ln' })
_gs('auth', 'f'.repeat(64))
_gs('auth', (id) => fetch('/signature?id=' + id).then((r) => r.text()))
_gs('unidentify')
_gs('on', 'rejected', ({ reason, personId, eventIds }) => console.log(reason, personId, eventIds.length))
_gs('on', 'state', (state) => state satisfies 'anonymous' | 'identified' | 'verified')
_gs('on', 'dropped', ({ count, reason }) => console.log(count, reason))
_gs('set', 'anonymizeIP', true)
_gs('set', 'trackParams', false)
_gs('set', { trackHash: true, cookieDomain: '.example.com', referrer: 'https://news.example/' })
_gs('transaction', 'order-41', { revenue: 30 }, [{ name: 'Sock', price: 10, quantity: 3 }])
_gs('transaction', 42)
_gs('consent', false)
window._gs('event', 'from-window')

const gs = createTracker({ endpoint: 'https://collector.example/track' })
gs('GSN-1')
gs('event', 'bundled')
gs('GSN-2', 'second')
gs('second.event', 'bundled-second')

// @ts-expect-error an event needs a name
_gs('event')
// @ts-expect-error event props are an object
_gs('event', 'signup', 'pro')
// @ts-expect-error identify needs an object with id, email or userId
_gs('identify', 'ann@example.com')
// @ts-expect-error identify needs id, email or userId
_gs('identify', { name: 'Ann' })
// @ts-expect-error auth needs a signature string or a provider
_gs('auth', 42)
// @ts-expect-error a provider takes a person id
_gs('auth', (id: number) => String(id))
// @ts-expect-error unknown listener
_gs('on', 'everything', () => {})
// @ts-expect-error a state listener gets a state
_gs('on', 'state', (state: number) => state)
// @ts-expect-error settings are debug or anonymizeIP
_gs('set', 'verbose', true)
// @ts-expect-error consent is a boolean
_gs('consent', 'yes')
// @ts-expect-error a command name is not a project token
_gs('identify')
// @ts-expect-error start options are an object or false
_gs('GSN-123456-A', true)
// @ts-expect-error unknown start option
_gs('GSN-123456-A', { endpiont: 'https://typo.example' })
// @ts-expect-error trackParams takes a boolean
_gs('set', 'trackParams', 'no')
// @ts-expect-error not a setting
_gs('set', 'trackParms', false)
// @ts-expect-error a transaction's items are an array
_gs('transaction', 'order-41', {}, { name: 'Sock' })
