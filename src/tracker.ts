import { parsePerson, type Identity } from './identity'
import { createOutbox } from './outbox'
import { currentPage, makeBatch, makeEvent, snapshot, type EventType, type Page, type WireEvent } from './payload'
import { post, type Delivery } from './transport'
import { warn } from './warn'

const isString = (v: unknown): v is string => typeof v == 'string'

// Long enough to gather a burst of calls into one request, short enough to beat a navigation.
const FLUSH_DELAY = 20

export function createTracker(defaultEndpoint: string, identity: Identity, newId: () => string) {
  let project: string | undefined
  let endpoint = defaultEndpoint
  let replaying = true
  let autoPageview = false
  // identify's own event waits for the rest of the current task, so GoSquared's order
  // identify → auth still sends it signed. Nothing else runs in between except auth for that person.
  let identifyEvent: WireEvent | undefined

  const report = (d: Delivery, count: number): Delivery => {
    const rejected = d.answer && d.answer.rejected
    if (rejected && rejected.length)
      warn(`the collector rejected ${rejected.length} event(s): ${rejected.map((r) => r.reason).join(', ')}`)
    else if (!d.ok && !d.retry) warn(`the collector answered ${d.status}; ${count} event(s) dropped`)
    return d
  }

  const outbox = createOutbox(
    (events, beacon) =>
      project ? post(endpoint, makeBatch(project, events), beacon).then((d) => report(d, events.length)) : undefined,
    FLUSH_DELAY,
  )

  const event = (type: EventType, page: Page, name?: string, props?: object) =>
    makeEvent(newId(), type, identity.stamp(), page, name, props as WireEvent['props'])

  const settle = () => {
    if (identifyEvent) outbox.push(Object.assign(identifyEvent, identity.stamp()))
    identifyEvent = undefined
  }

  const start = (token: string, options: unknown): string | void => {
    if (project) return project == token ? undefined : `"${token}" is not a command`
    if (!token) return 'the project token must be a non-empty string'
    if (options === false) options = { pageview: false }
    if (options !== undefined && (!options || typeof options != 'object'))
      return `"${token}" is not a command, and a project token's options must be false or an object`
    const { endpoint: url, pageview } = (options || {}) as { endpoint?: unknown; pageview?: unknown }
    if (url !== undefined) {
      const bad = 'endpoint must be the URL of the collect endpoint'
      if (!isString(url)) return bad
      try {
        endpoint = new URL(url, location.href).href
      } catch (_) {
        return bad
      }
    }
    project = token
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
        return outbox.push(event('pageview', currentPage(a as string, b as string)))
      case 'event':
        if (!isString(a) || !a) return 'an event needs a name'
        return outbox.push(event('event', currentPage(), a, snapshot(b)))
      case 'properties': {
        const props = snapshot(a)
        if (!props) return 'properties needs an object'
        return outbox.push(event('properties', currentPage(), undefined, identity.properties(props)))
      }
      case 'identify': {
        const person = parsePerson(a)
        if (isString(person)) return person
        person.props = snapshot(person.props)!
        identifyEvent = event('identify', currentPage(), undefined, identity.identify(person))
        Promise.resolve().then(settle)
        return
      }
      case 'auth':
        if (!isString(a) || !a) return 'auth needs the Person Signature made on your server, as a string'
        return identity.auth(a)
      case 'unidentify':
        return identity.reset()
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
      } catch (e) {
        problem = isString(e) ? e : 'its arguments cannot be read (a cycle, BigInt or throwing getter in props, or a bad URL?)'
      }
      if (problem) warn(`_gs(${isString(name) ? JSON.stringify(name.slice(0, 40)) : '…'}) ignored: ${problem}`)
    },
    replayed() {
      replaying = false
      if (autoPageview) command('track')
    },
    flush: outbox.flush,
  }
}

export type Tracker = ReturnType<typeof createTracker>
