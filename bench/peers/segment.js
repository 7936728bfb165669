import { AnalyticsBrowser } from '@segment/analytics-next'

// cdnSettings given inline: the settings normally fetched from Segment's CDN, pointed at the local host.
let analytics
window.bench = {
  init(host) {
    analytics = AnalyticsBrowser.load({
      writeKey: 'bench',
      cdnSettings: { integrations: { 'Segment.io': { apiKey: 'bench', apiHost: host.replace(/^https?:\/\//, '') + '/v1', protocol: 'http' } } },
    })
    analytics.page()
  },
  event: (name, props) => analytics.track(name, props),
}
