// The loader a site pastes into a <script>. Same shape as GoSquared's: until the tracker arrives,
// window._gs is a stub that keeps each call's arguments on _gs.q, in order; the tracker replays them.
// TRACKER_URL is the one thing a site edits. Under a nonce-based CSP the inserted script needs the
// nonce of the script that inserts it, so it is passed on.
!(function (w, d, name, script, self) {
  // The queue is the stub's own from the start: read back (q || []), it would be any q another
  // script put on Object.prototype, and its calls would be replayed as the site's.
  w[name] ||
    ((w[name] = function () {
      w[name].q.push(arguments)
    }).q = [])
  script = d.createElement('script')
  script.async = 1
  script.src = 'TRACKER_URL'
  if ((self = d.currentScript)) script.nonce = self.nonce
  d.head.appendChild(script)
})(window, document, '_gs')
