export interface CollectorAnswer {
  accepted?: number
  rejected?: { id: string; reason: string }[]
}

// ok: the collector answered 2xx. retry: not delivered, for a reason that may pass (network, 5xx,
// 408, 429); after: how long the collector asked us to wait (Retry-After), in ms.
export type Delivery = { ok: boolean; retry: boolean; status: number; after?: number; answer?: CollectorAnswer }

const retryAfter = (value: string | null): number | undefined => {
  if (!value) return
  const ms = /^\d+$/.test(value) ? +value * 1000 : Date.parse(value) - Date.now()
  return ms >= 0 ? ms : undefined
}

// A text/plain body keeps the request CORS-simple: no preflight, no custom headers. Credentials are
// never sent; the signature travels in the body only. keepalive lets a request started just before
// a navigation finish after it.
export const post = (url: string, body: string): Promise<Delivery> =>
  fetch(url, { method: 'POST', body, keepalive: body.length < 60_000, credentials: 'omit' }).then(
    (res) =>
      res
        .json()
        .catch(() => undefined)
        .then((answer) => ({
          ok: res.ok,
          retry: res.status >= 500 || res.status == 408 || res.status == 429,
          status: res.status,
          after: retryAfter(res.headers.get('Retry-After')),
          answer,
        })),
    () => ({ ok: false, retry: true, status: 0 }),
  )

/** Hands a body to the browser to send after the page is gone; false when it would not take it. */
export const beacon = (url: string, body: string): boolean => {
  try {
    return !!navigator.sendBeacon && navigator.sendBeacon(url, body)
  } catch (_) {
    return false
  }
}
