// Engagespot's front-end constructor mapped onto Signet: new Engagespot(apiKey, {userId, userSignature}).
import { warn } from '../warn'
import { gs } from './gs'

const w = window as unknown as { Engagespot?: unknown }

if (w.Engagespot) warn('window.Engagespot is already defined on this page; the Signet Engagespot adapter does nothing')
else
  w.Engagespot = class {
    constructor(apiKey: string, options: { userId?: unknown; userSignature?: unknown } = {}) {
      gs(apiKey)
      gs('identify', { userId: options.userId, userSignature: options.userSignature })
    }
  }
