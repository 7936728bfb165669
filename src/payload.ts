import type { Props } from './identity'
import { LIMITS, type Page } from './protocol'
import { warn } from './warn'

export const currentPage = (path?: string, title?: string): Required<Page> => ({
  url: (path ? new URL(path, location.href).href : location.href).slice(0, LIMITS.url),
  title: (title != null ? title : document.title).slice(0, LIMITS.title),
  referrer: document.referrer.slice(0, LIMITS.url),
})

// Props are copied when the command runs, so a page that mutates its object afterwards cannot
// change what was tracked; a value JSON cannot carry (cycles, BigInt, throwing getters) throws here,
// where the caller turns it into a warning.
export const snapshot = (props: unknown): Props | undefined => {
  if (props === undefined) return
  if (!props || typeof props != 'object' || Array.isArray(props)) throw 'props must be a plain object'
  const json = JSON.stringify(props)
  // The event still goes; only what the collector would refuse is left out.
  if (json.length <= LIMITS.props) return JSON.parse(json)
  warn(`props over ${LIMITS.props} characters of JSON left out`)
  return
}
