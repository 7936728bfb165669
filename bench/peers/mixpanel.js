import mixpanel from 'mixpanel-browser'

window.bench = {
  init: (host) => mixpanel.init('bench', { api_host: host, track_pageview: true }),
  event: (name, props) => mixpanel.track(name, props),
}
