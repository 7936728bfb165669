import type { Store } from '../store/store'
import { StoreUnavailable } from '../store/guard'
import type { Log } from '../ops/log'

const DAY = 86_400_000
// How often the console's summaries catch up, and how often old events are purged.
const ROLLUP_EVERY = 10_000
const PURGE_EVERY = 3_600_000

/**
 * The store's upkeep, in the process that writes to it: the console's summaries caught up every
 * 10 s, and with a retention of N days, events received before the start of the day N days ago
 * deleted on start and then hourly (in chunks: ingestion goes on between them); the digests of
 * events forgotten more than `keepForgottenMs` ago (the oldest event the collector accepts, and a
 * day) deleted on start and then hourly, whatever the retention. A failure is logged and tried
 * again at the next turn. Returns what stops it.
 */
export function maintain(store: Store, { retentionDays, keepForgottenMs, log }: { retentionDays: number; keepForgottenMs: number; log: Log }) {
  let stopped = false
  let busy: Promise<unknown> = Promise.resolve()
  const turn = (what: string, fn: () => Promise<unknown>) =>
    (busy = busy
      .then(() => (stopped ? undefined : fn()))
      // A store not open yet, or unreachable, has said so once already (the guard's line).
      .catch((err: unknown) => err instanceof StoreUnavailable || log(`signet: ${what} failed, tried again later: ${err instanceof Error ? err.message : String(err)}`, 'error')))
  const purge = () =>
    turn('purging old events', async () => {
      const before = (Math.floor(Date.now() / DAY) - retentionDays) * DAY
      const gone = await store.purge(before)
      if (gone) log(`Deleted ${gone} events received before ${new Date(before).toISOString().slice(0, 10)} (retention: ${retentionDays} days)`)
    })
  const expire = () => turn("deleting forgotten events' digests", () => store.expireForgotten(Date.now() - keepForgottenMs))
  if (retentionDays) purge()
  expire()
  turn('summing up events for the console', () => store.rollUp())
  const timers = [setInterval(() => turn('summing up events for the console', () => store.rollUp()), ROLLUP_EVERY), setInterval(expire, PURGE_EVERY)]
  if (retentionDays) timers.push(setInterval(purge, PURGE_EVERY))
  timers.forEach((t) => t.unref())
  return async () => {
    stopped = true
    timers.forEach(clearInterval)
    await busy
  }
}
