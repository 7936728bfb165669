import { fileURLToPath } from 'node:url'
import { loadConfig, type ServerConfig } from './config'
import { run } from './run'

// npm start: the collector and the demo site, serving the build this file is part of.
// The dashboard's address carries the token made for this run, as Jupyter prints its own: whoever
// can read this terminal may see the dashboard. One set in SIGNET_DASHBOARD_TOKEN is not printed.
const banner = (url: string, { dashboardToken, generatedDashboardToken }: ServerConfig) =>
  `Demo: ${url}/\nDashboard: ${url}/dashboard?token=${generatedDashboardToken ? dashboardToken : '<SIGNET_DASHBOARD_TOKEN>'}`

run(() => loadConfig(), { demo: true, dist: fileURLToPath(new URL('.', import.meta.url)), banner }).catch(
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
