import { newTracker, trackPageView, trackSelfDescribingEvent } from '@snowplow/browser-tracker'

window.bench = {
  init(host) {
    newTracker('sp', host, { appId: 'bench', platform: 'web' })
    trackPageView()
  },
  event: (name, props) => trackSelfDescribingEvent({ event: { schema: 'iglu:test.bench/' + name.replace(/\W/g, '_') + '/jsonschema/1-0-0', data: props } }),
}
