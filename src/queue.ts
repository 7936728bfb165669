import type { Tracker } from './tracker'

interface Gs {
  (...args: unknown[]): void
  q?: unknown
  v?: number
}

// Replays what the snippet queued, in call order, then puts the live function in its place.
// A second copy of the tracker finds the live function (marked by v) and does nothing.
export function install(w: Record<string, unknown>, name: string, create: () => Tracker): void {
  const stub = w[name] as Gs | undefined
  if (stub && stub.v) return
  const tracker = create()
  const queued = stub && (stub.q as ArrayLike<IArguments> | undefined)
  // Indexing the live length: a call made while replaying is appended by the stub and still runs in order.
  if (queued) for (let i = 0; i < queued.length; i++) tracker.run(queued[i])
  const live: Gs = function () {
    tracker.run(arguments)
  }
  live.v = 1
  // Code that kept a reference to the stub pushes onto q; route those calls to the live tracker.
  live.q = { push: tracker.run }
  if (stub) stub.q = live.q
  w[name] = live
  tracker.replayed()
}
