// npm start: builds when dist/ is missing or older than the sources, then runs the collector and demo.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const newest = (dir) =>
  readdirSync(join(root, dir), { recursive: true })
    .map((f) => statSync(join(root, dir, String(f))).mtimeMs)
    .reduce((a, b) => Math.max(a, b), 0)
const built = join(root, 'dist/start.mjs')
const stale = !existsSync(built) || Math.max(newest('src'), newest('snippet')) > statSync(built).mtimeMs
if (stale) {
  const { status } = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  if (status) process.exit(status)
}
await import(built)
