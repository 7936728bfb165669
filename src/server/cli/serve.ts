import { trustedProxies } from '../http/budget'
import { createCollector, type ProjectConfig } from '../http/collector'
import type { ServerConfig } from './config'
import { createDemo } from '../demo/demo'
import { createConsole } from '../console/console'
import { channelRelay, createFeed, type FeedMessage } from '../console/feed'
import { personSignature, userSignature } from '../verify/signature'
import { loader } from '../http/snippet'
import type { GuardedStore } from '../store/guard'
import { createBudget, type Budget } from '../http/budget'
import type { Route } from '../http/door'
import type { Log } from '../ops/log'
import type { Metrics } from '../ops/metrics'
import { createOps } from '../ops/health'
import { verificationToken } from '../verify/token'

// The demo site's server signs the way the project verifies.
function signerFor({ scheme, secrets: [secret] }: ProjectConfig): ((id: string) => string) | undefined {
  // The demo signs synchronously; a jwt project is signed by the site (or its provider), not here.
  if (!secret || scheme == 'jwt') return
  if (scheme == 'token') return (id) => verificationToken(String(secret), id)
  return (id) => (scheme == 'base64' ? userSignature : personSignature)(secret, id)
}

export interface ServeOptions {
  /** Also serve the demo site. */
  demo: boolean
  /** The build folder, where tracker.js is. */
  dist: string
  /** The store, guarded: while it cannot be reached, batches are answered 503 and /readyz says not ready. */
  store: GuardedStore
  /** Carries this process's dashboard rows to the other worker processes. */
  relay?: (message: FeedMessage) => void
  log?: Log
  /** This process's metrics. */
  metrics: Metrics
  /** The whole collector's metrics as /metrics answers them (the primary sums every process's); default this process's. */
  allMetrics?: () => Promise<string>
  /** The client budget, shared with the other workers through the primary; default one of this process's own. */
  budget?: Budget
}

/**
 * Serves the reference collector (and, with demo, the demo site) from this process, storing into
 * `store`; resolves to its URL. `close` stops it gracefully; the store stays open.
 */
export async function serve(config: ServerConfig, { demo, dist, store, relay, log = (line) => console.log(line), metrics, allMetrics, budget }: ServeOptions) {
  // Every collector's live rows: through the database where it has a channel (PostgreSQL, any
  // machine), otherwise through the primary process (SQLite's workers).
  const heard = store.channel && channelRelay(store.channel, (message) => feed.deliver(message), () => feed.ask())
  const feed = createFeed(heard ? heard.relay : relay)
  if (!heard) feed.ask()
  const collector = createCollector({
    projects: config.projects,
    maxEventAgeMs: config.maxEventAgeMs,
    budget: config.budget && (budget ?? createBudget(config.budget)),
    maxAnonymousProps: config.maxAnonymousProps,
    trustProxy: config.trustProxy,
    storeIp: config.storeIp,
    store,
    assetDir: dist,
    log,
    metrics,
    onResult: feed.publish,
  })
  // The operator's console, on every collector; the demo site beside it for npm start.
  let projects = Object.keys(config.projects)
  const board = createConsole({
    store,
    feed,
    access: { token: config.dashboardToken, trustProxy: config.trustProxy.length ? trustedProxies(config.trustProxy) : undefined },
    projects: () => projects,
    dist,
  })
  const ops = createOps({ store: store.state, metrics: allMetrics ?? (() => metrics.registry.metrics()), token: config.metricsToken })
  const site = demo
    ? createDemo({ project: config.demoProject, sign: signerFor(config.projects[config.demoProject]), snippet: loader('/tracker.js') })
    : undefined
  const url = await collector.listen(config.port, config.host, [['health', ops], ['console', board], ...(site ? [['demo', site] as [string, Route]] : [])])
  return {
    url,
    feed,
    /** Takes a reloaded configuration's projects for the requests from now on (the requests under way finish with the old ones). */
    reconfigure(next: ServerConfig['projects']) {
      collector.setProjects(next)
      projects = Object.keys(next)
    },
    /** Stops taking requests and ends dashboard streams; resolves when what is under way is answered (or cut after graceMs). */
    close(graceMs?: number) {
      heard?.stop()
      feed.close()
      return collector.close(graceMs)
    },
  }
}

/** A line for each project: its Secure Mode, its scheme, what proves its people (never a secret). */
export function describeProjects(projects: ServerConfig['projects']): string[] {
  const proof = (p: ProjectConfig) =>
    p.jwt?.jwksUrl
      ? `keys from ${p.jwt.jwksUrl} (issuer ${p.jwt.issuer}, audience ${p.jwt.audience})`
      : p.jwt?.keys
        ? `${p.jwt.keys.length} public key(s) (issuer ${p.jwt.issuer}, audience ${p.jwt.audience})`
        : `${p.secrets.length} secret(s)`
  return Object.entries(projects).map(([token, p]) => `Project ${token}: Secure Mode ${p.secureMode}${p.scheme ? `, scheme ${p.scheme}` : ''}, ${proof(p)}`)
}

/** What a collector prints on start: its projects and where it stores. */
export function describe(config: ServerConfig, store: string): string[] {
  const lines = describeProjects(config.projects)
  lines.push(`Storing events in ${store}`)
  lines.push(
    config.retentionDays
      ? `Deleting events older than ${config.retentionDays} days (SIGNET_RETENTION_DAYS)`
      : 'Keeping events for ever: set SIGNET_RETENTION_DAYS (--retention-days) to delete older ones',
  )
  if (config.storeIp != 'truncated') lines.push(config.storeIp == 'full' ? 'Keeping clients’ full addresses (SIGNET_IP=full)' : 'Keeping no client address (SIGNET_IP=none)')
  if (config.generatedSecret) lines.push('No SIGNET_SECRET or SIGNET_SECRET_FILE set: using a random secret for this run only.')
  return lines
}
