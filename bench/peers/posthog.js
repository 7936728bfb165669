import posthog from 'posthog-js'

window.bench = {
  // Its docs' advice for automated browsers: without it every event is dropped as bot traffic.
  init: (host) => posthog.init('phc_bench', { api_host: host, opt_out_useragent_filter: true }),
  event: (name, props) => posthog.capture(name, props),
}
