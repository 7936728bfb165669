import { FEATURES } from './features'
import type { Rejection } from './protocol'
import { REQUEST_TIMEOUT } from './rules'
import { parse } from './storage'

/** The collector's answer: its status (0: no answer), its JSON body, and its Retry-After header. */
export type Answered = (status: number, answer?: { rejected?: Rejection[] }, retryAfter?: string | null) => void

/** The body gzipped, asynchronously; rejected where the browser has no CompressionStream. */
export const gzip = async (body: string) => new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer()

// A text/plain body keeps the request CORS-simple: no preflight, no custom headers; a gzip body
// needs no header to say so either: its first two bytes do (1f 8b; JSON starts otherwise).
// Credentials are never sent; the signature travels in the body only. keepalive lets a request
// started just before a navigation finish after it (batches stay under its 64 KB). One that has not
// answered in REQUEST_TIMEOUT is aborted, which frees its share of the keepalive quota, and counts as
// no answer (0). Where there is no AbortController (browsers before 2019) it is not timed.
export const post = (url: string, body: string | ArrayBuffer, answered: Answered) => {
  const abort = FEATURES.requestTimeout && self.AbortController ? new AbortController() : undefined
  if (abort) setTimeout(() => abort.abort(), REQUEST_TIMEOUT)
  fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', signal: abort && abort.signal }).then(
    (res) =>
      res
        .text()
        .then(parse)
        .catch(() => {})
        .then((answer) => answered(res.status, answer, res.headers.get('Retry-After'))),
    () => answered(0),
  )
}

/** Hands a body to the browser to send after the page is gone; falsy when it would not take it. */
export const beacon = (url: string, body: string) => {
  try {
    return navigator.sendBeacon(url, body)
  } catch (_) {
    return
  }
}
