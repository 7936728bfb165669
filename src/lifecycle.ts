// pagehide covers navigation and bfcache; visibilitychange covers tab switches and mobile app
// switching, after which the page may be killed without any further event.
export function onPageHide(hidden: () => void, leaving: () => void): void {
  addEventListener('pagehide', leaving)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState == 'hidden') hidden()
  })
}
