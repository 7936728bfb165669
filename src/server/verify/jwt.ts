import { isIP } from 'node:net'
import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, importSPKI, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose'

/**
 * The `jwt` scheme: the person's proof is a JWT, verified with jose (no JWT parsing or crypto here).
 * Either HMAC secrets (HS256/384/512, as Intercom asks sites to sign), or an identity provider's
 * public keys (RS256, ES256, EdDSA…): inline `keys`, or its `jwksUrl`.
 */
export interface JwtOptions {
  /** Public keys: JWKs (objects) or PEM strings (SPKI). With these or jwksUrl, issuer and audience are required. */
  keys?: (JWK | string)[]
  /** The provider's JWKS: https://, or http:// to a loopback address (local providers, tests). */
  jwksUrl?: string
  issuer?: string
  audience?: string
  /** The claim holding the person id. Default `sub`. */
  personClaim?: string
  /** Default 60. */
  clockToleranceSeconds?: number
  /** The longest lifetime accepted, from iat to exp and from now to exp. Default one day. */
  maxTokenLifetimeSeconds?: number
  /** With jwksUrl: how often the JWKS is fetched again, so that a key the provider removed stops verifying. Default 600. */
  jwksRefreshSeconds?: number
  /** Default: those of the keys (HS256/384/512 with secrets; with public keys every asymmetric one jose knows). Never `none`. */
  algorithms?: string[]
  /** With secrets: the `kid` of each, in their order. A token naming a kid is checked with that secret only (unknown: unknown_key). */
  kids?: string[]
}

/**
 * What a token proves, or why it proves nothing. `transient`: it may prove something soon, its key
 * being one the provider's JWKS has not shown yet (unknown_key; see once).
 */
export type JwtResult = { person: string; exp: number } | { reason: JwtRefusal; exp?: number; transient?: true }
export type JwtRefusal = 'expired_signature' | 'bad_signature' | 'wrong_audience' | 'wrong_issuer' | 'unknown_key'

const HMAC = ['HS256', 'HS384', 'HS512']
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']
const DAY = 86_400
// A provider's JWKS: answered within 5 s and 64 KiB, refetched for an unknown kid at most every 5 s
// (a provider's new key verifies within seconds of its first token) and every jwksRefreshSeconds
// (a removed key stops verifying); a provider that is down leaves the keys it served.
const JWKS_TIMEOUT_MS = 5000
const JWKS_BYTES = 65_536
const JWKS_COOLDOWN_MS = 5000
const JWKS_REFRESH_SECONDS = 600
// Kids a JWKS did not have, remembered at once (a flood of made-up ones drops the oldest first).
const UNKNOWN_KIDS = 1000
// Verified tokens, kept until they expire: at most this many, and this many characters of tokens.
const CACHE_ENTRIES = 10_000
const CACHE_CHARS = 4_000_000

/** A token's header, as far as choosing its key needs it; a token with no readable header has neither. */
const headerOf = (token: string): { alg: string; kid?: string } => {
  try {
    const { alg, kid } = decodeProtectedHeader(token)
    return { alg: String(alg), kid: typeof kid == 'string' ? kid : undefined }
  } catch {
    return { alg: '' }
  }
}

const loopback = (host: string) => host == 'localhost' || (isIP(host.replace(/^\[|\]$/g, '')) && /^(127\.|::1$|\[::1\]$)/.test(host))

/** Throws one line naming the project and the option for a configuration that cannot work. */
export function checkJwtOptions(token: string, o: JwtOptions, secrets: unknown[]) {
  const fail = (what: string) => {
    throw new Error(`signet: project ${token}: ${what}`)
  }
  const publicKeys = o.keys !== undefined || o.jwksUrl !== undefined
  if (publicKeys && secrets.length) fail('scheme jwt takes either secrets (HMAC) or keys / jwksUrl (public keys), not both')
  if (!publicKeys && !secrets.length) fail('scheme jwt needs secrets (HS256) or keys / jwksUrl (public keys)')
  if (o.keys !== undefined && (!Array.isArray(o.keys) || !o.keys.length || !o.keys.every((k) => typeof k == 'string' || (k && typeof k == 'object'))))
    fail('keys must be a non-empty array of JWKs or PEM strings')
  if (o.jwksUrl !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(String(o.jwksUrl))
    } catch {}
    if (!url || !(url.protocol == 'https:' || (url.protocol == 'http:' && loopback(url.hostname))))
      fail('jwksUrl must be an https:// URL (or http:// to a loopback address)')
  }
  if (o.kids !== undefined && (publicKeys || !Array.isArray(o.kids) || o.kids.length != secrets.length || !o.kids.every((k) => typeof k == 'string' && k) || new Set(o.kids).size != o.kids.length))
    fail('kids must name each secret, in their order, once (with secrets only)')
  if (publicKeys && (typeof o.issuer != 'string' || !o.issuer || typeof o.audience != 'string' || !o.audience))
    fail('with public keys, issuer and audience are required (a token of the same provider for another site must not pass)')
  for (const name of ['issuer', 'audience', 'personClaim'] as const)
    if (o[name] !== undefined && (typeof o[name] != 'string' || !o[name])) fail(`${name} must be a non-empty string`)
  for (const name of ['clockToleranceSeconds', 'maxTokenLifetimeSeconds', 'jwksRefreshSeconds'] as const)
    if (o[name] !== undefined && !(typeof o[name] == 'number' && o[name]! >= 0 && o[name]! < Infinity)) fail(`${name} must be a number of seconds`)
  if (o.jwksRefreshSeconds !== undefined && (o.jwksUrl === undefined || o.jwksRefreshSeconds < 10)) fail('jwksRefreshSeconds goes with jwksUrl, and is at least 10')
  if (o.algorithms !== undefined) {
    if (!Array.isArray(o.algorithms) || !o.algorithms.length) fail('algorithms must be a non-empty array')
    const allowed = publicKeys ? ASYMMETRIC : HMAC
    const bad = o.algorithms.find((a) => !allowed.includes(a))
    if (bad !== undefined) fail(`algorithm ${JSON.stringify(bad)} is not accepted ${publicKeys ? 'with public keys' : 'with secrets'} (${allowed.join(', ')})`)
  }
}

/** The answer of a JWKS URL, bounded in time and bytes; a redirect is not followed (only the configured URL is fetched). */
const boundedFetch = async (url: string, init: RequestInit) => {
  const res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(JWKS_TIMEOUT_MS) })
  const reader = res.body?.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = reader ? await reader.read() : { done: true, value: undefined }
    if (done || !value) break
    size += value.length
    if (size > JWKS_BYTES) {
      await reader!.cancel()
      throw new Error(`the JWKS at ${url} is larger than ${JWKS_BYTES} bytes`)
    }
    chunks.push(value)
  }
  return new Response(Buffer.concat(chunks), { status: res.status, headers: res.headers })
}

/**
 * A project's verifier: `verify(token)` resolves to the person it proves, or why not. Results are
 * cached per token until the token's exp (a batch of 100 events costs one verification; the same
 * forged token sent again costs none), bounded in entries and characters.
 */
export function createJwtVerifier(o: JwtOptions, secrets: string[]) {
  const publicKeys = o.keys !== undefined || o.jwksUrl !== undefined
  const algorithms = o.algorithms || (publicKeys ? ASYMMETRIC : HMAC)
  const claim = o.personClaim || 'sub'
  const lifetime = o.maxTokenLifetimeSeconds ?? DAY
  const tolerance = o.clockToleranceSeconds ?? 60

  // jose's own cacheMaxAge would refetch the JWKS as a token waits, and fail the token when the
  // provider is down: the keys are refreshed here instead (refresh), keeping them on a failure.
  const remote =
    o.jwksUrl !== undefined
      ? createRemoteJWKSet(new URL(o.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS, cooldownDuration: JWKS_COOLDOWN_MS, cacheMaxAge: Infinity, [customFetch]: boundedFetch })
      : undefined
  const refreshMs = (o.jwksRefreshSeconds ?? JWKS_REFRESH_SECONDS) * 1000
  let refreshedAt = Date.now()
  // Inline keys: JWKs as given, picked by their kid; PEM strings (which carry no kid) tried in turn
  // for the token's algorithm, each imported once per algorithm it can serve.
  const jwks = (o.keys || []).filter((k): k is JWK => typeof k != 'string')
  const local = jwks.length ? createLocalJWKSet({ keys: jwks }) : undefined
  const pems = (o.keys || []).filter((k): k is string => typeof k == 'string')
  const imported = new Map<string, Promise<CryptoKey[]>>()
  const pemKeys = (alg: string) => {
    if (!algorithms.includes(alg)) return Promise.resolve([])
    let keys = imported.get(alg)
    if (!keys) imported.set(alg, (keys = Promise.all(pems.map((pem) => importSPKI(pem, alg).catch(() => undefined))).then((ks) => ks.filter((k): k is CryptoKey => !!k))))
    return keys
  }
  const candidates = async ({ alg, kid }: { alg: string; kid?: string }): Promise<(JWTVerifyGetKey | CryptoKey | Uint8Array)[]> => {
    if (remote) return [remote]
    if (!algorithms.includes(alg)) return []
    const byKid = local && (kid === undefined || jwks.some((k) => k.kid === kid)) ? [local] : []
    return [...byKid, ...(await pemKeys(alg))]
  }
  // HMAC secrets imported once per algorithm: given as bytes, jose imports them again for every
  // token (HS256 measured 3,154 verifications/s that way).
  const hmacImported = new Map<string, Promise<CryptoKey[]>>()
  const hmacKeys = (alg: string) => {
    if (!HMAC.includes(alg) || !algorithms.includes(alg)) return Promise.resolve([])
    let keys = hmacImported.get(alg)
    if (!keys)
      hmacImported.set(
        alg,
        (keys = Promise.all(
          secrets.map((s) => crypto.subtle.importKey('raw', new TextEncoder().encode(s), { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['verify'])),
        )),
      )
    return keys
  }

  const cache = new Map<string, JwtResult>()
  let chars = 0
  // Kids the provider's JWKS did not have, and since when (at most UNKNOWN_KIDS, the oldest dropped);
  // kids it served before, which it has removed when they are missing now (the JWKS is at most 64 KiB).
  const unknownSince = new Map<string, number>()
  const served = new Set<string>()
  const remember = (token: string, result: JwtResult) => {
    cache.set(token, result)
    chars += token.length
    for (const [oldest] of cache) {
      if (cache.size <= CACHE_ENTRIES && chars <= CACHE_CHARS) break
      cache.delete(oldest)
      chars -= oldest.length
    }
    return result
  }

  const refusal = (err: unknown): JwtRefusal => {
    if (err instanceof errors.JWTExpired) return 'expired_signature'
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.reason == 'missing') return 'bad_signature'
      if (err.claim == 'aud') return 'wrong_audience'
      if (err.claim == 'iss') return 'wrong_issuer'
      if (err.claim == 'exp' || err.claim == 'iat' || err.claim == 'nbf') return 'expired_signature'
    }
    if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'unknown_key'
    // The provider's JWKS could not be fetched at all (down, too large, not JSON).
    if (remote && !(err instanceof errors.JOSEError)) return 'unknown_key'
    return 'bad_signature'
  }

  const once = async (token: string): Promise<JwtResult> => {
    const options = {
      algorithms,
      clockTolerance: tolerance,
      requiredClaims: ['exp', claim],
      ...(o.issuer !== undefined && { issuer: o.issuer }),
      ...(o.audience !== undefined && { audience: o.audience }),
    }
    let payload: Record<string, unknown> | undefined
    let last: unknown
    const header = headerOf(token)
    let keys: (JWTVerifyGetKey | CryptoKey | Uint8Array)[] = publicKeys ? await candidates(header) : await hmacKeys(header.alg)
    // A kid picks its secret; one that names none of them proves nothing.
    if (o.kids && header.kid !== undefined) keys = o.kids.includes(header.kid) ? [keys[o.kids.indexOf(header.kid)]].filter(Boolean) : []
    // No key: for an algorithm never accepted here (alg confusion, none), a bad signature; otherwise an unknown key.
    if (!keys.length) last = algorithms.includes(header.alg) ? new errors.JWKSNoMatchingKey() : new errors.JOSEAlgNotAllowed('not accepted')
    for (const key of keys) {
      try {
        payload = (await jwtVerify(token, key as Uint8Array, options)).payload
        break
      } catch (err) {
        last = err
        // Only a wrong signature is worth trying the next key for (a rotation, several PEM keys).
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) break
      }
    }
    if (!payload) {
      const reason = refusal(last)
      // A kid first seen less than a refresh period ago may be a key the provider has just made: its
      // JWKS not fetched again yet (at most every JWKS_COOLDOWN_MS), the provider not serving it yet,
      // or down. Transient: the batch is answered 503 and the tracker sends it again after a backoff,
      // rather than refused and lost. Past that, it proves nothing; nor does a kid the provider
      // served before and has removed (a leaked key).
      if (reason == 'unknown_key' && remote && !served.has(String(header.kid))) {
        const kid = String(header.kid)
        const since = unknownSince.get(kid) ?? Date.now()
        if (!unknownSince.has(kid)) {
          unknownSince.set(kid, since)
          if (unknownSince.size > UNKNOWN_KIDS) unknownSince.delete(unknownSince.keys().next().value!)
        }
        if (Date.now() - since < refreshMs) return { reason, transient: true }
      }
      return { reason }
    }
    const exp = payload.exp as number
    const person = payload[claim]
    const now = Date.now() / 1000
    // A leaked token ages out: its lifetime is capped, from iat and from now (an iat in the future would stretch it).
    if (Math.max(exp - now, exp - (typeof payload.iat == 'number' ? payload.iat : now)) > lifetime + tolerance) return { reason: 'expired_signature', exp }
    if (typeof person != 'string' || !person) return { reason: 'bad_signature', exp }
    return { person, exp }
  }

  /**
   * Every jwksRefreshSeconds the provider's JWKS is fetched again (a failure keeps the keys it had)
   * and what was verified is forgotten: a token of a key the provider removed is verified anew, and
   * refused.
   */
  const refresh = async () => {
    if (!remote || Date.now() - refreshedAt < refreshMs) return
    refreshedAt = Date.now()
    for (const { kid } of remote.jwks()?.keys || []) if (kid !== undefined) served.add(kid)
    await remote.reload().catch(() => {})
    cache.clear()
    chars = 0
  }

  return {
    async verify(token: string): Promise<JwtResult> {
      await refresh()
      const known = cache.get(token)
      if (known) {
        if (known.exp === undefined || known.exp + tolerance > Date.now() / 1000) return known
        cache.delete(token)
        chars -= token.length
      }
      const result = await once(token)
      // A token that proved nothing for want of a key may pass once the provider has rotated: not kept.
      return 'reason' in result && result.reason == 'unknown_key' ? result : remember(token, result)
    },
    /** Whether verify(token) would answer from the cache, costing nothing. */
    knows: (token: string) => {
      const known = cache.get(token)
      return !!known && (known.exp === undefined || known.exp + tolerance > Date.now() / 1000)
    },
    /** Tokens cached now. */
    size: () => cache.size,
  }
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>

const verifiers = new WeakMap<object, JwtVerifier>()

/** A batch's tokens verified: each one's result, and how many were verified now (not cached) and proved nothing. */
export interface VerifiedTokens {
  tokens: Map<string, JwtResult>
  failed: number
  /** A token of the batch may prove something soon (JwtResult's transient): the batch is to be sent again. */
  transient?: boolean
}

/**
 * The batch's distinct tokens of a `jwt` project, verified (the I/O and the async crypto, before
 * checkBatch, which then only looks results up). Anything else: an empty map. `afford` is asked
 * first how many verifications the cache cannot answer: when it says no, none is made (undefined),
 * and the sender is refused before costing anything.
 */
export async function verifyBatchTokens(
  projects: Record<string, { scheme?: string; secrets: unknown[]; jwt?: JwtOptions }>,
  batch: unknown,
  { maxChars, maxEvents, afford }: { maxChars: number; maxEvents: number; afford?: (fresh: number) => boolean },
): Promise<VerifiedTokens | undefined> {
  const tokens = new Map<string, JwtResult>()
  const none = { tokens, failed: 0 }
  if (!batch || typeof batch != 'object') return none
  const { project: token, events } = batch as { project?: unknown; events?: unknown }
  if (typeof token != 'string' || !Object.prototype.hasOwnProperty.call(projects, token) || !Array.isArray(events) || events.length > maxEvents) return none
  const project = projects[token]
  if (project.scheme != 'jwt') return none
  let verifier = verifiers.get(project)
  if (!verifier) verifiers.set(project, (verifier = createJwtVerifier(project.jwt || {}, project.secrets.map(String))))
  for (const e of events) {
    const signature = e && typeof e == 'object' && Object.prototype.hasOwnProperty.call(e, 'signature') ? (e as { signature: unknown }).signature : undefined
    if (typeof signature == 'string' && signature.length <= maxChars && !tokens.has(signature)) tokens.set(signature, { reason: 'bad_signature' })
  }
  const fresh = [...tokens.keys()].filter((t) => !verifier!.knows(t))
  if (fresh.length && afford && !afford(fresh.length)) return undefined
  await Promise.all([...tokens.keys()].map(async (t) => tokens.set(t, await verifier!.verify(t))))
  return { tokens, failed: fresh.filter((t) => 'reason' in tokens.get(t)!).length, transient: [...tokens.values()].some((r) => 'transient' in r) }
}
