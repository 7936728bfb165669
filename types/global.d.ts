// `/// <reference types="signet-tracker/global" />` (or import 'signet-tracker/global') types window._gs.
import type { Gs } from './signet.js'

declare global {
  /** Signet's command function, defined by the loader snippet. */
  var _gs: Gs
  interface Window {
    _gs: Gs
  }
}

export {}
