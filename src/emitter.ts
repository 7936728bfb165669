export type Listener = (payload: unknown) => void

// mitt-sized: a Map keeps names such as "__proto__" from reaching Object.prototype.
export function createEmitter(onThrow: (name: string) => void) {
  const listeners = new Map<string, Listener[]>()
  return {
    on(name: string, fn: Listener) {
      listeners.set(name, (listeners.get(name) || []).concat(fn))
    },
    emit(name: string, payload: unknown) {
      for (const fn of listeners.get(name) || [])
        try {
          fn(payload)
        } catch (_) {
          onThrow(name)
        }
    },
  }
}

export type Emitter = ReturnType<typeof createEmitter>
