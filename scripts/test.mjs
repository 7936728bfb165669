// npm test: the type check, the build and the package's lint first (without a build there is
// nothing to test), then the unit suite (vitest) and the browser suite (Playwright), the second run
// whatever became of the first, so that a unit failure still lets the browser suite report. Exits
// 1 when any step failed, and says which, with each failed test and the start of its error last of
// all: a CI log is often read from its tail only, where a suite's own report has scrolled away.
// One file: `npx vitest run FILE`, `npx playwright test FILE`.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const run = (name, command, args, env) => {
  const started = Date.now()
  const { status, signal } = spawnSync(command, args, { stdio: 'inherit', shell: process.platform == 'win32', env: { ...process.env, ...env } })
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  return { name, ok: status === 0, seconds, why: signal ? `killed by ${signal}` : `exit code ${status}` }
}
const npx = (name, args, env) => run(name, 'npx', args, env)

// Each suite also writes its results as JSON, read back for the failures' summary.
const reports = mkdtempSync(join(tmpdir(), 'signet-test-'))
const vitestJson = join(reports, 'vitest.json')
const vitestErrors = join(reports, 'vitest-errors.json')
const playwrightJson = join(reports, 'playwright.json')
const firstLines = (message = '') =>
  message
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((line) => line.trim() && !/^\s*at /.test(line))
    .slice(0, 4)
    .join('\n      ')
const readJson = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}
/** Each failed test of a report: where it is and how its error begins. */
const failures = {
  // Errors outside any test come from scripts/vitest-errors.mjs, after the tests'.
  vitest: (report, errors = []) =>
    (report?.testResults ?? []).flatMap((file) => {
      const where = file.name.replace(process.cwd() + '/', '')
      const failed = file.assertionResults.filter((t) => t.status == 'failed')
      // A file that failed before any test ran (an import, a hook) has its message on the file.
      if (!failed.length && file.status == 'failed') return [`${where}: ${firstLines(file.message)}`]
      // With its duration: vitest's report keeps no message for a timeout (only STACK_TRACE_ERROR).
      return failed.map((t) => `${where} › ${t.fullName} (${Math.round(t.duration ?? 0)} ms): ${firstLines(t.failureMessages?.[0])}`)
    }).concat(errors.map((e) => `outside any test${e.file ? `, while ${relative(process.cwd(), e.file)} ran` : ''}: ${firstLines(e.message)}`)),
  playwright: (report) => {
    const out = []
    const walk = (suite) => {
      for (const spec of suite.specs ?? [])
        for (const t of spec.tests)
          for (const r of t.results.filter((r) => r.status != 'passed' && r.status != 'skipped'))
            out.push(`${relative(process.cwd(), join(report.config.rootDir, spec.file))}:${spec.line} › ${spec.title} (${r.status}): ${firstLines(r.error?.message)}`)
      for (const child of suite.suites ?? []) walk(child)
    }
    for (const suite of report?.suites ?? []) walk(suite)
    return out
  },
}

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
if (steps.every((s) => s.ok))
  steps.push(
    {
      ...npx('unit suite (vitest)', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`, '--reporter=./scripts/vitest-errors.mjs'], {
        SIGNET_VITEST_ERRORS: vitestErrors,
      }),
      report: () => failures.vitest(readJson(vitestJson), readJson(vitestErrors)),
    },
    {
      ...npx('browser suite (Playwright)', ['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson }),
      report: () => failures.playwright(readJson(playwrightJson)),
    },
  )

console.log('\nnpm test:')
for (const s of steps) {
  console.log(`  ${s.ok ? 'passed' : 'FAILED'}  ${s.name} (${s.seconds} s${s.ok ? '' : ', ' + s.why})`)
  if (!s.ok && s.report) for (const line of s.report()) console.log(`    ✗ ${line}`)
}
process.exit(steps.every((s) => s.ok) ? 0 : 1)
