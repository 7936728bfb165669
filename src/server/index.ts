export { personSignature, userSignature, verifySignature, type Secret } from './signature'
export {
  createCollector,
  type Collector,
  type CollectorOptions,
  type CollectResult,
  type Handler,
  type IncomingEvent,
  type ProjectConfig,
  type Rejection,
  type SecureMode,
  type StoredEvent,
  type Verdict,
} from './collector'
export { loadConfig, type ServerConfig } from './config'
