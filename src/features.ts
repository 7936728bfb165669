/**
 * The tracker's optional features, each a compile-time constant. The build users get has them all.
 * bench/feature-cost.mjs builds the tracker again with one turned off at a time: terser drops the
 * code a constant false guards, so what each feature costs is measured on its real code paths.
 */
export const FEATURES = {
  /** Secure Mode: _gs('auth', provider): ask the site's server, retry, bind each answer to its id. */
  providers: true,
  /** Secure Mode: events waiting for a signature go unsigned after authTimeout, with a warning. */
  authTimeout: true,
  /** Secure Mode: the collector's rejections reported through 'rejected', signatures refreshed. */
  rejections: true,
  /** Secure Mode: development checks of the signatures given. */
  devChecks: true,
  /** Delivery: a closed page's backlog claimed by exactly one tab. */
  backlog: true,
  /** Delivery: the outbox kept in localStorage, capped at 1,000 events / 512 KB. */
  storedOutbox: true,
  /** Delivery: exponential backoff with jitter, and Retry-After. */
  backoff: true,
  /** Delivery: what waits goes by beacon, in chunks, when the page is hidden. */
  beacons: true,
  /** Consent, opt-out, Global Privacy Control / Do Not Track, across tabs. */
  consent: true,
  /** Pageviews on single-page app route changes. */
  spa: true,
  /** Named trackers: _gs(token, name), _gs('name.command'). */
  namedTrackers: true,
  /** Requests gzipped where the browser has CompressionStream (JSON to a collector that cannot read gzip). */
  compression: true,
  /** GoSquared's settings beyond debug and anonymizeIP: trackParams, trackHash, trackLocal, useCookies, cookieDomain, referrer. */
  settings: true,
  /** GoSquared's _gs('transaction', id, options?, items?). */
  transactions: true,
  /** Secure Mode: events refused for want of a signature are kept and sent again, signed, when it comes. */
  lateAuth: true,
  /**
   * Identity: one per browser, newest wins: every tab reads the stored record again before each
   * command, and no tab writes an older one back (off: a tab keeps what it read at its start).
   */
  sharedIdentity: true,
  /** Delivery: a request unanswered for 10 s is aborted and retried (off: one that hangs holds back the rest). */
  requestTimeout: true,
}
