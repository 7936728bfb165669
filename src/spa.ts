// Single-page apps change the URL with the History API and never reload. A pageview is due when the
// path changes (and the hash, for hash routing); a new query string alone is not a new page.
export function onRouteChange(changed: () => void, withHash: () => boolean): void {
  const route = () => location.pathname + (withHash() ? location.hash : '')
  let last = route()
  const check = () => last != (last = route()) && changed()
  for (const method of ['pushState', 'replaceState'] as const) {
    const original = history[method]
    history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
      const result = original.apply(this, args)
      check()
      return result
    }
  }
  addEventListener('popstate', check)
  addEventListener('hashchange', check)
}
