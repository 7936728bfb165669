export { personSignature, userSignature, verifySignature, type Encoding, type Secret } from './verify/signature'
export {
  parseVerificationKey,
  verificationToken,
  verifyVerificationToken,
  type TokenCheck,
  type TokenOptions,
} from './verify/token'
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
} from './http/collector'
export { loadConfig, type ServerConfig } from './cli/config'
export { createSignetHandler, type BatchInfo, type Conflicts, type SignetAnswer, type SignetHandlerOptions } from './http/handlers'
export { openStore } from './store/open'
export { sameEvent, type Outcome, type Rejected, type Store, type StoreCounts, type StoreOptions } from './store/store'
export { importJsonl, type ImportResult } from './store/import'
export { checkBatch, type CheckedBatch, type RejectedEvent } from './verify/batch'
export { createJwtVerifier, type JwtOptions, type JwtResult, type JwtVerifier } from './verify/jwt'
export { renderSnippet, type SnippetOptions } from './http/snippet'
export { trackerScript, type ScriptAnswer, type ScriptName, type TrackerScript } from './http/script'
