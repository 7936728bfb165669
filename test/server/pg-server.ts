// A PostgreSQL server of a test's own, for the faults a shared one cannot take: stopped, restarted,
// started after the collector. Made with the installed server's initdb and pg_ctl (what pg_ctlcluster
// runs) in a temporary folder, as the postgres user when the tests run as root (CI does).
import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The newest installed server's programs, if any. */
export const PG_BIN = existsSync('/usr/lib/postgresql')
  ? readdirSync('/usr/lib/postgresql')
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`)
      .find((bin) => existsSync(join(bin, 'initdb')))
  : undefined

if (!PG_BIN && process.env.CI) throw new Error('no PostgreSQL server is installed: .ci/run installs one for the fault tests')

export interface PrivatePostgres {
  /** postgres://signet@127.0.0.1:PORT/postgres (trust authentication, loopback only). */
  url: string
  start(): Promise<void>
  /** fast: the server ends every session and stops; immediate: as if it crashed. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  remove(): Promise<void>
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

/** A new server in a folder of its own, not started yet. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const root = process.getuid?.() === 0
  const as = (program: string, args: string[]) =>
    root ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN!, program), ...args]) : run(join(PG_BIN!, program), args)
  const dir = mkdtempSync(join(tmpdir(), 'signet-pg-'))
  if (root) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    chownSync(dir, Number(stdout), Number(stdout))
  }
  const data = join(dir, 'data')
  await as('initdb', ['-D', data, '-U', 'signet', '-A', 'trust', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`
  return {
    url: `postgres://signet@127.0.0.1:${port}/postgres`,
    start: () => as('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']).then(() => {}),
    stop: (mode = 'fast') => as('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']).then(() => {}),
    async remove() {
      await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
