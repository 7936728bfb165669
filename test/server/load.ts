// Tracker-like senders for the fault tests: each keeps its events until the collector answers 200,
// sending them again after anything else (503, a connection lost, no answer), as the tracker's
// outbox does, and notes which ids were acknowledged.
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { personSignature } from '../../src/server/verify/signature'

export interface LoadOptions {
  /** The collect URL (…/track). */
  url: string
  project: string
  secret: string
  /** Senders at once, each with one request in flight. Default 4. */
  senders?: number
  /** Events a batch. Default 20. */
  size?: number
  /** Wait before sending a refused batch again, in ms. Default 150. */
  retryMs?: number
  /** Props of each event (to fill a disk). */
  props?: Record<string, unknown>
}

export interface Load {
  /** Ids answered 200, in the order answered. */
  acked: string[]
  /** Answers by status (0: no answer). */
  statuses: Map<number, number>
  /** Stops making new batches and resolves once every batch made is acknowledged (or rejects after `ms`). */
  drain(ms?: number): Promise<void>
}

/** A request's status, 0 when no answer came within 10 s (or the connection failed). */
const send = (url: string, body: string, agent: Agent) =>
  new Promise<number>((resolve) => {
    const req = request(url, { method: 'POST', agent, timeout: 10_000, headers: { 'Content-Type': 'text/plain' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
      res.on('error', () => resolve(0))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
    req.end(body)
  })

export function startLoad({ url, project, secret, senders = 4, size = 20, retryMs = 150, props }: LoadOptions): Load {
  const acked: string[] = []
  const statuses = new Map<number, number>()
  const agent = new Agent({ keepAlive: true, maxSockets: senders, timeout: 4000 })
  let making = true
  const signature = personSignature(secret, 'ada')
  const batchOf = () =>
    Array.from({ length: size }, () => ({
      id: `${Date.now().toString(16)}${randomBytes(12).toString('hex')}`,
      type: 'event',
      name: 'load',
      ts: Date.now(),
      anonymousId: 'a',
      personId: 'ada',
      signature,
      ...(props && { props }),
    }))
  const done = Promise.all(
    Array.from({ length: senders }, async () => {
      while (making) {
        const events = batchOf()
        for (;;) {
          const status = await send(url, JSON.stringify({ v: 1, project, sentAt: Date.now(), events }), agent)
          statuses.set(status, (statuses.get(status) || 0) + 1)
          if (status == 200) {
            acked.push(...events.map((e) => e.id))
            break
          }
          await new Promise((r) => setTimeout(r, retryMs))
        }
      }
    }),
  )
  return {
    acked,
    statuses,
    async drain(ms = 60_000) {
      making = false
      let timer: NodeJS.Timeout | undefined
      await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`batches still refused after ${ms} ms`)), ms)))])
      clearTimeout(timer)
      agent.destroy()
    },
  }
}

/** A summary of a load's answers, for a test's output: "200 × 120, 503 × 4". */
export const statusLine = (statuses: Map<number, number>) =>
  [...statuses]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `${s} × ${n}`)
    .join(', ')
