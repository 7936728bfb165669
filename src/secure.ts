import { isString, type Identity } from './identity'
import type { Outbox } from './outbox'
import type { WireEvent } from './payload'
import type { CollectorAnswer } from './transport'
import { text, warn } from './warn'

export type State = 'anonymous' | 'identified' | 'verified'
export type SignatureProvider = (personId: string) => string | PromiseLike<string>

const REFRESH_INTERVAL = 30_000
const TRIES = 3

// Secure Mode in the browser: decides which identified events wait for a signature, hands each
// signature only to events of the id it was given for, asks the site's provider, and turns the
// collector's rejections into 'rejected' notifications and (with a provider) one signed re-send.
export function createSecure(identity: Identity, queue: Outbox, emit: (name: string, payload: unknown) => void) {
  let secure = false
  let timeout = 10_000
  let provider: SignatureProvider | undefined
  let last: State | undefined
  const asking = new Set<string>()
  const refreshedAt = new Map<string, number>()
  const warned = new Set<string>()

  const state = (): State => {
    const s = identity.stamp()
    return s.personId ? (s.signature ? 'verified' : 'identified') : 'anonymous'
  }

  const notify = () => {
    const now = state()
    if (now != last) emit('state', (last = now))
  }

  // Every wait gets its own timer, which frees what was waiting when it was set (timers may fire a
  // little early, so not by measuring the wait): unsigned, with one warning per person.
  const expireLater = (at = Date.now()) =>
    setTimeout(() => {
      const people = queue
        .expire(at)
        .map((e) => e.personId!)
        .filter((p) => !warned.has(p) && warned.add(p))
      if (people.length)
        warn(`no signature for "${people.join('", "')}" in ${timeout / 1000} s, sent unsigned: call _gs('auth', signature) after identify`)
    }, timeout)

  const hold = (e: WireEvent) => {
    queue.hold(e)
    expireLater()
  }

  // One question per person at a time; an answer applies to the id asked, whoever is identified by
  // then. A throw, a rejection or anything but a non-empty string is retried with backoff, then reported.
  const ask = (personId: string, attempt = 0) => {
    if (!provider || (!attempt && asking.has(personId))) return
    asking.add(personId)
    const fn = provider
    new Promise<unknown>((resolve) => resolve(fn(personId)))
      .then((signature) => {
        if (!isString(signature) || !signature) throw 'no string'
        asking.delete(personId)
        identity.sign(personId, signature)
        queue.release(personId, signature)
        notify()
      })
      .catch((error: unknown) => {
        if (attempt + 1 < TRIES) setTimeout(() => ask(personId, attempt + 1), 1000 << attempt)
        else {
          asking.delete(personId)
          warn(`signature provider failed for "${personId}": ${text(error)}`)
          if (!secure) queue.release(personId)
        }
      })
  }

  const askForCurrent = () => {
    const s = identity.stamp()
    if (s.personId && !s.signature) ask(s.personId)
  }

  return {
    state,

    start(isSecure: boolean, authTimeout: number) {
      secure = isSecure
      timeout = authTimeout
      expireLater()
    },

    /** Sends an event, or holds it while its person has no signature and one is required or on its way. */
    dispatch(e: WireEvent) {
      if (e.personId && !e.signature && (secure || asking.has(e.personId))) hold(e)
      else queue.push(e)
    },

    provide(fn: SignatureProvider) {
      provider = fn
      askForCurrent()
    },

    /** Waiting events came from another page's backlog: their timeout runs here now. */
    wake: () => expireLater(),

    /** After identify: a new person without a signature gets one from the provider, if there is one. */
    identified: askForCurrent,

    /** After every command: a signature now held for the current person frees that person's waiting events. */
    settled() {
      const s = identity.stamp()
      if (s.personId && s.signature) queue.release(s.personId, s.signature)
      notify()
    },

    rejected(sent: WireEvent[], rejections: NonNullable<CollectorAnswer['rejected']>) {
      const byId = new Map(sent.map((e) => [e.id, e]))
      const groups = new Map<string, { reason: string; personId?: string; eventIds: string[] }>()
      for (const { id, reason } of rejections) {
        const personId = (byId.get(id) || ({} as WireEvent)).personId
        const key = reason + '\n' + personId
        groups.set(key, groups.get(key) || { reason, personId, eventIds: [] })
        groups.get(key)!.eventIds.push(id)
      }
      const now = Date.now()
      groups.forEach((group) => {
        emit('rejected', group)
        const { personId, reason, eventIds } = group
        if (!personId || !provider || !/^(bad|expired)_signature$/.test(reason) || now - (refreshedAt.get(personId) || -1e13) < REFRESH_INTERVAL)
          return
        // One fresh signature per person per interval; the events keep their ids when re-sent.
        refreshedAt.set(personId, now)
        const refused = eventIds.map((id) => byId.get(id)!)
        if (refused.some((e) => e.signature == identity.stamp().signature)) identity.sign(personId)
        for (const e of refused) hold(Object.assign(e, { signature: undefined }))
        ask(personId)
        notify()
      })
    },
  }
}

export type Secure = ReturnType<typeof createSecure>
