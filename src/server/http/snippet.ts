import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { LIMITS, PROJECT_TOKEN } from '../../protocol'

/** What renderSnippet puts in the <script> a site pastes into every page. */
export interface SnippetOptions {
  /** Where tracker.js is served: an http(s) URL, a protocol-relative URL or an absolute path. */
  src: string
  /** The project token, as in _gs(token). */
  token: string
  /** The options of _gs(token, options), as JSON. */
  options?: Record<string, unknown>
  /** The nonce of a nonce-based Content-Security-Policy (docs/csp.md). */
  nonce?: string
  /** The signed-in person, as _gs('identify', …) takes it: {id, name?, email?, …}. */
  identify?: Record<string, unknown>
  /** Their Person Signature or token (an HMAC, a verification token, a JWT), as _gs('auth', …) takes it. */
  signature?: string
}

// No quote, backslash, angle bracket or space: the URL goes into the loader's string literal as it is.
const SRC = /^((https?:)?\/\/|\/)[^\s'"\\<>]+$/
const NONCE = /^[\w+/=-]+$/

let built: string | undefined
/** The loader snippet (dist/snippet.min.js, found through this package's exports) pointed at src. */
export const loader = (src: string): string => {
  if (!SRC.test(src)) throw new Error(`renderSnippet: src ${JSON.stringify(src)} is not an http(s) URL or an absolute path of tracker.js`)
  built ??= readFileSync(createRequire(import.meta.url).resolve('signet-tracker/snippet.js'), 'utf8')
  return built.replace('TRACKER_URL', src)
}

/** JSON inside a <script>: '<' escaped so no "</script>" ends it early, U+2028/9 for older parsers. */
export const scriptJson = (value: unknown) =>
  JSON.stringify(value).replace(/[<\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))

/**
 * The <script> element to paste into every page: the loader, pointed at src, and the call that
 * starts the tracker. Throws an error naming the bad option.
 */
export function renderSnippet({ src, token, options, nonce, identify, signature }: SnippetOptions): string {
  if (typeof token != 'string' || !PROJECT_TOKEN.test(token) || token.length > 256)
    throw new Error(`renderSnippet: token ${JSON.stringify(token)} is not a project token (such as GSN-123456-A)`)
  if (options !== undefined && (!options || typeof options != 'object' || Array.isArray(options)))
    throw new Error('renderSnippet: options must be an object of StartOptions')
  if (nonce !== undefined && !NONCE.test(nonce)) throw new Error('renderSnippet: nonce must be base64 or letters and digits')
  if (identify !== undefined) {
    const id = identify && typeof identify == 'object' && !Array.isArray(identify) && Object.prototype.hasOwnProperty.call(identify, 'id') ? identify.id : undefined
    if (!((typeof id == 'string' && id) || (typeof id == 'number' && Number.isFinite(id)))) throw new Error('renderSnippet: identify must be an object with an id (a non-empty string or a number)')
  }
  if (signature !== undefined && (typeof signature != 'string' || !signature || signature.length > LIMITS.signature))
    throw new Error(`renderSnippet: signature must be a non-empty string of at most ${LIMITS.signature} characters`)
  if (signature !== undefined && identify === undefined) throw new Error('renderSnippet: signature goes with identify (whose signature is it?)')
  // JSON escaped for a <script>: a name holding "</script>" or U+2028 stays inside its string.
  const start = [
    `_gs(${scriptJson(token)}${options ? ', ' + scriptJson(options) : ''});`,
    ...(identify !== undefined ? [`_gs('identify', ${scriptJson(identify)});`] : []),
    ...(signature !== undefined ? [`_gs('auth', ${scriptJson(signature)});`] : []),
  ].join('\n')
  return `<script${nonce ? ` nonce="${nonce}"` : ''}>\n${loader(src)}\n${start}\n</script>`
}
