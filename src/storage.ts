// localStorage may be missing, disabled or throwing (private modes, sandboxed iframes, full quota):
// every access is guarded, and callers keep their own in-memory copy as the truth for this page.
const guarded = <T>(use: (s: Storage) => T): T | undefined => {
  try {
    return use(localStorage)
  } catch (_) {
    return
  }
}

export const read = (key: string): any => guarded((s) => JSON.parse(s.getItem(key)!))

/** Stores text that is JSON already. */
export const writeText = (key: string, json: string) => guarded((s) => s.setItem(key, json))

export const write = (key: string, value: unknown) => writeText(key, JSON.stringify(value))

export const remove = (key: string) => guarded((s) => s.removeItem(key))

export const keys = (): string[] => guarded(Object.keys) || []
