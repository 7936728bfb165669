import type { Command, StartOptions } from '../types/signet'
import { onDevHost, signatureProblem } from './checks'
import { privacySignal, type Consent } from './consent'
import { FEATURES } from './features'
import { isSignature, isString, parsePerson, validState, type IdentityState, type Person, type Props } from './identity'
import { currentPage, snapshot, transactionProps } from './payload'
import { EVENT_AGE, LIMITS, type EventType, type Rejection, type WireEvent } from './protocol'
import { BATCH_EVENTS, batchSize, groupRejections, retryDelay } from './rules'
import { onRouteChange } from './spa'
import { keys, own, parse, read, readText, remove, write, writeText } from './storage'
import { beacon, gzip, post } from './transport'
import { uid } from './uid'
import { text, warn } from './warn'

/** Every command name; anything else in first place is a project token. */
export const COMMANDS = [
  'track',
  'event',
  'properties',
  'identify',
  'auth',
  'unidentify',
  'on',
  'set',
  'consent',
  ...(FEATURES.transactions ? (['transaction'] as const) : []),
] as const satisfies readonly Command[]

export const UNKNOWN = 'not a command or a project token'

/** An outbox entry (stored as such); w: waiting for a signature since (ms). */
export interface Item {
  e: WireEvent
  w?: number
}

type Listener = (payload: unknown) => void

/** GoSquared's settings, by the type each takes (docs/commands.md). */
export const SETTINGS = /*#__PURE__*/ own({
  trackParams: 'boolean',
  trackHash: 'boolean',
  trackLocal: 'boolean',
  useCookies: 'boolean',
  anonymizeIP: 'boolean',
  debug: 'boolean',
  cookieDomain: 'string',
  referrer: 'string',
} as const)

type Settings = { -readonly [K in keyof typeof SETTINGS]?: (typeof SETTINGS)[K] extends 'boolean' ? boolean : string }

/** _gs(token, options): the keys of the public StartOptions, each unchecked until read. */
type Options = { [K in keyof StartOptions]?: unknown }

// A time read back from storage is fresh when it is in the last `within` ms: one in the future was
// not written by this browser's clock as it runs now, and counts as stale.
const fresh = (at: unknown, within: number) => {
  const age = Date.now() - (at as number)
  return age >= 0 && age < within
}

/**
 * One tracker. Its parts share their state, so they live in one closure (locals minify to single
 * letters; a module boundary measured 44–67 B gzip each), divided into sections: Gate → Identity →
 * Outbox → Auth → Hand-over → Commands. A section declares its own variables and is the only one
 * to assign them; it calls the sections above it, never below, but for two named calls back: the
 * Outbox hands the collector's rejections to Auth's `recover` and `onRejected`. ARCHITECTURE.md draws it.
 */
export function createCore(name: string, endpoint: string, consent: Consent) {
  // ─── Gate: the project and its options, settings, listeners; whether anything may be stored or sent.
  let project: string | undefined
  let options: Options = own({})
  let authTimeout = 10_000
  // How long an identified person lasts without an identify, auth or event of theirs: the usual
  // analytics session, so a shared computer's next visitor is not taken for them.
  let identityTtl = 30 * 60_000
  // GoSquared's settings (_gs('set', …)), each checked against its type in SETTINGS. Pages on
  // localhost are tracked unless trackLocal is false: the demo and a collector under test run there.
  const settings: Settings = own(
    FEATURES.settings ? { trackParams: true, trackLocal: true, useCookies: true, debug: onDevHost() } : { debug: onDevHost() },
  )
  const listeners: [string, Listener][] = []

  // mitt-sized: a list of (name, handler) pairs, so no name (not even "__proto__") touches a prototype.
  // `only` calls a single handler: a 'state' listener learns the current state when it is added.
  const emit = (event: string, payload: unknown, only?: Listener) =>
    listeners.forEach(([n, fn]) => {
      if (n == event && (!only || fn == only))
        try {
          fn(payload)
        } catch (_) {
          warn(`'${event}' handler threw`)
        }
    })
  const listen = (event: string, fn: Listener) => listeners.push([event, fn])

  // Opted out (now or on an earlier page), or a privacy signal the site chose to respect.
  const refused = () => FEATURES.consent && (consent.given() === false || (!!options.privacySignals && privacySignal()))
  // Whether anything may be stored or sent: started, not refused, and consented if the project asks.
  const may = () => !!project && (!FEATURES.consent || (!refused() && (!!consent.given() || !options.requireConsent)))

  /** Starts the tracker with the project token and options of _gs(token, options), or says why not. */
  const open = (token: string, given: unknown): string | void => {
    if (!token || (given !== undefined && given !== false && (!given || typeof given != 'object'))) return UNKNOWN
    // Own properties only, copied (the page changing its object later changes nothing here) into an
    // object with no prototype: a polluted Object.prototype adds no option.
    const o: Options = own(given === false ? { pageview: false } : (given as Options))
    const { endpoint: url, authTimeout: wait = authTimeout, identityTtl: ttl = identityTtl } = o
    if (!(typeof wait == 'number' && wait >= 0)) return 'bad authTimeout'
    if (!(typeof ttl == 'number' && ttl >= 0)) return 'bad identityTtl'
    if (url !== undefined) {
      if (!isString(url)) return 'bad endpoint'
      endpoint = new URL(url, location.href).href
    }
    project = token
    options = o
    authTimeout = wait
    identityTtl = ttl
  }

  /** _gs('set', name, value) or _gs('set', {name: value, …}): what is wrong with the first bad one, if any. */
  const setting = (key: unknown, value?: unknown): string | void => {
    if (!FEATURES.settings) {
      if (typeof value != 'boolean' || (key != 'debug' && key != 'anonymizeIP')) return 'needs debug or anonymizeIP, and a boolean'
      return void ((settings as Props)[key as string] = value)
    }
    if (key && typeof key == 'object') return Object.keys(key).map((k) => setting(k, (key as Props)[k])).filter(Boolean)[0]
    const type = SETTINGS[key as keyof Settings]
    if (!type) return `no setting ${JSON.stringify(key)}`
    if (typeof value != type) return `${key} takes a ${type}`
    ;(settings as Props)[key as string] = value
  }

  // The hash is part of a page (kept in its URL, a change of it a pageview) with the hash option or trackHash.
  const hashRoutes = () => !!(options.hash || settings.trackHash)
  // Pages on this machine are not tracked when the site said so (GoSquared's trackLocal: false).
  const local = () => FEATURES.settings && !settings.trackLocal && (onDevHost() || location.protocol == 'file:')

  const check = (signature: string) => {
    const problem = FEATURES.devChecks && settings.debug && signatureProblem(signature)
    if (problem) warn(problem)
  }

  // ─── Identity: who this tracker tracks. One record in storage is the identity of every tab of the
  // site (the person and their signature are never written apart); this page's state is a cache of
  // it, read again before every command and every change, so what one tab does every tab does next.
  const identityKey = name ? 'signet_' + name : 'signet'
  // t: the record's version, one more at every change of who is identified or what is kept of them,
  // so that the newest wins and no tab writes an older identity back. With no prototype (like
  // everything read from storage), so no key it lacks reads another script's value.
  let state: IdentityState = own({ a: uid(), t: 0 })
  // The record's text as this page last read or wrote it: only a changed one is parsed.
  let seen: string | null | undefined
  // A signature given before this page's first identify is held for the next identify,
  // never attached to a person remembered from an earlier page or another tab.
  let heldSignature: string | undefined
  // The person this page identified: a signature given here is theirs, whoever another tab identified since.
  let identified: string | undefined
  // The version of the cookie of cookieDomain, when it is past this page's and this page keeps its
  // own person: the cookie is then not written over with an older one.
  let cookieAhead = 0
  let lastStatus: string | undefined

  // Writes the state as the record; each write renews the person's lifetime. With identityTtl 0 they
  // last this page only: the record keeps no signature or properties, and its x (Infinity here,
  // null as JSON) has passed for every other page.
  const saveIdentity = () => {
    if (state.p) state.x = identityTtl ? Date.now() + identityTtl : 1 / 0
    if (!may()) return
    // useCookies false: nothing of it stays on the device, not even what an earlier page stored.
    if (FEATURES.settings && !settings.useCookies) return remove(identityKey)
    // The record without signature or properties: what identityTtl 0 stores, and what a cookie shares.
    const bare = { a: state.a, p: state.p, x: state.x, t: state.t }
    writeText(identityKey, (seen = JSON.stringify(identityTtl ? state : bare)))
    // With cookieDomain, the anonymous id and the person (never the signature: a cookie travels to
    // every server of the domain) are shared with its subdomains, for as long as the person lasts;
    // under a name of the project's, so that another project of the domain cannot take them.
    if (FEATURES.settings && settings.cookieDomain && !(cookieAhead > state.t))
      document.cookie = `${cookieName()}=${encodeURIComponent(JSON.stringify(bare))}; domain=${settings.cookieDomain}; path=/; max-age=${state.p ? identityTtl / 1000 : 63072000}; samesite=lax${location.protocol == 'https:' ? '; secure' : ''}`
  }
  const cookieName = () => identityKey + '_' + encodeURIComponent(project!)
  const revise = () => {
    if (FEATURES.sharedIdentity) state.t++
    saveIdentity()
  }

  /**
   * Newest wins: a record of a later version than this page's replaces its state, and one of the same
   * version (another tab's renewal) too, unless identityTtl is 0 and this page identified its
   * person itself: then they are this page's own. One older than this page's is a write that raced
   * past this page's: this page's goes back. A cookie's record (`bare`) may come from any subdomain,
   * trusted or not: it only fills in for a page that has identified nobody itself, and what it
   * brought (marked c) never replaces a person a page identified. It has no signature or
   * properties: for the same person, this page keeps its own.
   */
  const consider = (found?: IdentityState | false | '', bare?: unknown) => {
    if (!found) return
    if (!FEATURES.sharedIdentity) {
      if (!bare) state = found
    } else if (identified && (bare || found.c)) {
      if (bare) cookieAhead = found.t
    } else if (found.t > state.t || (found.t == state.t && (identityTtl || !identified) && (!bare || found.p == state.p)))
      state = !bare ? found : found.p == state.p ? own(Object.assign({}, state, found)) : Object.assign(found, { c: 1 as const })
    else if (found.t < state.t) saveIdentity()
  }

  /** Brings this page's copy up to the record (and to the cookie of cookieDomain), then ends a person whose time is up. */
  const sync = () => {
    const text = FEATURES.sharedIdentity || seen === undefined ? readText(identityKey) : seen
    if (text != seen) {
      seen = text
      consider(validState(read(identityKey)))
    }
    if (FEATURES.settings && settings.cookieDomain && project) {
      const found = document.cookie.split('; ').filter((c) => !c.indexOf(cookieName() + '='))[0]
      try {
        consider(found && found.length < 2000 && validState(parse(decodeURIComponent(found.slice(found.indexOf('=') + 1)))), 1)
      } catch (_) {}
    }
    // Past the person's lifetime, counted from the last activity in any tab: nobody is identified, in
    // any tab, under a fresh anonymous id (so one person's id and signature never stamp the next
    // visitor's events). With identityTtl 0 this is another page's person, and the record stays theirs.
    if (state.p && !(Date.now() < state.x!)) {
      state = own({ a: uid(), t: state.t })
      if (identityTtl) saveIdentity()
    }
  }
  // An event renews the stored lifetime at most once a minute, not with a write per event.
  const renew = () => state.p && !(state.x! - Date.now() > identityTtl - 60_000) && saveIdentity()
  const properties = (props: Props) => {
    state.r = Object.assign({}, state.r, props)
    revise()
    return state.r
  }
  /** Sets or clears the signature of personId, if that is still who is identified, in any tab. */
  const sign = (personId: string, signature?: string) => {
    sync()
    if (state.p == personId) {
      state.s = signature
      revise()
    }
  }
  const status = () => (state.p ? (state.s ? 'verified' : 'identified') : 'anonymous')
  const notify = () => lastStatus != (lastStatus = status()) && emit('state', lastStatus)
  const identify = (person: Person) => {
    const signature = person.signature || heldSignature
    // A different person: the previous signature and person properties are not theirs.
    // Properties set while anonymous do belong to whoever signs in next.
    if (person.id !== state.p) state = own({ a: state.a, p: person.id, r: state.p ? undefined : state.r, t: state.t })
    // Identified here: no longer what a cookie brought.
    state.c = undefined
    if (signature) state.s = signature
    heldSignature = undefined
    identified = person.id
  }
  /** A signature for the person this page identified, or held for the next identify. */
  const authorize = (signature: string) => {
    if (identified) sign(identified, signature)
    else heldSignature = signature
  }
  const unidentify = () => {
    state = own({ a: uid(), t: state.t })
    heldSignature = identified = undefined
    revise()
  }

  // ─── Outbox: every event is stored before it is sent and removed only when the collector answered.
  // Past the cap the oldest go first: counted, and reported once per task.
  const OUTBOX = 'signet_q_'
  const me = uid()
  const ownKey = OUTBOX + me
  // Long enough to gather a burst of calls into one request, short enough to beat a navigation.
  const FLUSH_DELAY = 20
  const MAX_ITEMS = 1000
  const MAX_BYTES = 512 * 1024
  // A beacon's answer cannot be read. Its events stay in the outbox (a later page re-sends them, the
  // collector drops the copy by id) but this page leaves them alone for a while.
  const BEACON_LEASE = 10_000
  // A smaller body (one event, about 450 characters) goes as JSON: measured in Chromium, gzip saves
  // it ~130 B, and the first compression on a page takes 7.5 ms (34 ms at 4× CPU) of its start-up.
  const GZIP_FROM = 1000
  let items: Item[] = []
  // Event id → until when this page leaves it alone: in flight, or handed to a beacon.
  const busy = new Map<string, number>()
  let timer: any
  // -1 while a request is in flight, a timer while backing off after a failure.
  let blocked: any
  let failures = 0
  let dirty = false
  let full = 0
  // From the first collector that could not read gzip on, every request of this page goes as JSON.
  let plain = false

  // A 'dropped' report, made only when something was.
  const dropped = (count: number, reason: string) => count && emit('dropped', { count, reason })

  const drop = (count: number) => {
    if (count > 0) {
      items = items.slice(count)
      full += count
    }
  }

  const persist = () => {
    if (!FEATURES.storedOutbox || !dirty) return
    dirty = false
    let json
    // Serialised once: measured, then stored as it is; cut in proportion to the overshoot until it fits.
    while ((json = JSON.stringify(items)).length > MAX_BYTES) drop(Math.ceil(items.length * (1 - MAX_BYTES / json.length)))
    dropped(full, 'full')
    full = 0
    if (may()) !FEATURES.settings || settings.useCookies ? writeText(ownKey, `{"p":${JSON.stringify(project)},"i":${json}}`) : remove(ownKey)
  }

  // A burst of calls is written once, at the end of the task, and always before it is sent.
  const changed = () => {
    if (!dirty) Promise.resolve().then(persist)
    dirty = true
  }

  /** Writes the outbox now (the tracker may store from now on). */
  const persistNow = () => {
    dirty = true
    persist()
  }

  const schedule = (ms = FLUSH_DELAY) => {
    if (!timer)
      timer = setTimeout(() => {
        timer = 0
        flush()
      }, ms)
  }

  const add = (item: Item) => {
    items.push(item)
    if (FEATURES.storedOutbox) drop(items.length - MAX_ITEMS)
    changed()
    // A full request's worth goes at the end of the current task: one flush however long the burst.
    if (!(items.length % BATCH_EVENTS)) timer = clearTimeout(timer)
    schedule(items.length % BATCH_EVENTS && FLUSH_DELAY)
  }

  /**
   * Items of another page's outbox, but those this one has already. Storage is untrusted: an event
   * older than the collector accepts (or dated ahead), or one waiting for a signature since a time
   * in the future or for longer than the auth timeout, is dropped and reported, never signed here.
   */
  const adopt = (found: Item[]) => {
    let stale = 0
    for (const item of found) {
      const e = item && item.e
      if (!e || !isString(e.id) || items.some((i) => i.e.id == e.id)) continue
      // ts within [now - past, now + ahead], and w within [now - authTimeout, now].
      if (fresh(e.ts - EVENT_AGE.ahead, EVENT_AGE.past + EVENT_AGE.ahead) && (!item.w || fresh(item.w, authTimeout + 1))) add(item)
      else stale++
    }
    dropped(stale, 'stale')
  }

  /** Everything waiting goes (consent refused); says how many. */
  const clear = () => dropped(items.splice(0).length, 'consent')

  /** The waiting items that pass `test` stop waiting, signed with `signature` when given, and go out. */
  const release = (test: (i: Item) => unknown, signature?: string) => {
    const out = items.filter((i) => i.w && test(i))
    for (const i of out) {
      i.w = 0
      if (signature) i.e.signature = signature
    }
    if (out.length) {
      changed()
      schedule()
    }
    return out
  }

  const flush = (unloading?: unknown) => {
    persist()
    const now = Date.now()
    let events = items.filter((i) => !i.w && !(busy.get(i.e.id)! > now)).map((i) => i.e)
    // Unloading: chunk by chunk until the browser refuses one; the rest waits for the next page.
    while (events.length && may() && (unloading || !blocked)) {
      const sent = events.slice(0, batchSize(events))
      const body = JSON.stringify({ v: 1, project, sentAt: now, anonymizeIP: settings.anonymizeIP || undefined, events: sent })
      events = events.slice(sent.length)
      if (unloading && !(FEATURES.beacons && beacon(endpoint, body))) return
      for (const e of sent) busy.set(e.id, unloading ? now + BEACON_LEASE : 1 / 0)
      if (!unloading) {
        blocked = -1
        const send = (zipped?: ArrayBuffer) => post(endpoint, zipped || body, (code, answer, after) => {
          // A collector that cannot read gzip (400, 415): this batch again, and the rest of this page's, as JSON.
          if (FEATURES.compression && zipped && (code == 400 || code == 415)) {
            plain = true
            send()
            return
          }
          blocked = 0
          for (const e of sent) busy.delete(e.id)
          // A failure that passes is tried again after a backoff; nothing else is sent meanwhile.
          const delay = retryDelay(code, failures++, after)
          if (delay >= 0) {
            blocked = setTimeout(() => {
              blocked = 0
              flush()
            }, delay)
            return
          }
          failures = 0
          items = items.filter((i) => sent.indexOf(i.e) < 0)
          changed()
          flush()
          // Those kept for a signature that comes late are not reported (yet).
          let standing = answer && answer.rejected
          if (code > 299) {
            warn(`${sent.length} event(s) dropped: HTTP ${code}`)
            dropped(sent.length, 'http_' + code)
          } else if (Array.isArray(standing) && (FEATURES.lateAuth ? (standing = recover(sent, standing)) : standing).length) {
            warn(`${standing.length} event(s) rejected: ${standing.map((r) => Object(r).reason).join(', ')}`)
            if (FEATURES.rejections) onRejected(sent, standing)
          }
        })
        // Compressed off the calling task; where the browser cannot (no CompressionStream), as JSON.
        if (!FEATURES.compression || plain || body.length < GZIP_FROM) send()
        else gzip(body).then(send, () => send())
      }
    }
  }

  /** Back online: whatever the backoff said, try now. */
  const retry = () => {
    if (blocked < 0) return
    clearTimeout(blocked)
    blocked = failures = 0
    flush()
  }

  // ─── Auth (Secure Mode): which identified events wait for a signature, and each signature only
  // for the events of the id it was given for.
  const REFRESH_INTERVAL = 30_000
  const TRIES = 3
  let provider: ((personId: string) => unknown) | undefined
  const asking = new Set<string>()
  const refreshedAt = new Map<string, number>()
  const warned = new Set<string>()
  // Ids of events refused as missing_signature and kept for a late signature: a second refusal is reported.
  const recovering = new Set<string>()

  /** personId's waiting events, now signed with the signature given for that id (none: unsigned), go out. */
  const releasePerson = (personId: string, signature?: string) => release((i) => i.e.personId == personId, signature)

  // Every wait gets its own timer, which frees what was waiting when it was set (timers may fire a
  // little early, so not by measuring the wait): unsigned, with one warning per person.
  const expireLater = (at = Date.now()) =>
    FEATURES.authTimeout &&
    setTimeout(() => {
      const people = release((i) => i.w! <= at)
        .map((i) => i.e.personId!)
        .filter((p) => !warned.has(p) && warned.add(p))
      if (people.length)
        warn(`no signature for "${people.join('", "')}" in ${authTimeout / 1000} s, sent unsigned: call _gs('auth', signature) after identify`)
    }, authTimeout)

  const wait = (e: WireEvent) => {
    add({ e, w: Date.now() })
    expireLater()
  }

  // One question per person at a time; an answer applies to the id asked, whoever is identified by
  // then. A throw, a rejection or anything but a signature is retried with backoff, then reported.
  const ask = (personId: string, attempt = 0) => {
    if (!FEATURES.providers || !provider || (!attempt && asking.has(personId))) return
    asking.add(personId)
    const fn = provider
    new Promise((resolve) => resolve(fn(personId)))
      .then((signature) => {
        if (!isSignature(signature)) throw 'not a signature'
        asking.delete(personId)
        sign(personId, signature)
        // Only while that person is the one identified: their events wait out the timeout otherwise.
        if (state.p == personId) releasePerson(personId, signature)
        notify()
      })
      .catch((error) => {
        if (attempt < TRIES - 1) setTimeout(() => ask(personId, attempt + 1), 1000 << attempt)
        else {
          asking.delete(personId)
          warn(`signature provider failed for "${personId}": ${text(error)}`)
          if (!options.secure) releasePerson(personId)
        }
      })
  }

  const askForCurrent = () => {
    if (state.p && !state.s) ask(state.p)
  }

  const useProvider = (fn: typeof provider) => {
    provider = fn
    askForCurrent()
  }

  // Rejections become one 'rejected' notification per reason and person, and with a provider one
  // fresh signature per person per interval; the events keep their ids when re-sent.
  const onRejected = (sent: WireEvent[], rejected: Rejection[]) => {
    const now = Date.now()
    sync()
    groupRejections(sent, rejected).forEach(([group, events]) => {
      const { reason, personId } = group
      emit('rejected', group)
      if (FEATURES.providers && personId && provider && /^(bad|expired)_/.test(reason) && !(now - refreshedAt.get(personId)! < REFRESH_INTERVAL)) {
        refreshedAt.set(personId, now)
        if (events.some((e) => e.signature == state.s)) sign(personId)
        for (const e of events) {
          e.signature = undefined
          wait(e)
        }
        ask(personId)
        notify()
      }
    })
  }

  /**
   * The rejections that stand. One for want of a signature, of an event whose person is still the
   * one identified, is not: the event is kept for a signature that comes late (GoSquared's pages may
   * give auth in a later script) and sent again, signed, when it comes; once per event.
   */
  const recover = (sent: WireEvent[], rejected: Rejection[]) => {
    sync()
    const standing = rejected.filter((r) => {
      const { id, reason } = Object(r)
      const e = reason == 'missing_signature' && sent.filter((s) => s.id == id)[0]
      if (!e || e.personId != state.p || recovering.has(id)) return true
      recovering.add(id)
      wait(e)
      return false
    })
    // The signature may have come while the request was out: what was kept goes again at once.
    if (standing.length < rejected.length && state.s) releasePerson(state.p!, state.s)
    return standing
  }

  // Stamped with the current person and signature when dispatched; waits while its person has no
  // signature and one is required or on its way.
  const dispatch = (e: WireEvent) => {
    if (refused() || local()) return
    Object.assign(e, { anonymousId: state.a, personId: state.p, signature: state.p && state.s })
    renew()
    if (e.personId && !e.signature && (options.secure || asking.has(e.personId))) wait(e)
    else add({ e, w: 0 })
  }

  // ─── Hand-over: each page keeps its outbox under a key of its own, so tabs never write over each
  // other. A page beats while alive and stops on pagehide; a queue whose page stopped beating is a
  // backlog that exactly one other page claims: it writes a lock, waits for other tabs' writes to
  // land, and only the page whose lock survived takes the queue.
  const BEAT = 'signet_hb_'
  const LOCK = 'signet_lock_'
  // A page that has not beaten for this long is gone (closed, crashed or killed while hidden). Chrome
  // runs the timers of a tab hidden for five minutes once a minute, so a live page may beat only
  // that often: three times as long, so that no live page's outbox is taken and sent twice.
  const STALE = 180_000
  const LOCK_TTL = 5_000
  const SETTLE = 100
  // A page is alive whose last beat is less than STALE old, or dated ahead by less than a day: the
  // tabs read one clock, and one set back (by hand, or by the network's time correcting it) dates
  // every beat written before in the future. (A closed page's backlog then waits until the clock
  // has caught up; beats dated further ahead were not written by this browser's clock.)
  const alive = (page: string) => fresh(read(BEAT + page) - 864e5, 864e5 + STALE)

  const claim = () => {
    for (const k of keys()) {
      const other = k.slice(OUTBOX.length)
      const lockKey = LOCK + other
      if (k.indexOf(OUTBOX) || k == ownKey || alive(other)) continue
      const found = read(k)
      const lock = read(lockKey)
      // Another project's backlog on the same site is left for that project's pages.
      if ((found && found.p && found.p != project) || (lock && lock.by != me && fresh(lock.at, LOCK_TTL))) continue
      write(lockKey, { by: me, at: Date.now() })
      setTimeout(() => {
        const record = read(k)
        if (Object(read(lockKey)).by != me || alive(other)) return
        remove(k)
        remove(lockKey)
        if (record && Array.isArray(record.i)) adopt(record.i)
        // Waiting events from another page: their timeout runs here now.
        expireLater()
      }, SETTLE)
    }
  }

  /** Says this page is alive, and looks for backlogs that closed pages left behind. */
  const beat = () => {
    if (!may() || (FEATURES.settings && !settings.useCookies)) return
    write(BEAT + me, Date.now())
    if (FEATURES.backlog) claim()
  }

  /** Consent is one answer for the site: every page's outbox, heartbeat and lock goes. */
  const forgetPages = () => {
    for (const k of keys()) if (!k.indexOf(OUTBOX) || !k.indexOf(BEAT) || !k.indexOf(LOCK)) remove(k)
  }

  // ─── Commands: _gs calls, and the events they make.
  let replaying = true
  let autoPageview = false
  // identify's own event waits for the rest of the current task, so GoSquared's order
  // identify → auth still sends it signed. Nothing else runs in between except auth for that person.
  let identifyEvent: WireEvent | undefined

  // An event id starts with its time (11 hex digits of ms until the year 2527), the rest random: ids
  // made one after another sort together, so a collector's index on them grows at one end instead
  // of being written all over (the reason for UUIDv7).
  const event = (type: EventType, name?: string, props?: Props, path?: string, title?: string, ts = Date.now()) =>
    ({
      id: ts.toString(16) + uid().slice(11),
      type,
      ts,
      name,
      props,
      page: FEATURES.settings ? currentPage(path, title, settings.trackParams, hashRoutes(), settings.referrer) : currentPage(path, title),
    }) as WireEvent

  const sendIdentifyEvent = () => {
    if (identifyEvent) dispatch(identifyEvent)
    identifyEvent = undefined
  }

  /** From now on what the tracker holds is stored, and sent in a task of its own (the host page's call makes no request). */
  const startStoring = () => {
    if (!may()) return
    sync()
    saveIdentity()
    persistNow()
    setTimeout(flush)
  }

  if (FEATURES.consent)
    consent.onAnswer((given) => {
      if (given) return startStoring()
      // Refused: nothing waiting is sent, and nothing Signet stored stays, a backlog whose claim a
      // navigation cut short included.
      clear()
      remove(identityKey)
      forgetPages()
    })

  const start = (token: string, given: unknown): string | void => {
    if (project) return project == token ? undefined : UNKNOWN
    const problem = open(token, given)
    if (problem) return problem
    expireLater()
    if (options.pageview !== false) {
      if (FEATURES.settings || replaying) autoPageview = true
      else command('track')
      if (FEATURES.spa && options.spa !== false) onRouteChange(() => command('track'), FEATURES.settings ? hashRoutes : () => !!options.hash)
    }
    // At the end of the task: settings given in the same task as the token (GoSquared's order:
    // _gs(token), then _gs('set', …)) apply to the first pageview and to what is stored.
    if (!FEATURES.settings) startStoring()
    else if (!replaying) Promise.resolve().then(settle)
  }

  const command = (name: string, a?: unknown, b?: unknown, c?: unknown): string | void => {
    sync()
    if (name != 'auth') sendIdentifyEvent()
    switch (name) {
      case 'track':
        if (![a, b].every((v) => v == null || isString(v))) return 'path and title must be strings'
        return dispatch(event('pageview', undefined, undefined, a as string, b as string))
      case 'event':
        if (!isString(a) || !a) return 'needs a name'
        if (a.length > LIMITS.name) warn(`event name cut to ${LIMITS.name} characters`)
        return dispatch(event('event', a.slice(0, LIMITS.name), snapshot(b)))
      case 'properties': {
        const props = snapshot(a)
        if (!props) return 'needs an object'
        return dispatch(event('properties', undefined, properties(props)))
      }
      case 'identify': {
        const person = parsePerson(a)
        if (isString(person)) return person
        if (person.signature) check(person.signature)
        identify(person)
        identifyEvent = event('identify', undefined, properties(person.props))
        askForCurrent()
        Promise.resolve().then(sendIdentifyEvent)
        return
      }
      case 'auth':
        if (FEATURES.providers && typeof a == 'function') return useProvider(a as typeof provider)
        if (!isSignature(a)) return 'needs a signature or a function'
        check(a)
        return authorize(a)
      case 'unidentify':
        return unidentify()
      case 'on':
        if (!isString(a) || typeof b != 'function') return 'needs a name and a function'
        listen(a, b as Listener)
        if (a == 'state') emit(a, status(), b as Listener)
        return
      case 'set': {
        const problem = setting(a, b)
        // The cookie of cookieDomain, read now.
        sync()
        return problem
      }
      case 'consent':
        if (typeof a != 'boolean') return 'needs true or false'
        return consent.answer(a)
      case 'transaction': {
        if (FEATURES.transactions) {
          const found = transactionProps(a, b, c)
          return isString(found) ? found : found && dispatch(event('transaction', String(a), found))
        }
      }
    }
    return start(name, a)
  }

  /**
   * The snippet's queue has run, or the task that started the tracker has: the automatic pageview
   * goes, as whoever the calls before it identified and with the settings they gave, and from now
   * on what the tracker holds is stored.
   */
  const settle = () => {
    replaying = false
    if (autoPageview) {
      autoPageview = false
      command('track')
    }
    afterCommand()
    if (FEATURES.settings) startStoring()
  }

  /** After every command: a signature now held for the current person frees that person's waiting events. */
  const afterCommand = () => {
    if (state.p && state.s) releasePerson(state.p, state.s)
    notify()
  }

  // (The names of these methods are not ones the minifier keeps for the DOM's sake, such as run or
  // flush: so they shrink to a letter.)
  return {
    /** One _gs call. */
    invoke(args: ArrayLike<unknown>) {
      const name = args[0]
      let problem: string | void
      try {
        // apply reads any array-like by index (the snippet queues arguments objects); command takes
        // the arguments it knows and ignores the rest.
        problem = isString(name) ? command.apply(0, args as [string]) : UNKNOWN
        afterCommand()
      } catch (e) {
        problem = isString(e) ? e : 'unreadable arguments: ' + text(e)
      }
      if (problem) warn(`_gs(${isString(name) ? JSON.stringify(name.slice(0, 40)) : '...'}) ignored: ${problem}`)
    },
    /** The snippet's queue has run. */
    replayed: settle,
    /** The page is being hidden or left: what waits goes by beacon. */
    departing: () => flush(true),
    beat,
    /** The page is going away (or into the bfcache): its queue may be claimed at once. */
    leave: () => remove(BEAT + me),
    online: retry,
  }
}

export type Core = ReturnType<typeof createCore>
