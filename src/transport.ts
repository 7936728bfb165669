export interface CollectorAnswer {
  accepted?: number
  rejected?: { id: string; reason: string }[]
}

// ok: the collector answered 2xx, or the browser took the beacon (whose answer nobody can read).
// retry: the events were not delivered for a reason that may pass (network, 5xx, 408, 429).
export type Delivery = { ok: boolean; retry: boolean; status: number; answer?: CollectorAnswer }

// A text/plain body keeps the request CORS-simple: no preflight, no custom headers. Credentials are
// never sent; the signature travels in the body only.
export function post(url: string, body: string, beacon?: boolean): Promise<Delivery> {
  try {
    if (beacon && navigator.sendBeacon && navigator.sendBeacon(url, body))
      return Promise.resolve({ ok: true, retry: false, status: 0 })
  } catch (_) {}
  return fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit' }).then(
    (res) =>
      res
        .json()
        .catch(() => undefined)
        .then((answer) => ({
          ok: res.ok,
          retry: res.status >= 500 || res.status == 408 || res.status == 429,
          status: res.status,
          answer,
        })),
    () => ({ ok: false, retry: true, status: 0 }),
  )
}
