import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { BlockList } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { trusts } from '../http/budget'

/** Who may use the console. */
export interface ConsoleAccess {
  /** SIGNET_DASHBOARD_TOKEN, or one made for the run: required, once as ?token=, then a cookie; or as a bearer token. */
  token: string
  /** Reverse proxies whose X-Forwarded-Proto says the request came over HTTPS (the cookie is then Secure). */
  trustProxy?: BlockList
}

export const CONSOLE_COOKIE = 'signet_dashboard'
const COOKIE_VALUE = new RegExp(`(?:^|;\\s*)${CONSOLE_COOKIE}=([^;]*)`)

// Compared as SHA-256 digests, always 32 bytes: comparing the texts themselves needs equal lengths
// (a length is in UTF-16 units, Buffer's in UTF-8 bytes: a non-ASCII guess of the token's length threw),
// and refusing other lengths early would tell the token's.
const digest = (text: string) => createHash('sha256').update(text).digest()
export const sameText = (a: string, b: string) => timingSafeEqual(digest(a), digest(b))

/** The cookie's value as sent, decoded; undefined when it is not valid percent-encoding. */
const decoded = (value: string) => {
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

/**
 * The console shows who did what: it answers only a request that has its token (as `?token=` once,
 * the cookie that sets, or `Authorization: Bearer`), whatever its address. A request from this
 * machine is no proof: behind a reverse proxy every request comes from it. And a page elsewhere
 * that rebinds its DNS to 127.0.0.1 has no token: the browser keeps the cookie for the console's host.
 */
export function allowed(req: IncomingMessage, { token }: ConsoleAccess, given?: string | null): boolean {
  const cookie = COOKIE_VALUE.exec(req.headers.cookie || '')?.[1]
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization || '')?.[1]
  return [given, cookie && decoded(cookie), bearer].some((t) => !!t && sameText(t, token))
}

/** Whether the request came over HTTPS: its own TLS, or a trusted proxy's X-Forwarded-Proto. */
export const overHttps = (req: IncomingMessage, proxies?: BlockList) =>
  (req.socket as TLSSocket).encrypted || (!!proxies && trusts(proxies, req.socket.remoteAddress || '') && req.headers['x-forwarded-proto'] == 'https')

/** The cookie that keeps the token once given in the address: HttpOnly, same-site only, Secure over HTTPS. */
export const tokenCookie = (req: IncomingMessage, access: ConsoleAccess, token: string) =>
  `${CONSOLE_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${overHttps(req, access.trustProxy) ? '; Secure' : ''}`
