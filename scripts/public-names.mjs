// Property names that survive minification of the browser files. Everything else is internal and
// may be shortened. A test (test/build.test.ts) checks the built files still carry these.
export const WIRE_KEYS = [
  // batch
  'v', 'project', 'sentAt', 'anonymizeIP', 'events',
  // event
  'id', 'type', 'ts', 'anonymousId', 'personId', 'signature', 'name', 'props', 'page', 'url', 'title', 'referrer',
  // collector answer
  'accepted', 'rejected', 'reason',
]

export const PUBLIC_NAMES = [
  ...WIRE_KEYS,
  // the global and the snippet's queue
  '_gs', 'q',
  // start options
  'endpoint', 'pageview', 'secure', 'authTimeout', 'identityTtl', 'spa', 'hash', 'requireConsent', 'privacySignals',
  // GoSquared's settings, and the keys of its transactions (options, items) that the tracker reads
  'trackParams', 'trackHash', 'trackLocal', 'useCookies', 'cookieDomain', 'debug', 'track', 'revenue', 'quantity', 'price', 'items',
  // person shapes (GoSquared, Help Scout, Engagespot)
  'email', 'userId', 'userSignature',
  // payloads given to _gs('on') handlers
  'eventIds', 'count',
  // stored records: identity {a, p, s, r, x, t, c}, outbox {p, i} of items {e, w}, locks {by, at}
  'a', 'p', 's', 'r', 'x', 't', 'c', 'i', 'e', 'w', 'by', 'at',
  // vendor globals and Help Scout's stub queue
  'Beacon', 'Engagespot', 'readyQueue', 'method', 'options', 'data',
  // browser APIs newer than terser's list of DOM names
  'globalPrivacyControl', 'sendBeacon', 'nonce',
]
