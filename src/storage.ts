// localStorage may be missing, disabled or throwing (private modes, sandboxed iframes, full quota):
// every access is guarded, and callers keep their own in-memory copy as the truth for this page.
const guarded = <T>(use: (s: Storage) => T): T | undefined => {
  try {
    return use(localStorage)
  } catch (_) {
    return
  }
}

/**
 * A copy of `o`'s own properties in an object with no prototype: reading a key it lacks gives
 * undefined, whatever another script put on Object.prototype (options, records, answers).
 */
export const own = <T>(o: T): T => Object.assign(Object.create(null), o)

// What was stored, or a collector's answer, is untrusted: every object in it comes back with no prototype.
export const parse = (text: string): any => JSON.parse(text, (_, v) => (v && typeof v == 'object' && !Array.isArray(v) ? own(v) : v))

// The largest outbox is 512 K characters; anything longer was not written by Signet and is not parsed.
const MAX_READ = 600_000

export const readText = (key: string) => guarded((s) => s.getItem(key))

export const read = (key: string): any =>
  guarded((s) => {
    const text = s.getItem(key)
    return text && text.length < MAX_READ ? parse(text) : null
  })

/** Stores text that is JSON already. */
export const writeText = (key: string, json: string) => guarded((s) => s.setItem(key, json))

export const write = (key: string, value: unknown) => writeText(key, JSON.stringify(value))

export const remove = (key: string) => guarded((s) => s.removeItem(key))

export const keys = (): string[] => guarded(Object.keys) || []
