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

// Clients counted at once, at most: past it, the one seen least recently is forgotten (and starts
// again from nothing if it comes back), so that a sender cycling through addresses costs bounded
// memory and takes no one else's budget.
export const MAX_CLIENTS = 100_000
const MINUTE = 60_000

/**
 * What one jwt verification that proves nothing costs its sender, in events: a distinct forged ES256
 * token took 220 µs to refuse (bench/jwt.md: 4,527/s), some 25 times what a refused event of an
 * HMAC scheme costs from its request to its answer (bench/abuse.md).
 */
export const VERIFICATION_COST = 25

interface Count {
  events: number
  bytes: number
}

/** A client's counts as the processes of one collector exchange them: [client, events, bytes]. */
export type Counts = [client: string, events: number, bytes: number][]

/**
 * Per-client counts over fixed minutes (all counts restart at each whole minute of the clock): a
 * batch either fits what is left of its client's minute, and is counted, or is refused with the
 * seconds until the next minute; work a client made the collector do for nothing (refused events,
 * failed verifications) is charged whatever is left. No timers: the clock is read at each call.
 *
 * One budget holds for a whole collector: each worker process counts what it sees, `report`s what it
 * counted since it last did (made with `reports`), and `learn`s the collector's totals, which the primary process sums
 * (`charge` of each report) and sends every worker. A client spread over several workers gets at
 * most what it can send in the time between two reports beyond its budget.
 */
export function createBudget({ eventsPerMinute, bytesPerMinute }: ClientBudget, { now = Date.now, maxClients = MAX_CLIENTS, reports = false } = {}) {
  let minute = -1
  // Most recently seen last: the first is the one to forget.
  const used = new Map<string, Count>()
  const unsent = new Map<string, Count>()
  const clock = () => {
    const at = now()
    if (Math.floor(at / MINUTE) != minute) {
      minute = Math.floor(at / MINUTE)
      used.clear()
      unsent.clear()
    }
    return at
  }
  // The count of `client` in the current minute, now the most recently seen.
  const countOf = (client: string) => {
    let count = used.get(client)
    if (count) used.delete(client)
    else {
      count = { events: 0, bytes: 0 }
      if (used.size >= maxClients) used.delete(used.keys().next().value!)
    }
    used.set(client, count)
    return count
  }
  const retryAfter = (at: number) => Math.ceil(((minute + 1) * MINUTE - at) / 1000)
  const add = (client: string, count: Count, events: number, bytes: number) => {
    count.events += events
    count.bytes += bytes
    // Kept for report() only in a process that reports (a worker of several): elsewhere no one would empty it.
    if (!reports) return
    const mine = unsent.get(client) || unsent.set(client, { events: 0, bytes: 0 }).get(client)!
    mine.events += events
    mine.bytes += bytes
  }
  return {
    /** Counts `events` and `bytes` for `client` if they fit its minute; otherwise the seconds to wait. */
    take(client: string, events: number, bytes: number): { retryAfter: number } | undefined {
      const at = clock()
      const count = countOf(client)
      if (count.events + events > eventsPerMinute || count.bytes + bytes > bytesPerMinute) return { retryAfter: retryAfter(at) }
      add(client, count, events, bytes)
      return undefined
    },
    /** Counts what `client` made the collector do for nothing: charged whether or not it fits. */
    charge(client: string, events: number, bytes = 0) {
      clock()
      add(client, countOf(client), events, bytes)
    },
    /** The events `client` may still send this minute. */
    left(client: string): number {
      clock()
      return Math.max(0, eventsPerMinute - countOf(client).events)
    },
    /** The seconds until the next minute, when every client starts again. */
    wait: () => retryAfter(clock()),
    /** The seconds to wait when `client` has used its minute up: its next request is refused before it is read. */
    spent(client: string): { retryAfter: number } | undefined {
      const at = clock()
      const count = countOf(client)
      return count.events >= eventsPerMinute || count.bytes >= bytesPerMinute ? { retryAfter: retryAfter(at) } : undefined
    },
    /** What this process counted since the last report, and the minute it was counted in; nothing when it counted nothing. */
    report(): { minute: number; counts: Counts } | undefined {
      clock()
      if (!unsent.size) return undefined
      const counts: Counts = [...unsent].map(([client, c]) => [client, c.events, c.bytes])
      unsent.clear()
      return { minute, counts }
    },
    /** The collector's totals of `minute` for some clients: each client's count is raised to them (one of an earlier minute is ignored). */
    learn(of: number, totals: Counts) {
      clock()
      if (of != minute) return
      for (const [client, events, bytes] of totals) {
        const count = countOf(client)
        count.events = Math.max(count.events, events)
        count.bytes = Math.max(count.bytes, bytes)
      }
    },
    /** A report of another process's, added to this one's counts; resolves to the totals of its clients now (the primary's sum). */
    sum(of: number, counts: Counts): Counts {
      clock()
      if (of != minute) return []
      return counts.map(([client, events, bytes]) => {
        const count = countOf(client)
        count.events += events
        count.bytes += bytes
        return [client, count.events, count.bytes]
      })
    },
    /** The clients counted now (at most maxClients). */
    size: () => used.size,
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
