export { personSignature, userSignature, verifySignature, type Encoding, type Secret } from './signature'
export {
  parseVerificationKey,
  verificationToken,
  verifyVerificationToken,
  type TokenCheck,
  type TokenOptions,
} from './token'
export {
  anonymizeIp,
  createCollector,
  LIMITS,
  type Collector,
  type CollectorOptions,
  type CollectResult,
  type Handler,
  type IncomingEvent,
  type ProjectConfig,
  type Rejection,
  type Scheme,
  type SecureMode,
  type StoredEvent,
  type Verdict,
} from './collector'
export { loadConfig, type ServerConfig } from './config'
export { createSignetHandler, type BatchInfo, type Conflicts, type SignetAnswer, type SignetHandlerOptions } from './handlers'
export { openStore, sameEvent, type Outcome, type Rejected, type Store, type StoreCounts, type StoreOptions } from './store'
export { importJsonl, type ImportResult } from './import'
export { checkBatch, type CheckedBatch, type RejectedEvent } from './batch'
export { renderSnippet, type SnippetOptions } from './snippet'
