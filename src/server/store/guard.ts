import { backoffDelay, type Backoff } from '../ops/backoff'
import type { Log } from '../ops/log'
import type { Channel, Store } from './store'

/** An operation refused at once because the store is not open yet or cannot be reached: the batch is answered 503 and sent again. */
export class StoreUnavailable extends Error {
  readonly code = 'SIGNET_STORE_UNAVAILABLE'
}

/**
 * Whether an error says the store cannot be reached or written at all now, rather than that one
 * operation failed: a connection that cannot be made (refused, timed out, the server starting or
 * shutting down, too many connections), the primary process gone, or SQLite's disk full, I/O error,
 * read-only file. One connection lost (terminated, reset) fails its operation only: the pool makes
 * another, and if the database is away, that one fails to connect.
 */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code == 'string' && /^(E(CONNREFUSED|TIMEDOUT|NOTFOUND|AI_AGAIN|HOSTUNREACH|NETUNREACH|HOSTDOWN)|57P03|53300|SQLITE_(FULL|IOERR|CANTOPEN|READONLY)\w*|SIGNET_STORE_UNAVAILABLE)$/.test(code)) return true
  return /timeout exceeded when trying to connect|the primary process is gone|SQLite writer stopped/.test(err instanceof Error ? err.message : '')
}

/** Whether an operation failed because its connection was lost (terminated by the server, reset): worth sending again, not a wrong request. */
export function isLostConnection(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code == 'string' && /^(ECONNRESET|EPIPE|08\w{3}|57P0[12])$/.test(code)) return true
  return /Connection terminated|not queryable/.test(err instanceof Error ? err.message : '')
}

export type StoreState = 'opening' | 'up' | 'down'

export interface GuardedStore extends Store {
  /** opening: not open yet (connecting, migrating); up; down: its last operation found it unreachable. */
  state(): StoreState
  /** Resolves once the store is open (never, if it is closed first). */
  readonly opened: Promise<void>
  /** Resolves once the first attempt to open it has succeeded or failed. */
  readonly tried: Promise<void>
}

export interface GuardOptions {
  /** What the store is, for log lines (never a password). */
  description: string
  log: Log
  /** Whether the store has a channel between processes (PostgreSQL): the guard's listens once the store is open. */
  channel?: boolean
  /** Between attempts to open the store, or to reach it again. Default 0.25 s doubling to 5 s: each attempt is one connection, and a database back is noticed within 5 s. */
  retry?: Backoff
  /** Each failed operation, by name (metrics). */
  onError?: (operation: string) => void
  /** Each change between up and not. */
  onState?: (state: StoreState) => void
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/^signet: /, '')
const seconds = (ms: number) => (ms / 1000).toFixed(1)

/**
 * A store that keeps trying: `open` is tried until it succeeds (a database not up yet, a migration
 * under way), with backoff, every operation refused meanwhile (StoreUnavailable: 503). Once open,
 * an operation that finds the database unreachable (or the disk full) marks the store down, and one
 * line says so; operations are then refused at once, rather than each wait on a dead connection,
 * until a ping, tried with backoff, succeeds, whether or not requests come (a worker that answers
 * /readyz learns it is back without a batch of its own). One line says when it works again.
 */
export function guardStore(open: () => Promise<Store>, { description, log, channel, retry = { baseMs: 250, capMs: 5000 }, onError, onState }: GuardOptions): GuardedStore {
  let inner: Store | undefined
  let state: StoreState = 'opening'
  let failures = 0
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let opened: () => void
  const whenOpen = new Promise<void>((resolve) => (opened = resolve))

  const become = (next: StoreState) => {
    if (state == next) return
    state = next
    onState?.(next)
  }
  const later = (fn: () => unknown) => {
    const wait = backoffDelay(++failures, retry)
    timer = setTimeout(fn, wait)
    timer.unref()
    return wait
  }

  let opening: Promise<void> | undefined
  const tryOpen = () =>
    (opening = open().then(
      async (store) => {
        if (closed) return store.close()
        inner = store
        if (failures) log(`the store (${description}) is open: storing events`)
        failures = 0
        become('up')
        opened()
      },
      (err: unknown) => {
        if (closed) return
        const wait = later(tryOpen)
        log(`cannot open the store (${description}): ${message(err)}; trying again in ${seconds(wait)} s, answering 503 meanwhile`, 'warn')
      },
    ))
  const tried = tryOpen()

  const probe = () =>
    inner!.ping!().then(
      () => {
        if (closed || state != 'down') return
        failures = 0
        become('up')
        log(`the store (${description}) works again`)
      },
      () => void (!closed && later(probe)),
    )

  const fault = (name: string, err: unknown) => {
    onError?.(name)
    if (state != 'up' || err instanceof StoreUnavailable || !isUnreachable(err)) return
    become('down')
    log(`the store (${description}) failed: ${message(err)}; answering 503 until it works again`, 'error')
    failures = 0
    if (inner!.ping) later(probe)
  }

  const call =
    <A extends unknown[], R>(name: string, fn: (store: Store, ...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        if (!inner) throw new StoreUnavailable(`the store (${description}) is not open yet`)
        if (state == 'down' && inner.ping) throw new StoreUnavailable(`the store (${description}) is unreachable`)
        const result = await fn(inner, ...args)
        if (state == 'down') {
          become('up')
          log(`the store (${description}) works again`)
        }
        return result
      } catch (err) {
        fault(name, err)
        throw err
      }
    }

  const feed: Channel | undefined = channel
    ? {
        send: (m) => inner?.channel?.send(m),
        listen(fn, ready) {
          let stop: (() => void) | undefined
          let stopped = false
          void whenOpen.then(() => {
            if (!stopped) stop = inner!.channel?.listen(fn, ready)
          })
          return () => {
            stopped = true
            stop?.()
          }
        },
      }
    : undefined

  return {
    get description() {
      return inner?.description ?? description
    },
    state: () => state,
    opened: whenOpen,
    tried,
    add: call('add', (s, events, rejected) => s.add(events, rejected)),
    counts: call('counts', (s, project) => s.counts(project)),
    recent: call('recent', (s, project, options) => s.recent(project, options)),
    rollUp: call('rollUp', (s) => s.rollUp()),
    overview: call('overview', (s, project, period) => s.overview(project, period)),
    people: call('people', (s, project, options) => s.people(project, options)),
    person: call('person', (s, project, personId) => s.person(project, personId)),
    timeline: call('timeline', (s, project, personId, options) => s.timeline(project, personId, options)),
    names: call('names', (s, project, period, limit) => s.names(project, period, limit)),
    eventsByDay: call('eventsByDay', (s, project, period, names) => s.eventsByDay(project, period, names)),
    attempts: call('attempts', (s, project, period, limit) => s.attempts(project, period, limit)),
    forget: call('forget', (s, personId, project) => s.forget(personId, project)),
    purge: call('purge', (s, before) => s.purge(before)),
    expireForgotten: call('expireForgotten', (s, before) => s.expireForgotten(before)),
    ping: call('ping', async (s) => s.ping?.()),
    async *lines(filter) {
      if (!inner) throw new StoreUnavailable(`the store (${description}) is not open yet`)
      yield* inner.lines(filter)
    },
    channel: feed,
    async close() {
      closed = true
      clearTimeout(timer)
      await opening
      await inner?.close()
    },
  }
}
