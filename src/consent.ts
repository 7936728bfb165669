import { FEATURES } from './features'
import { read, write } from './storage'

const KEY = 'signet_consent'

// The visitor's answer, shared by every tracker on the page and remembered across pages:
// true (given), false (refused: opt-out) or null (not asked yet). An answer given in another tab
// applies here at once (a storage event), so a refusal stops every open page, not just the next one.
export function createConsent() {
  let given = read(KEY) as boolean | null
  const listeners: ((given: boolean) => void)[] = []
  const apply = (answer: boolean) => listeners.forEach((fn) => fn((given = answer)))
  // Only an event about this key: any other tab's write (a heartbeat) fires one too.
  if (FEATURES.consent)
    addEventListener('storage', (e) => {
      const answer = e.key == KEY ? read(KEY) : given
      if (typeof answer == 'boolean' && answer !== given) apply(answer)
    })
  // Method names the minifier shortens (not set or on, which it keeps for the DOM's sake).
  return {
    given: () => given,
    answer(answer: boolean) {
      write(KEY, answer)
      apply(answer)
    },
    onAnswer: (fn: (given: boolean) => void) => void listeners.push(fn),
  }
}

export type Consent = ReturnType<typeof createConsent>

/** Global Privacy Control, or Do Not Track. */
export const privacySignal = (): boolean =>
  (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl === true || navigator.doNotTrack == '1'
