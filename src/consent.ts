import { read, write } from './storage'

const KEY = 'signet_consent'

// The visitor's answer, shared by every tracker on the page and remembered across pages:
// true (given), false (refused: opt-out) or null (not asked yet).
export function createConsent() {
  let given = read(KEY) as boolean | null
  const listeners: ((given: boolean) => void)[] = []
  return {
    given: () => given,
    set(answer: boolean) {
      write(KEY, (given = answer))
      listeners.forEach((fn) => fn(answer))
    },
    on: (fn: (given: boolean) => void) => void listeners.push(fn),
  }
}

export type Consent = ReturnType<typeof createConsent>

/** Global Privacy Control, or Do Not Track. */
export const privacySignal = (): boolean => {
  const n = navigator as Navigator & { globalPrivacyControl?: boolean }
  return n.globalPrivacyControl === true || n.doNotTrack == '1'
}
