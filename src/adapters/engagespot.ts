// Engagespot's front-end constructor mapped onto Signet: new Engagespot(apiKey, {userId, userSignature}).
import { own } from '../storage'
import { warn } from '../warn'
import { gs } from './gs'

const w = window as unknown as { Engagespot?: unknown }

if (w.Engagespot) warn('window.Engagespot is already defined on this page; the Signet Engagespot adapter does nothing')
else
  w.Engagespot = class {
    constructor(apiKey: string, options: { userId?: unknown; userSignature?: unknown } = {}) {
      // Own properties only: a userSignature on Object.prototype is nobody's.
      const { userId, userSignature } = own(options)
      gs(apiKey)
      gs('identify', { userId, userSignature })
    }
  }
