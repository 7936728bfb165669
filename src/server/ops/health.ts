import type { Route } from '../http/door'
import { sameText } from '../console/access'
import type { StoreState } from '../store/guard'
import { METRICS_CONTENT_TYPE } from './metrics'

export interface OpsOptions {
  /** Where this process's store stands: ready when up. */
  store: () => StoreState
  /** Prometheus's text of the whole collector (every process's metrics summed). */
  metrics: () => Promise<string>
  /** What /metrics asks for, as Authorization: Bearer. */
  token: string
}

const json = (status: number, body: unknown) => [status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, JSON.stringify(body)] as const

/**
 * What operators and their machines watch: `/healthz` (the process answers), `/readyz` (it can store
 * events now: 503 while its store is opening, migrating or unreachable), both without a token and
 * without data; `/metrics`, Prometheus's text, behind its token.
 */
export function createOps({ store, metrics, token }: OpsOptions): Route {
  return (req, res, { path }) => {
    if (path != '/healthz' && path != '/readyz' && path != '/metrics') return false
    const answer = ([status, headers, body]: ReturnType<typeof json>) => res.writeHead(status, headers).end(req.method == 'HEAD' ? undefined : body)
    if (req.method != 'GET' && req.method != 'HEAD') answer(json(405, { error: 'GET only' }))
    else if (path == '/healthz') answer(json(200, { status: 'ok' }))
    else if (path == '/readyz') {
      const state = store()
      answer(state == 'up' ? json(200, { status: 'ready' }) : json(503, { status: 'not ready', store: state == 'opening' ? 'opening' : 'unreachable' }))
    } else {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization || '')?.[1]
      if (!bearer || !sameText(bearer, token)) {
        res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer' }).end(JSON.stringify({ error: 'metrics need their token: Authorization: Bearer <SIGNET_METRICS_TOKEN>' }))
        return true
      }
      return metrics().then((text) => res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' }).end(req.method == 'HEAD' ? undefined : text))
    }
    return true
  }
}
