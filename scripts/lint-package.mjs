// Packs the package as `npm publish` would (dist/ as built) and checks the tarball with publint and
// arethetypeswrong, then prints what ships. Run by npm test after the build.
//
// Deliberate, and so not reported:
// - cjs-resolves-to-esm: every entry is ESM. require('signet-tracker/server') works because Node
//   20.19 (our engines) requires ESM; TypeScript models that under `module: nodenext` (5.8+), not
//   under node16.
// - tracker.js, snippet.js and the adapters are classic scripts to serve to browsers, not modules to
//   import: they have no types.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const SCRIPTS = ['tracker.js', 'snippet.js', 'adapters/beacon.js', 'adapters/engagespot.js']

const run = (cmd, args, capture = false) => {
  const r = spawnSync(cmd, args, { stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' })
  if (r.status !== 0) {
    console.error(`lint-package: ${[cmd, ...args].join(' ')} failed`)
    process.exit(1)
  }
  return r.stdout
}

const dir = mkdtempSync(join(tmpdir(), 'signet-pack-'))
try {
  const [pack] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], true))
  const tarball = join(dir, pack.filename)
  run('npx', ['--no-install', 'publint', 'run', tarball, '--strict'])
  run('npx', ['--no-install', 'attw', tarball, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--exclude-entrypoints', ...SCRIPTS])
  console.log(`${pack.filename}: ${pack.entryCount} files, ${pack.size} B packed, ${pack.unpackedSize} B unpacked`)
  for (const f of pack.files) console.log(`  ${String(f.size).padStart(7)} B  ${f.path}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
