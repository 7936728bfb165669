import { FEATURES } from './features'
import type { Props } from './identity'
import { LIMITS, type Page } from './protocol'
import { own } from './storage'
import { warn } from './warn'

/**
 * Where a command ran: the page's URL (or `path` resolved against it), without its query string
 * unless `params`, without its hash unless `hash` (GoSquared's trackParams and trackHash), and the
 * referrer (`referrer` when the site set one).
 */
export const currentPage = (path?: string, title?: string, params?: boolean, hash?: boolean, referrer?: string): Required<Page> => {
  // String work on an href already normalised (its first '#' starts the hash, a '?' before it the
  // query): a URL parsed for every event measured 1.1× the main-thread time of 1,000 calls.
  let url = path ? new URL(path, location.href).href : location.href
  if (FEATURES.settings && !hash) url = url.replace(/#.*/, '')
  if (FEATURES.settings && !params) url = url.replace(/\?[^#]*/, '')
  return {
    url: url.slice(0, LIMITS.url),
    title: (title != null ? title : document.title).slice(0, LIMITS.title),
    referrer: (FEATURES.settings && referrer != null ? referrer : document.referrer).slice(0, LIMITS.url),
  }
}

// Props are copied when the command runs, so a page that mutates its object afterwards cannot
// change what was tracked; a value JSON cannot carry (cycles, BigInt, throwing getters) throws here,
// where the caller turns it into a warning.
export const snapshot = (props: unknown): Props | undefined => {
  if (props === undefined) return
  if (!props || typeof props != 'object' || Array.isArray(props)) throw 'props must be a plain object'
  const json = JSON.stringify(props)
  // The event still goes; only what the collector would refuse is left out.
  if (json.length <= LIMITS.props) return JSON.parse(json)
  warn(`props over ${LIMITS.props} characters of JSON left out`)
  return
}

const amount = (v: unknown, fallback: number) => (v == null ? fallback : typeof v == 'number' || typeof v == 'string' ? +v : NaN)

/**
 * GoSquared's _gs('transaction', id, options?, items?) as the props of a transaction event, or what
 * is wrong with it; undefined when options.track is false (GoSquared's: not tracked now). Totals
 * come from the items unless given: an item's revenue is its own, else price × quantity; its
 * quantity 1 unless given.
 */
export const transactionProps = (id: unknown, options?: unknown, items?: unknown): Props | string | undefined => {
  if (!((typeof id == 'string' && id) || (typeof id == 'number' && isFinite(id)))) return 'needs an id'
  if (String(id).length > LIMITS.transactionId) return `id over ${LIMITS.transactionId} characters`
  if ((options != null && typeof options != 'object') || (items != null && !Array.isArray(items))) return 'needs (id, options?, items?)'
  const o = own(options as Props)
  if (o.track === false) return
  let revenue = 0
  let quantity = 0
  const list = ((items || []) as unknown[]).map((item) => {
    const i = own(item as Props)
    const q = amount(i.quantity, 1)
    const r = amount(i.revenue, amount(i.price, 0) * q)
    revenue += r
    quantity += q
    return Object.assign(i, { quantity: q, revenue: r })
  })
  const props = Object.assign(o, { track: undefined, revenue: amount(o.revenue, revenue), quantity: amount(o.quantity, quantity), items: list })
  if (!(isFinite(props.revenue) && isFinite(props.quantity))) return 'revenue, price and quantity must be numbers'
  return snapshot(props)
}
