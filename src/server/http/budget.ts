import { BlockList, isIP, isIPv6 } from 'node:net'

/**
 * What one client may have stored per minute: events, and bytes of their stored records. Counted
 * for events without a verified person (anonymous, unchecked, or unverified in report mode): a
 * verified event names a signed-in person the site can hold to account, and a company's people
 * behind one address must not wait on one another. Defaults: `DEFAULT_BUDGET`.
 */
export interface ClientBudget {
  eventsPerMinute: number
  bytesPerMinute: number
}

// The busiest real visitor sends a 1,000-event backlog at once, when a tab left open offline comes
// back: of about 500 B each, 0.5 MB. Four times that, and twice the events.
export const DEFAULT_BUDGET: ClientBudget = { eventsPerMinute: 2000, bytesPerMinute: 2 * 1024 * 1024 }

// Clients counted at once, at most: past it, the new ones of the minute share one count, so that a
// sender cycling through addresses gains nothing and costs bounded memory.
const MAX_CLIENTS = 100_000
const MINUTE = 60_000

/**
 * Per-client counts over fixed minutes (all counts restart at each whole minute of the clock): a
 * batch either fits what is left of its client's minute, and is counted, or is refused with the
 * seconds until the next minute. No timers: the clock is read at each call.
 */
export function createBudget({ eventsPerMinute, bytesPerMinute }: ClientBudget, now = Date.now) {
  let minute = -1
  const used = new Map<string, { events: number; bytes: number }>()
  // The count of `client` in the current minute (a new minute starts them all again).
  const countOf = (client: string) => {
    const at = now()
    if (Math.floor(at / MINUTE) != minute) {
      minute = Math.floor(at / MINUTE)
      used.clear()
    }
    const key = used.has(client) || used.size < MAX_CLIENTS ? client : ''
    const count = used.get(key) || { events: 0, bytes: 0 }
    used.set(key, count)
    return { count, retryAfter: Math.ceil(((minute + 1) * MINUTE - at) / 1000) }
  }
  return {
    /** Counts `events` and `bytes` for `client` if they fit its minute; otherwise the seconds to wait. */
    take(client: string, events: number, bytes: number): { retryAfter: number } | undefined {
      const { count, retryAfter } = countOf(client)
      if (count.events + events > eventsPerMinute || count.bytes + bytes > bytesPerMinute) return { retryAfter }
      count.events += events
      count.bytes += bytes
      return undefined
    },
    /** The seconds to wait when `client` has used its minute up: its next request is refused before it is read. */
    spent(client: string): { retryAfter: number } | undefined {
      const { count, retryAfter } = countOf(client)
      return count.events >= eventsPerMinute || count.bytes >= bytesPerMinute ? { retryAfter } : undefined
    },
  }
}

export type Budget = ReturnType<typeof createBudget>

/**
 * The client a budget counts: an IPv4 address, or an IPv6 address's /64 (one household or phone
 * gets a whole /64, and could otherwise take a new address for every request).
 */
export function clientKey(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (v4) return v4[1]
  if (!isIPv6(address)) return address
  // Expanded to its eight groups, of which the first four are the /64.
  const [head, tail = ''] = address.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left
  return groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':') + '::/64'
}

/** The addresses of reverse proxies whose X-Forwarded-For is believed: single addresses or CIDR ranges. */
export function trustedProxies(list: readonly string[]): BlockList {
  const trusted = new BlockList()
  for (const entry of list) {
    const [address, bits] = entry.split('/')
    const type = isIPv6(address) ? 'ipv6' : 'ipv4'
    try {
      if (bits === undefined) trusted.addAddress(address, type)
      else trusted.addSubnet(address, Number(bits), type)
    } catch {
      throw new Error(`signet: trust proxy: "${entry}" is not an address or a CIDR range`)
    }
  }
  return trusted
}

/** Whether `address` is one of the trusted proxies'. */
export const trusts = (list: BlockList, address: string) => {
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
  return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4')
}

/**
 * The client's address: the peer's, unless the peer is a trusted proxy; then the last address of
 * X-Forwarded-For that is not a trusted proxy (each proxy appends the address it was reached from,
 * so what a client writes itself stands further left and is not believed).
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted?: BlockList): string | undefined {
  if (!peer || !trusted || !forwardedFor || !trusts(trusted, peer)) return peer
  let client = peer
  for (const hop of String(forwardedFor).split(',').reverse()) {
    const address = hop.trim()
    // What no proxy of ours wrote (not an address) ends the walk: the last believed address stands.
    if (!isIP(address)) break
    client = address
    if (!trusts(trusted, address)) break
  }
  return client
}
