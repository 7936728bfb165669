// The loader a site pastes into a <script>. Same shape as GoSquared's: until the tracker arrives,
// window._gs is a stub that keeps each call's arguments on _gs.q, in order; the tracker replays them.
// TRACKER_URL is the one thing a site edits.
!(function (w, d, name, script) {
  w[name] =
    w[name] ||
    function () {
      (w[name].q = w[name].q || []).push(arguments)
    }
  script = d.createElement('script')
  script.async = 1
  script.src = 'TRACKER_URL'
  d.head.appendChild(script)
})(window, document, '_gs')
