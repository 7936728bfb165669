export type SignatureProvider = (personId: string) => string | PromiseLike<string>

const TRIES = 3

// Calls the site's signature provider for one person id at a time. An answer is handed back with
// the id it was asked for, whatever happened to the identity meanwhile. Failures (a throw, a
// rejection, anything but a non-empty string) are retried with backoff, then reported once.
export function createAsker(
  answer: (personId: string, signature: string) => void,
  giveUp: (personId: string, error: unknown) => void,
) {
  let provider: SignatureProvider | undefined
  const pending = new Set<string>()

  const ask = (personId: string, attempt = 0) => {
    if (!provider || (!attempt && pending.has(personId))) return
    pending.add(personId)
    const fn = provider
    new Promise<unknown>((resolve) => resolve(fn(personId)))
      .then((signature) => {
        if (typeof signature != 'string' || !signature) throw 'no string'
        pending.delete(personId)
        answer(personId, signature)
      })
      .catch((error: unknown) => {
        if (attempt + 1 < TRIES) setTimeout(() => ask(personId, attempt + 1), 1000 << attempt)
        else {
          pending.delete(personId)
          giveUp(personId, error)
        }
      })
  }

  return {
    set(fn: SignatureProvider) {
      provider = fn
    },
    has: () => !!provider,
    ask,
    pending: (personId: string) => pending.has(personId),
  }
}

export type Asker = ReturnType<typeof createAsker>
