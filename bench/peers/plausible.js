import { init, track } from '@plausible-analytics/tracker'

window.bench = {
  init: (host) => init({ domain: 'bench.test', endpoint: host + '/api/event', captureOnLocalhost: true, logging: false }),
  event: (name, props) => track(name, { props }),
}
