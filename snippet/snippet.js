// The loader a site pastes into a <script>. Same shape as GoSquared's: until the tracker arrives,
// window._gs is a stub that keeps each call's arguments on _gs.q, in order; the tracker replays them.
// TRACKER_URL is the one thing a site edits. Under a nonce-based CSP the inserted script needs the
// nonce of the script that inserts it, so it is passed on.
!(function (w, d, name, script, self) {
  w[name] =
    w[name] ||
    function () {
      (w[name].q = w[name].q || []).push(arguments)
    }
  script = d.createElement('script')
  script.async = 1
  script.src = 'TRACKER_URL'
  if ((self = d.currentScript)) script.nonce = self.nonce
  d.head.appendChild(script)
})(window, document, '_gs')
