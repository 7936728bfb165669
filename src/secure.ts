import type { Emitter } from './emitter'
import type { Identity } from './identity'
import type { Outbox } from './outbox'
import type { WireEvent } from './payload'
import { createAsker, type SignatureProvider } from './provider'
import type { CollectorAnswer } from './transport'
import { warn } from './warn'

export type State = 'anonymous' | 'identified' | 'verified'

const REFRESH_INTERVAL = 30_000
const text = (e: unknown) => {
  try {
    return String((e as Error).message || e)
  } catch (_) {
    return '?'
  }
}

// Secure Mode in the browser: decides which identified events wait for a signature, hands each
// signature only to events of the id it was given for, asks the site's provider, and turns the
// collector's rejections into 'rejected' notifications and (with a provider) one signed re-send.
export function createSecure(identity: Identity, queue: Outbox, events: Emitter) {
  let secure = false
  let timeout = 10_000
  let started = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let last: State | undefined
  const refreshedAt = new Map<string, number>()
  const warned = new Set<string>()

  const asker = createAsker(
    (personId, signature) => {
      identity.sign(personId, signature)
      queue.release(personId, signature)
      notify()
    },
    (personId, error) => {
      warn(`signature provider failed for "${personId}": ${text(error)}`)
      if (!secure) queue.release(personId)
    },
  )

  const schedule = () => {
    const oldest = queue.oldest()
    if (timer || !started || oldest === undefined) return
    timer = setTimeout(() => {
      timer = undefined
      const late = queue.expire(Date.now() - timeout)
      // One warning per person, however many of their events expire and however the timer slices them.
      const people = [...new Set(late.map((e) => e.personId!))].filter((p) => !warned.has(p))
      if (people.length)
        warn(`no signature for "${people.join('", "')}" in ${timeout / 1000} s, sent unsigned: call _gs('auth', signature) after identify`)
      people.forEach((p) => warned.add(p))
      schedule()
    }, Math.max(0, oldest + timeout - Date.now()))
  }

  const state = (): State => {
    const s = identity.stamp()
    return s.personId ? (s.signature ? 'verified' : 'identified') : 'anonymous'
  }

  const notify = () => {
    const now = state()
    if (now != last) events.emit('state', (last = now))
  }

  const askForCurrent = () => {
    const s = identity.stamp()
    if (s.personId && !s.signature) asker.ask(s.personId)
  }

  return {
    state,

    start(isSecure: boolean, authTimeout: number) {
      secure = isSecure
      timeout = authTimeout
      started = true
      schedule()
    },

    /** Sends an event, or holds it while its person has no signature and one is required or on its way. */
    dispatch(e: WireEvent) {
      if (e.personId && !e.signature && (secure || asker.pending(e.personId))) {
        queue.hold(e)
        schedule()
      } else queue.push(e)
    },

    provide(fn: SignatureProvider) {
      asker.set(fn)
      askForCurrent()
    },

    /** Waiting events came from another page's backlog: their timeout runs here now. */
    wake: () => schedule(),

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
      for (const r of rejections) {
        const personId = (byId.get(r.id) || ({} as WireEvent)).personId
        const key = r.reason + '\n' + personId
        const group = groups.get(key) || { reason: r.reason, personId, eventIds: [] }
        group.eventIds.push(r.id)
        groups.set(key, group)
      }
      for (const group of groups.values()) {
        events.emit('rejected', group)
        const { personId, reason } = group
        const now = Date.now()
        if (!personId || !asker.has() || !/^(bad|expired)_signature$/.test(reason) || now - (refreshedAt.get(personId) || -1e13) < REFRESH_INTERVAL)
          continue
        // One fresh signature per person per interval; the events keep their ids when re-sent.
        refreshedAt.set(personId, now)
        const refused = group.eventIds.map((id) => byId.get(id)!).filter(Boolean)
        if (refused.some((e) => e.signature == identity.stamp().signature)) identity.sign(personId)
        for (const e of refused) queue.hold(Object.assign(e, { signature: undefined }))
        asker.ask(personId)
        schedule()
        notify()
      }
    },
  }
}

export type Secure = ReturnType<typeof createSecure>
