// localStorage may be missing, disabled or throwing (private modes, sandboxed iframes, full quota):
// every access is guarded, and callers keep their own in-memory copy as the truth for this page.
const guarded = <T>(use: (s: Storage) => T): T | undefined => {
  try {
    return use(localStorage)
  } catch (_) {
    return undefined
  }
}

export const read = (key: string): unknown => guarded((s) => JSON.parse(s.getItem(key)!))

/** Stores text that is JSON already. */
export const writeText = (key: string, json: string) => guarded((s) => s.setItem(key, json))

export const write = (key: string, value: unknown) => writeText(key, JSON.stringify(value))

export const remove = (key: string) => guarded((s) => s.removeItem(key))

export const keys = (): string[] => guarded(Object.keys) || []

export interface Store<T> {
  get(): T | undefined
  set(value: T): void
  clear(): void
}

/** A value kept in memory, and in localStorage whenever `allowed` says so (consent). */
export function createStore<T>(key: string, allowed: () => boolean = () => true): Store<T> {
  let memory: T | undefined
  return {
    get: () => (memory = (read(key) as T) || memory),
    set(value) {
      memory = value
      if (allowed()) write(key, value)
    },
    clear: () => remove(key),
  }
}
