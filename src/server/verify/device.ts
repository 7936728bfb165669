// What the console counts browsers, operating systems and device types by: a request's User-Agent
// header, parsed once as it arrives (ua-parser-js 1.x: MIT; its 2.x is AGPL) into a short label
// that every event of the request keeps. The label, never the header, is stored: a whole header is
// a step towards fingerprinting a person, and far more kinds of text for the dictionary.
//
// Parsed at ingestion, per request rather than per event, and remembered per header: measured in
// bench/devices.mjs against parsing each event's header as the summaries are made.

import UAParser from 'ua-parser-js'

/** The label's parts, in its order, joined by DEVICE_SEPARATOR: `Firefox|Linux|desktop`. */
export const DEVICE_PARTS = ['browser', 'os', 'device'] as const
export const DEVICE_SEPARATOR = '|'
/** What a part is when the header does not say. */
export const UNKNOWN = 'unknown'
// ua-parser-js reads at most 500 characters of a header; nothing past them changes its answer.
const MAX_HEADER = 500
const MAX_PART = 40
// Distinct headers remembered, then forgotten all at once: a scanner sending a new header with
// every request costs a parse each, never memory.
const REMEMBERED = 2000

/** A User-Agent header's label, for a store (`Chrome|Windows|desktop`); undefined without a header. */
export function deviceParser() {
  const known = new Map<string, string>()
  return (header: unknown): string | undefined => {
    if (typeof header != 'string' || !header.trim()) return undefined
    const ua = header.slice(0, MAX_HEADER)
    let label = known.get(ua)
    if (label === undefined) {
      const { browser, os, device } = new UAParser(ua).getResult()
      const part = (s: string | undefined) => (s ? s.replace(/\|/g, '/').slice(0, MAX_PART) : UNKNOWN)
      // ua-parser-js names a device type only for what is not a computer (mobile, tablet, smarttv,
      // console, wearable, embedded, xr): a browser on a known system is on a desktop.
      const type = device.type || (browser.name || os.name ? 'desktop' : undefined)
      label = [part(browser.name), part(os.name), part(type)].join(DEVICE_SEPARATOR)
      if (known.size >= REMEMBERED) known.clear()
      known.set(ua, label)
    }
    return label
  }
}

/** A stored label's parts (browser, os, device), or undefined for anything that is not a label. */
export function deviceParts(label: unknown): [string, string, string] | undefined {
  if (typeof label != 'string') return undefined
  const parts = label.split(DEVICE_SEPARATOR)
  return parts.length == 3 && parts.every(Boolean) ? (parts as [string, string, string]) : undefined
}
