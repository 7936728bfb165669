import { FEATURES } from './features'
import { isString } from './identity'
import { PROJECT_TOKEN } from './protocol'
import { own } from './storage'
import { COMMANDS, type Core } from './tracker'

interface Gs {
  (...args: unknown[]): void
  q?: unknown
  v?: number
}

const NAME = /^[A-Za-z_$][\w$]*$/

// Replays what the snippet queued, in call order, then puts the live function in its place.
// Calls are routed GoSquared's way: _gs(token, 'name') starts a named tracker and
// _gs('name.command', ...) talks to it; everything else goes to the default tracker.
// A second copy of the tracker finds the live function (marked by v) and does nothing.
export function install(w: { _gs?: Gs }, create: (trackerName: string) => Core): void {
  // Own properties only: a v or q put on Object.prototype must neither stop the tracker nor queue calls.
  const stub = w._gs
  const found = stub && own(stub)
  if (found && found.v) return
  const trackers = new Map([['', create('')]])
  let live = false

  // A command reads at most two arguments after its name, transaction three (id, options, items).
  const run = (args: ArrayLike<unknown>) => {
    const [first, second, third, fourth] = args as unknown[]
    let tracker = trackers.get('')!
    if (FEATURES.namedTrackers && isString(first)) {
      const dot = first.indexOf('.')
      const named = dot > 0 && trackers.get(first.slice(0, dot))
      if (named) {
        tracker = named
        args = FEATURES.transactions ? [first.slice(dot + 1), second, third, fourth] : [first.slice(dot + 1), second, third]
      } else if (isString(second) && NAME.test(second) && PROJECT_TOKEN.test(first) && (COMMANDS as readonly string[]).indexOf(first) < 0) {
        tracker = trackers.get(second)!
        if (!tracker) {
          trackers.set(second, (tracker = create(second)))
          if (live) tracker.replayed()
        }
        args = [first, third]
      }
    }
    tracker.invoke(args)
  }

  const queued = found && (found.q as ArrayLike<IArguments> | undefined)
  // Indexing the live length: a call made while replaying is appended by the stub and still runs in order.
  if (queued) for (let i = 0; i < queued.length; i++) run(queued[i])
  const gs: Gs = function () {
    run(arguments)
  }
  gs.v = 1
  // Code that kept a reference to the stub pushes onto q; route those calls to the live tracker.
  gs.q = { push: run }
  if (stub) stub.q = gs.q
  w._gs = gs
  live = true
  trackers.forEach((t) => t.replayed())
}
