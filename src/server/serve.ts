import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createCollector, type ProjectConfig } from './collector'
import type { ServerConfig } from './config'
import { createDemo } from './demo'
import { createFeed } from './feed'
import { personSignature, userSignature } from './signature'
import { verificationToken } from './token'

// The demo site's server signs the way the project verifies.
function signerFor({ scheme, secrets: [secret] }: ProjectConfig): ((id: string) => string) | undefined {
  if (!secret) return
  if (scheme == 'token') return (id) => verificationToken(String(secret), id)
  return (id) => (scheme == 'base64' ? userSignature : personSignature)(secret, id)
}

/**
 * Starts the reference collector (and, with demo, the demo site) as configured; resolves to its URL.
 * dist is the build folder, where tracker.js and snippet.min.js are.
 */
export async function serve(config: ServerConfig, { demo, dist }: { demo: boolean; dist: string }) {
  const feed = createFeed()
  const collector = createCollector({
    projects: config.projects,
    dataFile: config.dataFile,
    assetDir: dist,
    log: (line) => console.log(`[collector] ${line}`),
    onResult: feed.publish,
  })
  const site = demo
    ? createDemo({
        project: config.demoProject,
        sign: signerFor(config.projects[config.demoProject]),
        snippet: readFileSync(join(dist, 'snippet.min.js'), 'utf8'),
        dist,
        feed,
      })
    : undefined
  const url = await collector.listen(config.port, config.host, site)
  for (const [token, p] of Object.entries(config.projects))
    console.log(`Project ${token}: Secure Mode ${p.secureMode}${p.scheme ? `, scheme ${p.scheme}` : ''}, ${p.secrets.length} secret(s)`)
  console.log(`Storing accepted events in ${config.dataFile}`)
  if (config.generatedSecret) console.log('No SIGNET_SECRET or SIGNET_SECRET_FILE set: using a random secret for this run only.')
  return { url, collector }
}
