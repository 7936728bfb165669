// npm test: the type check, the build and the package's lint first (without a build there is
// nothing to test), then the unit suite (vitest) and the browser suite (Playwright), the second run
// whatever became of the first, so that a unit failure still lets the browser suite report. Exits
// 1 when any step failed, and says which. One file: `npx vitest run FILE`, `npx playwright test FILE`.
import { spawnSync } from 'node:child_process'

const run = (name, command, args) => {
  const started = Date.now()
  const { status, signal } = spawnSync(command, args, { stdio: 'inherit', shell: process.platform == 'win32' })
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  return { name, ok: status === 0, seconds, why: signal ? `killed by ${signal}` : `exit code ${status}` }
}
const npx = (name, ...args) => run(name, 'npx', args)

const steps = []
for (const [name, script] of [
  ['type check', 'typecheck'],
  ['build', 'build'],
  ['package lint', 'lint:package'],
]) {
  const step = run(name, 'npm', ['run', '--silent', script])
  steps.push(step)
  if (!step.ok) break
}
if (steps.every((s) => s.ok)) steps.push(npx('unit suite (vitest)', 'vitest', 'run'), npx('browser suite (Playwright)', 'playwright', 'test'))

console.log('\nnpm test:')
for (const s of steps) console.log(`  ${s.ok ? 'passed' : 'FAILED'}  ${s.name} (${s.seconds} s${s.ok ? '' : ', ' + s.why})`)
process.exit(steps.every((s) => s.ok) ? 0 : 1)
