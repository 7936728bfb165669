import { createTracker } from '../../dist/signet.mjs'

// Signet as a bundler user loads it: the package's ES module entry, bundled and loaded as the peers are
// (tracker.js, the "signet" row, is loaded by a script element, as the snippet does).
let gs
window.bench = {
  init(host) {
    gs = createTracker({ endpoint: host + '/track' })
    gs('GSN-BENCH')
  },
  event: (name, props) => gs('event', name, props),
}
