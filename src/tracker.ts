import { isDevHost, signatureProblem } from './checks'
import { privacySignal, type Consent } from './consent'
import { createEmitter } from './emitter'
import { isString, parsePerson, type Identity } from './identity'
import { clip, LIMITS } from './limits'
import { createOutbox } from './outbox'
import type { Item } from './pagequeue'
import { currentPage, makeBatch, makeEvent, snapshot, type EventType, type Page, type WireEvent } from './payload'
import { createSecure } from './secure'
import { onRouteChange } from './spa'
import { beacon, post } from './transport'
import { text, warn } from './warn'

/** Every command name; anything else in first place is a project token. */
export const COMMANDS = ['track', 'event', 'properties', 'identify', 'auth', 'unidentify', 'on', 'set', 'consent']

const UNKNOWN = 'not a command or a project token'

// Long enough to gather a burst of calls into one request, short enough to beat a navigation.
const FLUSH_DELAY = 20

export interface Env {
  /** Where events go unless the start options say otherwise: the tracker script's origin + /track. */
  endpoint: string
  identity: Identity
  consent: Consent
  newId: () => string
  /** Stores the outbox, given as the JSON of its items (the page queue; it checks may() itself). */
  save: (items: string) => void
  /** Consent was refused: removes what this tracker stored. */
  forget: () => void
}

interface Options {
  endpoint?: unknown
  pageview?: unknown
  secure?: unknown
  authTimeout?: unknown
  spa?: unknown
  hash?: unknown
  requireConsent?: unknown
  privacySignals?: unknown
}

export function createTracker({ endpoint, identity, consent, newId, save, forget }: Env) {
  let project: string | undefined
  let options: Options = {}
  let replaying = true
  let autoPageview = false
  let debug = isDevHost(location.hostname)
  let anonymizeIP = false
  // identify's own event waits for the rest of the current task, so GoSquared's order
  // identify → auth still sends it signed. Nothing else runs in between except auth for that person.
  let identifyEvent: WireEvent | undefined

  // Opted out (now or on an earlier page), or a privacy signal the site chose to respect.
  const refused = () => consent.given() === false || (options.privacySignals === true && privacySignal())
  // Whether anything may be stored or sent: started, not refused, and consented if the project asks.
  const may = () => !!project && !refused() && (consent.given() === true || options.requireConsent !== true)

  const events = createEmitter()

  const outbox = createOutbox(
    {
      send: (batch) => (may() ? post(endpoint, makeBatch(project!, batch, anonymizeIP)) : undefined),
      beacon: (batch) => may() && beacon(endpoint, makeBatch(project!, batch, anonymizeIP)),
      answered(d, sent) {
        const rejected = d.answer && d.answer.rejected
        if (rejected && rejected.length) {
          warn(`${rejected.length} event(s) rejected: ${rejected.map((r) => r.reason).join(', ')}`)
          secure.rejected(sent, rejected)
        } else if (!d.ok) warn(`${sent.length} event(s) dropped: HTTP ${d.status}`)
      },
      dropped: (count, reason) => events.emit('dropped', { count, reason }),
      save,
    },
    FLUSH_DELAY,
  )

  const secure = createSecure(identity, outbox, events.emit)

  const store = () => {
    if (!may()) return
    identity.save()
    outbox.save()
    // Sent in a task of its own, so starting the tracker costs the host page no network call.
    setTimeout(outbox.flush)
  }

  consent.on((given) => {
    if (given) return store()
    // Refused: nothing waiting is sent, nothing of this tracker stays stored.
    const count = outbox.clear()
    if (count) events.emit('dropped', { count, reason: 'consent' })
    forget()
  })

  const dispatch = (e: WireEvent) => {
    if (!refused()) secure.dispatch(e)
  }

  const event = (type: EventType, page: Page, name?: string, props?: object) =>
    makeEvent(newId(), type, identity.stamp(), page, name, props as WireEvent['props'])

  const settle = () => {
    if (identifyEvent) dispatch(Object.assign(identifyEvent, identity.stamp()))
    identifyEvent = undefined
  }

  const checkSignature = (signature: string) => {
    const problem = debug && signatureProblem(signature)
    if (problem) warn(problem)
  }

  const start = (token: string, given: unknown): string | void => {
    if (project) return project == token ? undefined : UNKNOWN
    if (given === false) given = { pageview: false }
    if (!token || (given !== undefined && (!given || typeof given != 'object'))) return UNKNOWN
    const o = { ...(given as Options) }
    const { endpoint: url, authTimeout = 10_000 } = o
    if (url !== undefined) {
      if (!isString(url)) return 'bad endpoint'
      endpoint = new URL(url, location.href).href
    }
    if (!(typeof authTimeout == 'number' && authTimeout >= 0)) return 'bad authTimeout'
    project = token
    options = o
    secure.start(o.secure === true, authTimeout)
    if (o.pageview !== false) {
      if (replaying) autoPageview = true
      else command('track')
      if (o.spa !== false) onRouteChange(() => command('track'), () => o.hash === true)
    }
    store()
  }

  function command(name: string, a?: unknown, b?: unknown): string | void {
    if (name != 'auth') settle()
    switch (name) {
      case 'track':
        if ((a != null && !isString(a)) || (b != null && !isString(b))) return 'path and title must be strings'
        return dispatch(event('pageview', currentPage(a as string, b as string)))
      case 'event':
        if (!isString(a) || !a) return 'an event needs a name'
        if (a.length > LIMITS.name) warn(`event name cut to ${LIMITS.name} characters`)
        return dispatch(event('event', currentPage(), clip(a, LIMITS.name), snapshot(b)))
      case 'properties': {
        const props = snapshot(a)
        if (!props) return 'properties needs an object'
        return dispatch(event('properties', currentPage(), undefined, identity.properties(props)))
      }
      case 'identify': {
        const person = parsePerson(a)
        if (isString(person)) return person
        person.props = snapshot(person.props) || {}
        if (person.signature) checkSignature(person.signature)
        identifyEvent = event('identify', currentPage(), undefined, identity.identify(person))
        secure.identified()
        Promise.resolve().then(settle)
        return
      }
      case 'auth':
        if (typeof a == 'function') return secure.provide(a as (personId: string) => string)
        if (!isString(a) || !a || a.length > LIMITS.signature)
          return 'needs a signature or a function'
        checkSignature(a)
        return identity.auth(a)
      case 'unidentify':
        return identity.reset()
      case 'on':
        if (!isString(a) || typeof b != 'function') return 'needs a name and a function'
        events.on(a, b as (payload: unknown) => void)
        // A 'state' listener learns the current state at once, then every change.
        if (a == 'state') events.call(a, b as (payload: unknown) => void, secure.state())
        return
      case 'set':
        if (typeof b != 'boolean' || (a != 'debug' && a != 'anonymizeIP'))
          return 'needs debug or anonymizeIP, and a boolean'
        if (a == 'debug') debug = b
        else anonymizeIP = b
        return
      case 'consent':
        if (typeof a != 'boolean') return 'needs true or false'
        return consent.set(a)
    }
    return start(name, a)
  }

  return {
    run(args: ArrayLike<unknown>) {
      const name = args[0]
      let problem: string | void
      try {
        problem = isString(name)
          ? command(name, args[1], args[2])
          : UNKNOWN
        secure.settled()
      } catch (e) {
        problem = isString(e) ? e : 'unreadable arguments: ' + text(e)
      }
      if (problem) warn(`_gs(${isString(name) ? JSON.stringify(name.slice(0, 40)) : '…'}) ignored: ${problem}`)
    },
    replayed() {
      replaying = false
      if (autoPageview) command('track')
      secure.settled()
    },
    project: () => project,
    may,
    flush: outbox.flush,
    retryNow: outbox.retryNow,
    adopt(items: Item[]) {
      outbox.adopt(items)
      secure.wake()
    },
  }
}

export type Tracker = ReturnType<typeof createTracker>
