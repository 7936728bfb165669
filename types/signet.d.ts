// Public types of the Signet tracker: the _gs command function and the ESM entry.

export type Command =
  | 'track'
  | 'event'
  | 'properties'
  | 'identify'
  | 'auth'
  | 'unidentify'
  | 'on'
  | 'set'
  | 'consent'
  | 'transaction'

export interface StartOptions {
  /** Full URL of the collect endpoint; default: the tracker script's origin + /track. */
  endpoint?: string
  /** Send the automatic first pageview (and SPA route pageviews). Default true. */
  pageview?: boolean
  /** Identified events wait for a signature for their person. Default false. */
  secure?: boolean
  /** How long an identified event waits for a signature, in ms. Default 10000. */
  authTimeout?: number
  /**
   * How long an identified person (and their signature) lasts on this device without an identify,
   * auth or event of theirs, in ms; after it the next page starts anonymous. 0: this page only.
   * Default 1800000 (30 minutes).
   */
  identityTtl?: number
  /** Pageviews on history path changes. Default true. */
  spa?: boolean
  /** Hash changes are page changes too. Default false. */
  hash?: boolean
  /** Nothing stored or sent until _gs('consent', true). Default false. */
  requireConsent?: boolean
  /** Respect Global Privacy Control and Do Not Track. Default false. */
  privacySignals?: boolean
}

export type Props = Record<string, unknown>

/** GoSquared's settings, for _gs('set', …) (docs/commands.md). */
export interface Settings {
  /** Keep query strings in page URLs. Default true. */
  trackParams: boolean
  /** Keep the hash in page URLs; a change of it is a pageview. Default false. */
  trackHash: boolean
  /** Track pages on localhost, 127.x and file:. Default true (GoSquared's: false). */
  trackLocal: boolean
  /** Keep the visitor's identity and outbox on the device between pages. Default true. */
  useCookies: boolean
  /** Share the anonymous id and person (never the signature) with this domain's subdomains. */
  cookieDomain: string
  /** The referrer sent, instead of document.referrer. */
  referrer: string
  /** Ask the collector to store the visitor's address cut to its network. Default false. */
  anonymizeIP: boolean
  /** Development checks of signatures. Default true on localhost. */
  debug: boolean
}

/** _gs('transaction', id, options, items): totals default to the sums over the items. */
export interface TransactionOptions {
  /** false: not tracked (GoSquared's). Default true. */
  track?: boolean
  revenue?: number | string
  quantity?: number
  [key: string]: unknown
}

export interface TransactionItem {
  name?: string
  category?: string
  categories?: string[]
  /** Default price × quantity. */
  revenue?: number | string
  /** Default 1. */
  quantity?: number
  price?: number | string
  [key: string]: unknown
}

/** GoSquared's {id, ...}, Help Scout Beacon's {name, email, signature}, Engagespot's {userId, userSignature}. */
export type Person =
  | ({ id: string | number; email?: string; signature?: string } & Props)
  | ({ email: string; name?: string; signature?: string; id?: undefined } & Props)
  | ({ userId: string | number; userSignature?: string } & Props)

/** Returns the signature for a person id, made by your server. */
export type SignatureProvider = (personId: string) => string | PromiseLike<string>

export type State = 'anonymous' | 'identified' | 'verified'

export interface Listeners {
  rejected: (rejection: { reason: string; personId?: string; eventIds: string[] }) => void
  state: (state: State) => void
  dropped: (dropped: { count: number; reason: string }) => void
}

type NamedCommand = `${string}.${Command}`

/** _gs: every call is checked against the command it names. */
export interface Gs {
  (command: 'track', path?: string, title?: string): void
  (command: 'event', name: string, props?: Props): void
  (command: 'properties', props: Props): void
  (command: 'identify', person: Person): void
  (command: 'auth', signature: string | SignatureProvider): void
  (command: 'unidentify'): void
  <K extends keyof Listeners>(command: 'on', name: K, handler: Listeners[K]): void
  <K extends keyof Settings>(command: 'set', setting: K, value: Settings[K]): void
  (command: 'set', settings: Partial<Settings>): void
  (command: 'transaction', id: string | number, options?: TransactionOptions, items?: TransactionItem[]): void
  (command: 'consent', given: boolean): void
  /** Commands for a named tracker: _gs('second.event', 'signup'). */
  (command: NamedCommand, ...args: unknown[]): void
  /** Starts tracking for a project (a token is not a command name). */
  <T extends string>(token: T extends Command | NamedCommand ? never : T, options?: StartOptions | false): void
  /** Starts a second, named tracker. */
  <T extends string>(token: T extends Command | NamedCommand ? never : T, name: string, options?: StartOptions | false): void
  /**
   * Matches only a call that every overload above refused, and fails: the error then reads
   * `Argument of type '"event"' is not assignable to parameter of type '"_gs('event', name: string, props?: object)"'`.
   */
  <const A extends readonly [Command, ...unknown[]]>(...call: A extends readonly [] ? A : [Usage[A[0]], ...unknown[]]): void
}

/** What each command takes, in the words of a type error. */
interface Usage {
  track: "_gs('track', path?: string, title?: string)"
  event: "_gs('event', name: string, props?: object)"
  properties: "_gs('properties', props: object)"
  identify: "_gs('identify', {id} or {email} or {userId}, with signature? or userSignature?)"
  auth: "_gs('auth', signature: string or (personId: string) => signature)"
  unidentify: "_gs('unidentify')"
  on: "_gs('on', 'rejected' or 'state' or 'dropped', handler)"
  set: "_gs('set', setting, value of its type) or _gs('set', {setting: value})"
  transaction: "_gs('transaction', id: string or number, options?: {revenue?, quantity?, track?}, items?: [{name?, price?, quantity?}])"
  consent: "_gs('consent', true or false)"
}

export interface TrackerOptions {
  /** The collect endpoint; default: this page's origin + /track. */
  endpoint?: string
  /** Keeps this tracker's identity apart (storage key signet_<name>). */
  name?: string
}

/**
 * A tracker that touches no global; the function it returns takes the same commands as _gs, named
 * trackers included. During a server render (no document) its calls do nothing.
 */
export declare function createTracker(options?: TrackerOptions): Gs
