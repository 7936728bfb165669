// localStorage may be missing, disabled or throwing (private modes, sandboxed iframes, full quota):
// every access is guarded, and callers keep their own in-memory copy as the truth for this page.

export const read = (key: string): unknown => {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null')
  } catch (_) {
    return null
  }
}

/** Stores text that is JSON already. */
export const writeText = (key: string, json: string): void => {
  try {
    localStorage.setItem(key, json)
  } catch (_) {}
}

export const write = (key: string, value: unknown): void => writeText(key, JSON.stringify(value))

export const remove = (key: string): void => {
  try {
    localStorage.removeItem(key)
  } catch (_) {}
}

export const keys = (): string[] => {
  try {
    return Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i)!)
  } catch (_) {
    return []
  }
}

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
