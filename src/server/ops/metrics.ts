import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

const registryOf = () => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return registry
}

// Both kinds of process may migrate the store: the primary a SQLite file, each worker its PostgreSQL.
const migration = (registers: Registry[]) => ({
  migrated: new Gauge({ name: 'signet_migration_events_copied', help: 'Events a schema migration under way has copied', registers }),
  toMigrate: new Gauge({ name: 'signet_migration_events_total', help: 'Events a schema migration under way is to copy (0: none under way)', registers }),
})

/**
 * What a worker process counts, in Prometheus's terms (prom-client). Each process has its own
 * registry; `/metrics` answers their sum over the primary and every worker (aggregate). Labels take
 * only values from fixed lists or from the configuration (projects), never what a request wrote.
 * docs/server.md lists every metric.
 */
export function createMetrics() {
  const registry = registryOf()
  const registers = [registry]
  return {
    registry,
    events: new Counter({ name: 'signet_events_accepted_total', help: 'Events stored, by project and verdict (a repeat of a stored event is not counted)', labelNames: ['project', 'verdict'], registers }),
    refused: new Counter({ name: 'signet_events_refused_total', help: 'Events refused, by project (unknown: a token no project has) and reason', labelNames: ['project', 'reason'], registers }),
    requests: new Counter({ name: 'signet_http_requests_total', help: 'Requests answered, by route, method and status (aborted: the client left first)', labelNames: ['route', 'method', 'status'], registers }),
    latency: new Histogram({
      name: 'signet_http_request_duration_seconds',
      help: 'Time from a request to its answer, by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    budget: new Counter({ name: 'signet_budget_refusals_total', help: 'Requests answered 429: their client had used its budget of the minute', registers }),
    storeErrors: new Counter({ name: 'signet_store_errors_total', help: 'Store operations that failed, by operation (add: a batch answered 503)', labelNames: ['operation'], registers }),
    storeUp: new Gauge({ name: 'signet_store_up', help: '1 when every worker reaches the store, 0 when one does not (opening, migrating, unreachable, disk full)', registers, aggregator: 'min' }),
    ...migration(registers),
  }
}

/** What the primary process counts: its workers, its reloads, and a migration it runs. */
export function createPrimaryMetrics() {
  const registry = registryOf()
  const registers = [registry]
  return {
    registry,
    restarts: new Counter({ name: 'signet_worker_restarts_total', help: 'Worker processes started again after one ended', registers }),
    workers: new Gauge({ name: 'signet_workers_serving', help: 'Worker processes listening now', registers }),
    reloads: new Counter({ name: 'signet_config_reloads_total', help: 'SIGHUP reloads of the configuration, by result (applied, refused)', labelNames: ['result'], registers }),
    ...migration(registers),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
export type PrimaryMetrics = ReturnType<typeof createPrimaryMetrics>

/** One process's metrics, as the primary gathers them. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

/** Prometheus's text of several processes' metrics: counters and histograms summed, gauges by each one's aggregator. */
export const aggregate = (processes: MetricsJson[]) => AggregatorRegistry.aggregate(processes as never).metrics()

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE
