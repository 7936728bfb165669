// @vitest-environment node
// `npm install` on a supported Node prints no warning: every package the lockfile
// installs accepts the oldest Node this package supports (its own engines) and the one running.
import { readFileSync } from 'node:fs'
import semver from 'semver'
import { expect, it } from 'vitest'

const read = (path: string) => JSON.parse(readFileSync(path, 'utf8'))

it('every locked package accepts the Node versions this package supports', () => {
  const oldest = semver.minVersion(read('package.json').engines.node)!.version
  const lock = read('package-lock.json') as { packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }> }
  const refusing = Object.entries(lock.packages)
    // An optional package that refuses this Node is skipped by npm, without a warning.
    .filter(([path, p]) => path && !p.optional && p.engines && !Array.isArray(p.engines) && p.engines.node)
    .filter(([, p]) => ![oldest, process.version].every((v) => semver.satisfies(v, (p.engines as { node: string }).node, { includePrerelease: true })))
    .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')} wants node ${(p.engines as { node: string }).node}`)
  expect(refusing).toEqual([])
})

it('every locked package with an install script is named in allowScripts (npm 11 lists the others after an install; npm 12 skips them)', () => {
  const allowed = read('package.json').allowScripts as Record<string, boolean>
  const lock = read('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean; optional?: boolean }> }
  const unreviewed = Object.entries(lock.packages)
    .filter(([path, p]) => path && p.hasInstallScript && !p.optional)
    .map(([path]) => path.replace(/^.*node_modules\//, ''))
    .filter((name) => !(name in allowed))
  expect(unreviewed).toEqual([])
})
