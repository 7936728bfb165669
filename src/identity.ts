import { LIMITS } from './limits'
import type { Store } from './storage'

export type Props = Record<string, unknown>

// What is persisted: the anonymous id, and the person id with the signature given for it.
// They live in one record so the pair can never be written apart.
export interface IdentityState {
  a: string
  p?: string
  s?: string
  r?: Props
}

export interface Stamp {
  anonymousId: string
  personId?: string
  signature?: string
}

export interface Person {
  id: string
  signature?: string
  props: Props
}

export const isString = (v: unknown): v is string => typeof v == 'string'
const NEEDS_ID = 'needs {id}, {userId} or {email}'

// A stored record someone edited by hand is not trusted with a person or a signature.
const valid = (s: IdentityState | undefined): IdentityState | undefined =>
  s && isString(s.a) && [s.p, s.s].every((v) => v === undefined || isString(v)) ? s : undefined

// Accepts GoSquared's {id, email, ...}, Help Scout Beacon's {name, email, signature} and
// Engagespot's {userId, userSignature}. Returns a reason string when the input is unusable.
export function parsePerson(input: unknown): Person | string {
  if (!input || typeof input != 'object') return NEEDS_ID
  const props: Props = { ...input }
  const { id, userId, signature, userSignature } = props
  for (const k of ['id', 'userId', 'signature', 'userSignature']) delete props[k]
  const raw = id != null ? id : userId != null ? userId : props.email
  if (!(isString(raw) && raw) && !(typeof raw == 'number' && isFinite(raw)))
    return NEEDS_ID
  if (String(raw).length > LIMITS.personId) return `id over ${LIMITS.personId} characters`
  const sig = signature != null ? signature : userSignature
  if (sig != null && !(isString(sig) && sig && sig.length <= LIMITS.signature))
    return 'bad signature'
  return { id: String(raw), signature: sig as string | undefined, props }
}

export function createIdentity(store: Store<IdentityState>, newId: () => string) {
  let state = valid(store.get()) || { a: newId() }
  // A signature given before this page's first identify is held for the next identify,
  // never attached to a person remembered from an earlier page.
  let held: string | undefined
  let identified = false
  const save = () => store.set(state)
  save()

  return {
    /** Writes the current state again, e.g. once storage is allowed. */
    save,

    stamp: (): Stamp => ({ anonymousId: state.a, personId: state.p, signature: state.p && state.s }),

    identify(person: Person): Props {
      if (person.id !== state.p) {
        // A different person: the previous signature and person properties are not theirs.
        // Properties set while anonymous do belong to whoever signs in next.
        state = { a: state.a, p: person.id, r: state.p ? undefined : state.r }
      }
      const sig = person.signature || held
      if (sig) state.s = sig
      held = undefined
      identified = true
      return this.properties(person.props)
    },

    auth(signature: string) {
      if (identified) {
        state.s = signature
        save()
      } else held = signature
    },

    /** Sets or clears the signature of personId, if that is still who is identified. */
    sign(personId: string, signature?: string) {
      if (state.p == personId) {
        state.s = signature
        save()
      }
    },

    properties(props: Props): Props {
      state.r = { ...state.r, ...props }
      save()
      return state.r
    },

    reset() {
      state = { a: newId() }
      held = undefined
      identified = false
      save()
    },
  }
}

export type Identity = ReturnType<typeof createIdentity>
