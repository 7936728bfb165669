import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ProjectConfig, Scheme, SecureMode } from '../http/collector'
import { EVENT_AGE, LIMITS } from '../../protocol'
import { checkProjects, MAX_ANONYMOUS_PROPS } from '../verify/batch'
import type { JwtOptions } from '../verify/jwt'
import { DEFAULT_BUDGET, trustedProxies, type ClientBudget } from '../http/budget'
import { DEFAULT_SQLITE_FILE } from '../store/store'
import { logFormat, type LogFormat } from '../ops/log'

export interface ServerConfig {
  port: number
  host: string
  /** Where events are stored: PostgreSQL when `url` is set, otherwise the SQLite `file`. */
  store: { url?: string; file: string }
  /** The JSONL data file of an earlier Signet: imported into the store on start when it exists, then renamed. */
  importFile: string
  /** HTTP worker processes. */
  workers: number
  projects: Record<string, ProjectConfig>
  /** The project the demo page tracks into: the first one with a secret, so it can sign people in. */
  demoProject: string
  /** True when no secret was configured and one was made up for this run. */
  generatedSecret: boolean
  /** Oldest event accepted, in ms before its batch's sentAt (SIGNET_MAX_EVENT_AGE, in seconds). */
  maxEventAgeMs?: number
  /** SIGNET_DASHBOARD_TOKEN, or one made for this run: the dashboard answers only with it. */
  dashboardToken: string
  /** True when dashboardToken was made for this run (npm start prints the dashboard's address with it). */
  generatedDashboardToken: boolean
  /** SIGNET_METRICS_TOKEN, or the dashboard's token: what /metrics asks for. */
  metricsToken: string
  /** SIGNET_LOG_FORMAT: text (a time, a level, the line) or json (one object a line). */
  logFormat: LogFormat
  /** What one client address may have stored per minute (SIGNET_CLIENT_EVENTS, SIGNET_CLIENT_BYTES; 0: no budget). */
  budget: ClientBudget | false
  /** SIGNET_MAX_ANONYMOUS_PROPS: the most characters of JSON an anonymous event's props may have. */
  maxAnonymousProps: number
  /** SIGNET_TRUST_PROXY (--trust-proxy): addresses or CIDR ranges of the reverse proxies in front. */
  trustProxy: string[]
  /** SIGNET_IP (--ip): what is kept of a client's address, truncated (default), full or none. */
  storeIp: 'truncated' | 'full' | 'none'
  /** SIGNET_RETENTION_DAYS (--retention-days): events older than this many whole days are deleted; 0: kept for ever. */
  retentionDays: number
}

type Env = Record<string, string | undefined>

/** A file's text, or one line naming what it is for, the path and why it cannot be read. */
const readText = (file: string, what: string) => {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`signet: cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code || 'unreadable'})`)
  }
}

// One secret per line, so a rotation can list the new secret beside the old one.
export const readSecrets = (file: string) => {
  const secrets = readText(file, 'the secret file')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  if (!secrets.length) throw new Error(`signet: the secret file ${file} is empty`)
  return secrets
}

interface FileProject extends JwtOptions {
  secureMode?: SecureMode
  scheme?: Scheme
  maxAgeSeconds?: number
  secrets?: string[]
  secretFiles?: string[]
}

// A jwt project's options, as the file gives them beside its scheme (own properties only).
const JWT_KEYS = ['keys', 'jwksUrl', 'issuer', 'audience', 'personClaim', 'clockToleranceSeconds', 'maxTokenLifetimeSeconds', 'jwksRefreshSeconds', 'algorithms', 'kids'] as const
const jwtOptionsOf = (p: FileProject): JwtOptions | undefined => {
  const o: Record<string, unknown> = {}
  for (const key of JWT_KEYS) if (Object.prototype.hasOwnProperty.call(p, key)) o[key] = p[key]
  return Object.keys(o).length ? (o as JwtOptions) : undefined
}

/**
 * Where the store is: SIGNET_DATABASE_URL (PostgreSQL) or SIGNET_DB (the SQLite file). A URL that is
 * not postgres:// or postgresql:// stops the start; the message never repeats it (it holds a password).
 */
export const storeConfig = (env: Env = process.env): ServerConfig['store'] => {
  const url = env.SIGNET_DATABASE_URL
  if (url && !/^postgres(ql)?:\/\//i.test(url))
    throw new Error('signet: SIGNET_DATABASE_URL must be a postgres:// or postgresql:// URL (postgres://user:password@host:5432/database)')
  return { file: env.SIGNET_DB || DEFAULT_SQLITE_FILE, ...(url && { url }) }
}

const ipSetting = (value = 'truncated'): ServerConfig['storeIp'] => {
  if (value != 'truncated' && value != 'full' && value != 'none') throw new Error(`signet: SIGNET_IP must be truncated, full or none, got ${JSON.stringify(value)}`)
  return value
}

/** Most worker processes: more than a machine has cores only adds switching. */
const MAX_WORKERS = 64

// A setting that does not read as the number it should stops the start: a NaN that turned token
// expiry off, or a typo that made a port of 0, would fail open and quietly.
const numberFrom = (env: Env, name: string, fallback: number, min: number, max: number, what: string): number => {
  const raw = env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!(Number.isFinite(value) && value >= min && value <= max && (what != 'whole' || Number.isInteger(value))))
    throw new Error(`signet: ${name} must be ${what == 'whole' ? 'a whole number' : 'a number of seconds'} from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  return value
}

/**
 * JSON.parse's message can quote the text around the error, and a config file holds secrets: the
 * error names the file and the line and column only. Where the message gives no position, the
 * shortest prefix that fails other than by ending early locates it.
 */
const parseConfigFile = (text: string, file: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (err) {
    const given = /at position (\d+)/.exec((err as Error).message)
    let at = given ? Number(given[1]) : text.length
    if (!given) {
      // A prefix cut before the error fails at its end (V8 says so by "end of JSON input" or by a
      // position equal to its length); one that holds the error fails inside it.
      const failsWithin = (k: number) => {
        try {
          JSON.parse(text.slice(0, k))
          return false
        } catch (e) {
          const message = (e as Error).message
          const position = /at position (\d+)/.exec(message)
          return position ? Number(position[1]) < k : !/end of JSON input/.test(message)
        }
      }
      let lo = 0
      let hi = text.length
      if (failsWithin(hi)) {
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (failsWithin(mid)) hi = mid
          else lo = mid + 1
        }
        at = Math.max(0, lo - 1)
      }
    }
    const lines = text.slice(0, at).split('\n')
    throw new Error(`signet: ${file} is not valid JSON (line ${lines.length}, column ${lines[lines.length - 1].length + 1})`)
  }
}

/**
 * Reads the collector's configuration from the environment, never from code:
 * SIGNET_CONFIG (a JSON file: {"projects": {"<token>": {"secureMode", "scheme", "maxAgeSeconds", "secrets" | "secretFiles"}}}),
 * or SIGNET_PROJECT, SIGNET_SECURE_MODE, SIGNET_SCHEME, SIGNET_MAX_AGE, SIGNET_SECRET / SIGNET_SECRET_FILE
 * (one secret per line); SIGNET_MAX_EVENT_AGE (seconds), SIGNET_DASHBOARD_TOKEN; PORT, HOST, SIGNET_DATABASE_URL, SIGNET_DB, SIGNET_DATA, SIGNET_WORKERS;
 * SIGNET_CLIENT_EVENTS, SIGNET_CLIENT_BYTES (a client's budget per minute), SIGNET_MAX_ANONYMOUS_PROPS, SIGNET_TRUST_PROXY.
 * With `production` (signet collector), a project must be named and Secure Mode must have its
 * secrets: the demo's project and a random secret would refuse every real event.
 */
export function loadConfig(env: Env = process.env, { production = false } = {}): ServerConfig {
  const port = numberFrom(env, 'PORT', 8787, 0, 65535, 'whole')
  const workers = numberFrom(env, 'SIGNET_WORKERS', 1, 1, MAX_WORKERS, 'whole')
  const maxEventAgeMs = numberFrom(env, 'SIGNET_MAX_EVENT_AGE', EVENT_AGE.past / 1000, 1, 10 * 365 * 86_400, 'seconds') * 1000
  const eventsPerMinute = numberFrom(env, 'SIGNET_CLIENT_EVENTS', DEFAULT_BUDGET.eventsPerMinute, 0, 1e9, 'whole')
  const bytesPerMinute = numberFrom(env, 'SIGNET_CLIENT_BYTES', DEFAULT_BUDGET.bytesPerMinute, 0, 1e12, 'whole')
  const trustProxy = (env.SIGNET_TRUST_PROXY || '').split(',').map((a) => a.trim()).filter(Boolean)
  // Refused now, with the setting's name, rather than by the first worker that starts.
  try {
    trustedProxies(trustProxy)
  } catch (err) {
    throw new Error((err as Error).message.replace('trust proxy', 'SIGNET_TRUST_PROXY'))
  }
  const dashboardToken = env.SIGNET_DASHBOARD_TOKEN || randomBytes(16).toString('hex')
  const base = {
    port,
    host: env.HOST || '127.0.0.1',
    store: storeConfig(env),
    importFile: env.SIGNET_DATA || 'data/events.jsonl',
    workers,
    maxEventAgeMs,
    dashboardToken,
    generatedDashboardToken: !env.SIGNET_DASHBOARD_TOKEN,
    metricsToken: env.SIGNET_METRICS_TOKEN || dashboardToken,
    logFormat: logFormat(env.SIGNET_LOG_FORMAT),
    budget: eventsPerMinute && bytesPerMinute ? { eventsPerMinute, bytesPerMinute } : (false as const),
    maxAnonymousProps: numberFrom(env, 'SIGNET_MAX_ANONYMOUS_PROPS', MAX_ANONYMOUS_PROPS, 0, LIMITS.props, 'whole'),
    trustProxy,
    storeIp: ipSetting(env.SIGNET_IP),
    retentionDays: numberFrom(env, 'SIGNET_RETENTION_DAYS', 0, 0, 100 * 365, 'whole'),
  }

  if (env.SIGNET_CONFIG) {
    const file = parseConfigFile(readText(env.SIGNET_CONFIG, 'SIGNET_CONFIG'), env.SIGNET_CONFIG) as { projects?: Record<string, FileProject> }
    if (!file || typeof file != 'object' || (file.projects !== undefined && (!file.projects || typeof file.projects != 'object')))
      throw new Error(`signet: ${env.SIGNET_CONFIG} must hold {"projects": {"<token>": {...}}}`)
    const projects: Record<string, ProjectConfig> = {}
    const strings = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x == 'string'))
    for (const [token, p] of Object.entries(file.projects || {})) {
      if (!p || typeof p != 'object' || !strings(p.secrets) || !strings(p.secretFiles))
        throw new Error(`signet: ${env.SIGNET_CONFIG}: project ${token} must be an object whose secrets and secretFiles are arrays of strings`)
      const jwt = jwtOptionsOf(p)
      projects[token] = {
        secureMode: p.secureMode || 'enforce',
        secrets: [...(p.secrets || []), ...(p.secretFiles || []).flatMap(readSecrets)],
        ...(p.scheme && { scheme: p.scheme }),
        ...(p.maxAgeSeconds !== undefined && { maxAgeSeconds: p.maxAgeSeconds }),
        ...(jwt && { jwt }),
      }
    }
    const tokens = Object.keys(projects)
    const demoProject = tokens.find((t) => projects[t].secrets.length) || tokens[0]
    if (!demoProject) throw new Error(`signet: ${env.SIGNET_CONFIG} defines no projects`)
    // Checked now, before anything is printed or created, not by the first worker that starts.
    checkProjects(projects)
    return { ...base, projects, demoProject, generatedSecret: false }
  }

  if (production && !env.SIGNET_PROJECT) throw new Error('signet: SIGNET_PROJECT is required: the token your pages’ snippet uses (or SIGNET_CONFIG for several projects)')
  const token = env.SIGNET_PROJECT || 'GSN-DEMO-1'
  const configured = env.SIGNET_SECRET ? [env.SIGNET_SECRET] : env.SIGNET_SECRET_FILE && readSecrets(env.SIGNET_SECRET_FILE)
  const secureMode = (env.SIGNET_SECURE_MODE || 'enforce') as SecureMode
  if (production && !configured && secureMode != 'off')
    throw new Error(`signet: Secure Mode ${secureMode} needs the project's secret: set SIGNET_SECRET_FILE (a file, one secret per line) or SIGNET_SECRET`)
  const project: ProjectConfig = {
    secureMode,
    secrets: configured || [randomBytes(32).toString('hex')],
  }
  if (env.SIGNET_SCHEME) project.scheme = env.SIGNET_SCHEME as Scheme
  if (env.SIGNET_MAX_AGE) project.maxAgeSeconds = numberFrom(env, 'SIGNET_MAX_AGE', 0, 1, 10 * 365 * 86_400, 'seconds')
  checkProjects({ [token]: project })
  return { ...base, projects: { [token]: project }, demoProject: token, generatedSecret: !configured }
}
