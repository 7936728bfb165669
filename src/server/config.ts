import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ProjectConfig, Scheme, SecureMode } from './collector'
import { DEFAULT_SQLITE_FILE } from './store'

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
}

type Env = Record<string, string | undefined>

// One secret per line, so a rotation can list the new secret beside the old one.
const readSecrets = (file: string) => {
  const secrets = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  if (!secrets.length) throw new Error(`signet: the secret file ${file} is empty`)
  return secrets
}

interface FileProject {
  secureMode?: SecureMode
  scheme?: Scheme
  maxAgeSeconds?: number
  secrets?: string[]
  secretFiles?: string[]
}

/** Where the store is: SIGNET_DATABASE_URL (PostgreSQL) or SIGNET_DB (the SQLite file). */
export const storeConfig = (env: Env = process.env): ServerConfig['store'] => ({
  file: env.SIGNET_DB || DEFAULT_SQLITE_FILE,
  ...(env.SIGNET_DATABASE_URL && { url: env.SIGNET_DATABASE_URL }),
})

/** Most worker processes: more than a machine has cores only adds switching. */
const MAX_WORKERS = 64

/**
 * Reads the collector's configuration from the environment, never from code:
 * SIGNET_CONFIG (a JSON file: {"projects": {"<token>": {"secureMode", "scheme", "maxAgeSeconds", "secrets" | "secretFiles"}}}),
 * or SIGNET_PROJECT, SIGNET_SECURE_MODE, SIGNET_SCHEME, SIGNET_MAX_AGE, SIGNET_SECRET / SIGNET_SECRET_FILE
 * (one secret per line); PORT, HOST, SIGNET_DATABASE_URL, SIGNET_DB, SIGNET_DATA, SIGNET_WORKERS.
 */
export function loadConfig(env: Env = process.env): ServerConfig {
  const port = Number(env.PORT || 8787)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`signet: PORT must be a port number, got ${env.PORT}`)
  const workers = Number(env.SIGNET_WORKERS || 1)
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)
    throw new Error(`signet: SIGNET_WORKERS must be a whole number from 1 to ${MAX_WORKERS}, got ${env.SIGNET_WORKERS}`)
  const base = { port, host: env.HOST || '127.0.0.1', store: storeConfig(env), importFile: env.SIGNET_DATA || 'data/events.jsonl', workers }

  if (env.SIGNET_CONFIG) {
    const file = JSON.parse(readFileSync(env.SIGNET_CONFIG, 'utf8')) as { projects?: Record<string, FileProject> }
    const projects: Record<string, ProjectConfig> = {}
    for (const [token, p] of Object.entries(file.projects || {}))
      projects[token] = {
        secureMode: p.secureMode || 'enforce',
        secrets: [...(p.secrets || []), ...(p.secretFiles || []).flatMap(readSecrets)],
        ...(p.scheme && { scheme: p.scheme }),
        ...(p.maxAgeSeconds && { maxAgeSeconds: p.maxAgeSeconds }),
      }
    const tokens = Object.keys(projects)
    const demoProject = tokens.find((t) => projects[t].secrets.length) || tokens[0]
    if (!demoProject) throw new Error(`signet: ${env.SIGNET_CONFIG} defines no projects`)
    return { ...base, projects, demoProject, generatedSecret: false }
  }

  const token = env.SIGNET_PROJECT || 'GSN-DEMO-1'
  const configured = env.SIGNET_SECRET ? [env.SIGNET_SECRET] : env.SIGNET_SECRET_FILE && readSecrets(env.SIGNET_SECRET_FILE)
  const project: ProjectConfig = {
    secureMode: (env.SIGNET_SECURE_MODE || 'enforce') as SecureMode,
    secrets: configured || [randomBytes(32).toString('hex')],
  }
  if (env.SIGNET_SCHEME) project.scheme = env.SIGNET_SCHEME as Scheme
  if (env.SIGNET_MAX_AGE) project.maxAgeSeconds = Number(env.SIGNET_MAX_AGE)
  return { ...base, projects: { [token]: project }, demoProject: token, generatedSecret: !configured }
}
