import { fileURLToPath } from 'node:url'
import { loadConfig } from './config'
import { run } from './run'

// npm start: the collector and the demo site, serving the build this file is part of.
run(() => loadConfig(), { demo: true, dist: fileURLToPath(new URL('.', import.meta.url)), banner: (url) => `Demo: ${url}/` }).catch(
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
