import { fileURLToPath } from 'node:url'
import { loadConfig } from './config'
import { serve } from './serve'

// npm start: the collector and the demo site, serving the build this file is part of.
serve(loadConfig(), { demo: true, dist: fileURLToPath(new URL('.', import.meta.url)) }).then(
  ({ url }) => console.log(`Demo: ${url}/`),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
