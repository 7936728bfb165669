import { warn } from './warn'

export type Listener = (payload: unknown) => void

// mitt-sized: a list of (name, handler) pairs, so no name (not even "__proto__") touches an object's
// prototype. A handler that throws gets one warning and stops nothing.
export function createEmitter() {
  const listeners: [string, Listener][] = []
  const call = (name: string, fn: Listener, payload: unknown) => {
    try {
      fn(payload)
    } catch (_) {
      warn(`'${name}' handler threw`)
    }
  }
  return {
    on: (name: string, fn: Listener) => void listeners.push([name, fn]),
    emit: (name: string, payload: unknown) => listeners.forEach(([n, fn]) => n == name && call(name, fn, payload)),
    call,
  }
}

export type Emitter = ReturnType<typeof createEmitter>
