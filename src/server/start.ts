import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createCollector, type ProjectConfig } from './collector'
import { loadConfig } from './config'
import { createDemo } from './demo'
import { personSignature, userSignature } from './signature'
import { verificationToken } from './token'

// Started by `npm start` from dist/: the tracker and snippet are built beside this file.
const dist = (name: string) => fileURLToPath(new URL(name, import.meta.url))

// The demo site's server signs the way the project verifies.
function signerFor({ scheme, secrets: [secret] }: ProjectConfig): ((id: string) => string) | undefined {
  if (!secret) return
  if (scheme == 'token') return (id) => verificationToken(String(secret), id)
  return (id) => (scheme == 'base64' ? userSignature : personSignature)(secret, id)
}

async function main() {
  const config = loadConfig()
  const collector = createCollector({
    projects: config.projects,
    dataFile: config.dataFile,
    assetDir: dist('.'),
    log: (line) => console.log(`[collector] ${line}`),
  })
  const demo = createDemo({
    project: config.demoProject,
    sign: signerFor(config.projects[config.demoProject]),
    snippet: readFileSync(dist('snippet.min.js'), 'utf8'),
    collector,
  })
  const url = await collector.listen(config.port, config.host, demo)
  const mode = config.projects[config.demoProject].secureMode
  console.log(`Signet collector (Secure Mode ${mode}) storing to ${config.dataFile}`)
  if (config.generatedSecret)
    console.log('No SIGNET_SECRET or SIGNET_SECRET_FILE set: using a random secret for this run only.')
  console.log(`Demo: ${url}/`)
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
