// Runs in the page (page.evaluate): loads one tracker, initialises it and returns how long that took
// (ms). Signet from /signet/tracker.js by a script element, as the snippet does; a peer from its
// bundle /build/<name>/index.js (bench/peers/<name>.js sets window.bench) by import(), or by a
// script element for a classic-script build (plausible-script). Shared by bench/run.mjs
// and bench/startup-profile.mjs, so both time the same thing; it leaves benchStart and benchLoaded on
// window for the profile's phases. `src` loads another build of tracker.js in Signet's place.
export async function startInPage({ name, base, src = '/signet/tracker.js' }) {
  const t0 = (window.benchStart = performance.now())
  if (name == 'signet' || name == 'plausible-script')
    await new Promise((resolve, reject) => {
      const s = document.createElement('script')
      s.src = name == 'signet' ? base + src : `${base}/build/${name}/index.js`
      s.onload = resolve
      s.onerror = reject
      document.head.appendChild(s)
    })
  else await import(`${base}/build/${name}/index.js`)
  if (name == 'signet')
    window.bench = {
      init: (host) => _gs('GSN-BENCH', { endpoint: host + '/track' }),
      event: (n, p) => _gs('event', n, p),
    }
  window.benchLoaded = performance.now()
  window.bench.init(base)
  return performance.now() - t0
}

// Runs in the page, after startInPage: `count` event calls through window.bench, timed on the main
// thread (the loop alone), and the long tasks they cause, during the loop and for 1 s after. Shared
// by bench/run.mjs and bench/compare-builds.mjs, so both time the same calls.
export async function eventCallsInPage(count) {
  const long = []
  const observer = new PerformanceObserver((list) => long.push(...list.getEntries().filter((e) => e.duration >= 50)))
  observer.observe({ type: 'longtask' })
  const t0 = performance.now()
  for (let i = 0; i < count; i++) window.bench.event('bench_event', { i, plan: 'pro' })
  const ms = performance.now() - t0
  await new Promise((r) => setTimeout(r, 1000))
  observer.disconnect()
  return { ms, longTasks: long.length }
}
