import { isDevHost, signatureProblem } from './checks'
import { createEmitter } from './emitter'
import { parsePerson, type Identity } from './identity'
import { createOutbox } from './outbox'
import type { Item } from './pagequeue'
import { currentPage, makeBatch, makeEvent, snapshot, type EventType, type Page, type WireEvent } from './payload'
import { createSecure } from './secure'
import { beacon, post } from './transport'
import { warn } from './warn'

const isString = (v: unknown): v is string => typeof v == 'string'

// Long enough to gather a burst of calls into one request, short enough to beat a navigation.
const FLUSH_DELAY = 20

export function createTracker(
  defaultEndpoint: string,
  identity: Identity,
  newId: () => string,
  save: (items: Item[], project?: string) => void,
) {
  let project: string | undefined
  let endpoint = defaultEndpoint
  let replaying = true
  let autoPageview = false
  let debug = isDevHost(location.hostname)
  // identify's own event waits for the rest of the current task, so GoSquared's order
  // identify → auth still sends it signed. Nothing else runs in between except auth for that person.
  let identifyEvent: WireEvent | undefined

  const events = createEmitter((name) => warn(`a '${name}' handler threw; tracking goes on`))

  const outbox = createOutbox(
    {
      send: (batch) => (project ? post(endpoint, makeBatch(project, batch)) : undefined),
      beacon: (batch) => !!project && beacon(endpoint, makeBatch(project, batch)),
      answered(d, sent) {
        const rejected = d.answer && d.answer.rejected
        if (rejected && rejected.length) {
          warn(`the collector rejected ${rejected.length} event(s): ${rejected.map((r) => r.reason).join(', ')}`)
          secure.rejected(sent, rejected)
        } else if (!d.ok) warn(`the collector answered ${d.status}; ${sent.length} event(s) dropped`)
      },
      dropped: (count, reason) => events.emit('dropped', { count, reason }),
      save: (items) => save(items, project),
    },
    FLUSH_DELAY,
  )

  const secure = createSecure(identity, outbox, events)

  const event = (type: EventType, page: Page, name?: string, props?: object) =>
    makeEvent(newId(), type, identity.stamp(), page, name, props as WireEvent['props'])

  const settle = () => {
    if (identifyEvent) secure.dispatch(Object.assign(identifyEvent, identity.stamp()))
    identifyEvent = undefined
  }

  const checkSignature = (signature: string) => {
    const problem = debug && signatureProblem(signature)
    if (problem) warn(`a signature was given that looks wrong: ${problem}`)
  }

  const start = (token: string, options: unknown): string | void => {
    if (project) return project == token ? undefined : `"${token}" is not a command`
    if (!token) return 'the project token must be a non-empty string'
    if (options === false) options = { pageview: false }
    if (options !== undefined && (!options || typeof options != 'object'))
      return `"${token}" is not a command, and a project token's options must be false or an object`
    const { endpoint: url, pageview, secure: isSecure, authTimeout = 10_000 } = (options || {}) as Record<string, unknown>
    if (url !== undefined) {
      const bad = 'endpoint must be the URL of the collect endpoint'
      if (!isString(url)) return bad
      try {
        endpoint = new URL(url, location.href).href
      } catch (_) {
        return bad
      }
    }
    if (!(typeof authTimeout == 'number' && authTimeout >= 0)) return 'authTimeout must be a number of milliseconds'
    project = token
    outbox.save()
    secure.start(isSecure === true, authTimeout)
    if (pageview !== false) {
      if (replaying) autoPageview = true
      else command('track')
    }
    outbox.flush()
  }

  function command(name: string, a?: unknown, b?: unknown): string | void {
    if (name != 'auth') settle()
    switch (name) {
      case 'track':
        if ((a != null && !isString(a)) || (b != null && !isString(b))) return 'path and title must be strings'
        return secure.dispatch(event('pageview', currentPage(a as string, b as string)))
      case 'event':
        if (!isString(a) || !a) return 'an event needs a name'
        return secure.dispatch(event('event', currentPage(), a, snapshot(b)))
      case 'properties': {
        const props = snapshot(a)
        if (!props) return 'properties needs an object'
        return secure.dispatch(event('properties', currentPage(), undefined, identity.properties(props)))
      }
      case 'identify': {
        const person = parsePerson(a)
        if (isString(person)) return person
        person.props = snapshot(person.props)!
        if (person.signature) checkSignature(person.signature)
        identifyEvent = event('identify', currentPage(), undefined, identity.identify(person))
        secure.identified()
        Promise.resolve().then(settle)
        return
      }
      case 'auth':
        if (typeof a == 'function') return secure.provide(a as (personId: string) => string)
        if (!isString(a) || !a)
          return 'auth needs the Person Signature made on your server, or a function that returns it for a person id'
        checkSignature(a)
        return identity.auth(a)
      case 'unidentify':
        return identity.reset()
      case 'on':
        if (!isString(a) || typeof b != 'function') return "on needs an event name and a function, e.g. _gs('on', 'rejected', fn)"
        events.on(a, b as (payload: unknown) => void)
        // A 'state' listener learns the current state at once, then every change.
        if (a == 'state')
          try {
            b(secure.state())
          } catch (_) {
            warn("a 'state' handler threw; tracking goes on")
          }
        return
      case 'set':
        if (a == 'debug' && typeof b == 'boolean') return void (debug = b)
        return `unknown setting ${JSON.stringify(a)} (settings: debug)`
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
          : 'the first argument must be a command name or a project token'
        secure.settled()
      } catch (e) {
        problem = isString(e) ? e : 'its arguments cannot be read (a cycle, BigInt or throwing getter in props, or a bad URL?)'
      }
      if (problem) warn(`_gs(${isString(name) ? JSON.stringify(name.slice(0, 40)) : '…'}) ignored: ${problem}`)
    },
    replayed() {
      replaying = false
      if (autoPageview) command('track')
      secure.settled()
    },
    project: () => project,
    flush: outbox.flush,
    retryNow: outbox.retryNow,
    adopt(items: Item[]) {
      outbox.adopt(items)
      secure.wake()
    },
  }
}

export type Tracker = ReturnType<typeof createTracker>
