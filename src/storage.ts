export interface Store<T> {
  get(): T | undefined
  set(value: T): void
}

// localStorage may be missing, disabled or throwing (private modes, sandboxed iframes, full quota):
// the in-memory copy keeps the tracker working for this page either way.
export function createStore<T>(key: string): Store<T> {
  let memory: T | undefined
  return {
    get() {
      try {
        const raw = localStorage.getItem(key)
        if (raw) memory = JSON.parse(raw)
      } catch (_) {}
      return memory
    },
    set(value) {
      memory = value
      try {
        localStorage.setItem(key, JSON.stringify(value))
      } catch (_) {}
    },
  }
}
