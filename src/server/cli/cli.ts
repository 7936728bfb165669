import cluster from 'node:cluster'
import { existsSync, readFileSync } from 'node:fs'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Scheme } from '../http/collector'
import { loadConfig, readSecrets, storeConfig } from './config'
import { personSignature, userSignature, verifySignature } from '../verify/signature'
import { renderSnippet } from '../http/snippet'
import { migrationOf, openStore } from '../store/open'
import { importJsonl } from '../store/import'
import { verificationToken, verifyVerificationToken } from '../verify/token'
import { createJwtVerifier } from '../verify/jwt'
import { SignJWT } from 'jose'

const USAGE = `Usage: signet <command> [options]

  sign --id ID [--scheme hex|base64|token|jwt] [--ttl SECONDS] [--secret-file FILE]
      Print the signature of a person id (jwt: an HS256 token, sub the id, expiring in --ttl
      seconds, default 3600). The secret (a Verification Key for token) comes from
      SIGNET_SECRET or --secret-file.
  verify --id ID --signature SIG [--scheme hex|base64|token|jwt] [--max-age SECONDS] [--secret-file FILE]
      Print "valid" (exit 0) or "invalid: <reason>" (exit 1). Every secret of the file counts
      (one per line, as while rotating); sign uses its first.
  snippet --src URL --token TOKEN
      Print the <script> to paste into every page.
  collector --project TOKEN --secret-file FILE [--port N] [--host H] [--mode off|report|enforce]
            [--scheme hex|base64|token|jwt] [--workers N] [--db FILE] [--data FILE]
            [--trust-proxy ADDRESS[,ADDRESS…]] [--retention-days N] [--ip truncated|full|none]
      Run the reference collector for a project (or SIGNET_CONFIG's projects; the secret may come
      from SIGNET_SECRET, and none is needed with --mode off; exit 2 on bad input, 1 when the
      machine refuses the start, leaving no file behind); it serves /track and /tracker.js with N worker processes
      (default 1), storing into PostgreSQL when SIGNET_DATABASE_URL is set, otherwise into the
      SQLite file --db (default data/signet.db). A JSONL file of an earlier Signet (--data,
      default data/events.jsonl) is imported on start, then renamed. Behind a reverse proxy,
      --trust-proxy names its addresses (or CIDR ranges): X-Forwarded-For is read from them only.
      --retention-days deletes events older than N whole days (default: kept for ever); --ip says
      what is kept of a client's address (default truncated to its network). The operator's
      console is at /dashboard, behind SIGNET_DASHBOARD_TOKEN; /healthz and /readyz answer
      anyone, /metrics (Prometheus) wants SIGNET_METRICS_TOKEN. SIGTERM stops it; SIGHUP reads
      SIGNET_CONFIG and the secret files again. SIGNET_LOG_FORMAT=json logs JSON lines.
  migrate [--dry-run] [--db FILE]
      Bring the store (SIGNET_DATABASE_URL, or the SQLite file --db) to this Signet's schema,
      printing its progress, after saying what that changes and how to back it up first;
      --dry-run only says. Without it, the collector migrates as it starts, answering 503
      meanwhile.
  forget --person ID [--project TOKEN] [--db FILE]
      Delete every stored event of a person (of one project, or of all), and of the anonymous ids
      their events carried; print "forgot N events of ID". A second run prints 0.
  export [--since ISO-DATE] [--project TOKEN] [--db FILE]
      Print the stored events as JSON lines, in the order stored (from SIGNET_DATABASE_URL or --db).
  import --file FILE [--db FILE]
      Store the events of a JSON lines file (signet export's) that the store does not hold; the
      file is left as it is. Prints "imported N events (M already stored, K lines skipped)".
  help, --help, <command> --help
      Print this text, or the part about one command.
  --version
      Print the version of signet-tracker.`

class UsageError extends Error {}
/** A start that failed for a reason of the machine's, not of the input: exit code 1. */
class StartError extends Error {}

const SCHEMES = ['hex', 'base64', 'token', 'jwt']

// Every secret of a rotation file (one per line): sign uses the first, verify accepts any, as the collector does.
function secrets(secretFile?: string): string[] {
  const values = secretFile ? readSecrets(secretFile) : [process.env.SIGNET_SECRET]
  if (!values[0]) throw new UsageError('no secret: set SIGNET_SECRET or pass --secret-file FILE')
  return values as string[]
}

function scheme(value: string | undefined): Scheme {
  if (value !== undefined && !SCHEMES.includes(value)) throw new UsageError(`--scheme must be hex, base64, token or jwt, not "${value}"`)
  return (value || 'hex') as Scheme
}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name]
  if (typeof value != 'string' || !value) throw new UsageError(`--${name} is required`)
  return value
}

const options = {
  id: { type: 'string' },
  scheme: { type: 'string' },
  'secret-file': { type: 'string' },
  signature: { type: 'string' },
  'max-age': { type: 'string' },
  src: { type: 'string' },
  token: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  mode: { type: 'string' },
  project: { type: 'string' },
  data: { type: 'string' },
  db: { type: 'string' },
  workers: { type: 'string' },
  since: { type: 'string' },
  'trust-proxy': { type: 'string' },
  'retention-days': { type: 'string' },
  ip: { type: 'string' },
  person: { type: 'string' },
  file: { type: 'string' },
  ttl: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command == 'help' || command == '--help' || command == '-h') {
    console.log(USAGE)
    return command ? 0 : 2
  }
  if (command == '--version' || command == '-v' || command == 'version') {
    console.log(JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')).version)
    return 0
  }
  // `signet sign --help`: the usage of that command, not an unknown option.
  if (rest.includes('--help') || rest.includes('-h')) {
    const lines = USAGE.split('\n')
    const start = lines.findIndex((line) => line.startsWith(`  ${command} `) || line == `  ${command}`)
    if (start < 0 || command == 'help') throw new UsageError(`unknown command "${command}"`)
    let end = start + 1
    while (end < lines.length && /^ {3}/.test(lines[end])) end++
    console.log(['Usage: signet ' + lines[start].trim(), ...lines.slice(start + 1, end)].join('\n'))
    return 0
  }
  const { values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false })
  switch (command) {
    case 'sign': {
      const id = required(values, 'id')
      const how = scheme(values.scheme)
      const [key] = secrets(values['secret-file'])
      if (how == 'jwt') {
        const ttl = Number(values.ttl ?? 3600)
        if (!(Number.isInteger(ttl) && ttl > 0 && ttl <= 86_400)) throw new UsageError('--ttl must be a whole number of seconds from 1 to 86400')
        const now = Math.floor(Date.now() / 1000)
        console.log(await new SignJWT({ sub: id, iat: now, exp: now + ttl }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(key)))
        return 0
      }
      console.log(how == 'token' ? verificationToken(key, id) : (how == 'base64' ? userSignature : personSignature)(key, id))
      return 0
    }
    case 'verify': {
      const id = required(values, 'id')
      const signature = required(values, 'signature')
      const how = scheme(values.scheme)
      const keys = secrets(values['secret-file'])
      let reason: string | undefined
      if (how == 'jwt') {
        const proof = await createJwtVerifier({}, keys).verify(signature)
        reason = 'reason' in proof ? proof.reason : proof.person === id ? undefined : 'person_mismatch'
      } else if (how == 'token') {
        const maxAge = Number(values['max-age'] ?? 86_400)
        // As the collector's maxAgeSeconds: Infinity would accept a token of any age.
        if (!(maxAge > 0 && maxAge < Infinity)) throw new UsageError('--max-age must be a positive number of seconds')
        const check = verifyVerificationToken(keys, id, signature, { maxAgeSeconds: maxAge })
        reason = check.ok ? undefined : check.reason
      } else if (!verifySignature(keys, id, signature, how)) reason = 'bad_signature'
      console.log(reason ? `invalid: ${reason}` : 'valid')
      return reason ? 1 : 0
    }
    case 'snippet': {
      const src = required(values, 'src')
      const token = required(values, 'token')
      try {
        console.log(renderSnippet({ src, token }))
      } catch (e) {
        // renderSnippet names the key it refused; here that key is an option.
        throw new UsageError((e as Error).message.replace(/^renderSnippet: /, '--'))
      }
      return 0
    }
    case 'collector': {
      if (values.mode !== undefined && !['off', 'report', 'enforce'].includes(values.mode))
        throw new UsageError(`--mode must be off, report or enforce, not "${values.mode}"`)
      scheme(values.scheme)
      const env = { ...process.env }
      // Each flag sets its variable; an error about that variable then names the flag the user typed.
      const typed = new Map<string, string>()
      const set = (name: string, flag: string) => {
        const value = values[flag as keyof typeof values]
        if (typeof value != 'string') return
        env[name] = value
        typed.set(name, `--${flag}`)
      }
      set('PORT', 'port')
      set('HOST', 'host')
      set('SIGNET_SECURE_MODE', 'mode')
      set('SIGNET_PROJECT', 'project')
      set('SIGNET_SCHEME', 'scheme')
      set('SIGNET_SECRET_FILE', 'secret-file')
      set('SIGNET_DATA', 'data')
      set('SIGNET_DB', 'db')
      set('SIGNET_WORKERS', 'workers')
      set('SIGNET_TRUST_PROXY', 'trust-proxy')
      set('SIGNET_RETENTION_DAYS', 'retention-days')
      set('SIGNET_IP', 'ip')
      if (values['secret-file']) delete env.SIGNET_SECRET
      // Read at the start, and again at each SIGHUP (the files it names may have changed).
      const load = () => {
        try {
          return loadConfig(env, { production: true })
        } catch (err) {
          let message = (err as Error).message.replace(/^signet: /, '')
          for (const [name, flag] of typed) message = message.replace(new RegExp(`\\b${name}\\b`, 'g'), flag)
          if (!typed.has('SIGNET_PROJECT')) message = message.replace(/^SIGNET_PROJECT is required/, '--project TOKEN is required')
          if (/^Secure Mode \w+ needs/.test(message)) message = message.replace('set SIGNET_SECRET_FILE', 'pass --secret-file FILE').replace(/ or SIGNET_SECRET$/, ', set SIGNET_SECRET, or start with --mode off')
          throw new Error(message)
        }
      }
      // Bad input stops here, with exit code 2; the primary loads it again as it starts.
      load()
      // The collector's code (and its logger and metrics) is loaded by the command that runs it only.
      const { run } = await import('./run')
      try {
        await run(load, { demo: false, dist: fileURLToPath(new URL('.', import.meta.url)), banner: (url) => `Collector: ${url}/track` })
      } catch (err) {
        // The input was good; the machine could not start it (a port in use, a database unreachable).
        throw new StartError((err as Error).message)
      }
      return -1
    }
    case 'migrate': {
      const options = storeConfig({ ...process.env, ...(values.db && { SIGNET_DB: values.db }) })
      const found = await migrationOf(options)
      if (!found) throw new UsageError(`no store at ${options.file}`)
      const { store, version, target, events, namespace } = found
      if (version > target) throw new Error(`${store} has schema ${version}, newer than this Signet knows (${target}): upgrade Signet`)
      if (version == target) {
        console.log(`${store} is at schema ${target}: nothing to migrate`)
        return 0
      }
      const empty = version == 0 && !events
      console.log(empty ? `${store} holds no Signet store yet: its tables are made at schema ${target}` : `${store} has schema ${version}; this Signet keeps schema ${target}. Migrating it:`)
      if (!empty) {
        const n = (x: number) => x.toLocaleString('en-US')
        if (version < 2) console.log("- adds the console's summaries, people, refused attempts and erased ids (schema 2), which the collector sums from the events")
        if (version < 3)
          console.log(
            `- copies ${n(events)} events into schema 3's columns and its dictionary of repeated strings, ${options.url ? 'in monthly partitions, ' : ''}5,000 a transaction (a migration cut short goes on where it stopped), then drops the old table` +
              (options.url ? '' : ': its pages stay free inside the file, for events to come (VACUUM, collector stopped, gives them back)'),
          )
        if (version < 4)
          console.log(
            found.transactions
              ? `- gives the ${n(found.transactions)} transactions the release before schema 3 kept under tx:<order> their maker's key, as every release since keys them (schema 4): an order sent again is then absorbed, and one stored a second time already is kept once`
              : '- marks it schema 4 (no transaction is kept under the key of the release before schema 3)',
          )
        if (version < 5)
          console.log(
            `- keeps the ids of ${n(found.forgotten)} forgotten events as keyed digests under a salt of the store's own, no longer as they were, and deletes at once the dictionary's entries that only forgotten events used (schema 5)` +
              (found.forgotten ? ': a backup made before it still holds those ids; delete it once the migration is done' : ''),
          )
        console.log("- adds a column for each event's browser, operating system and device type, which events stored from then on fill (schema 6): no table is rewritten")
        console.log(
          options.url
            ? `Back it up first: pg_dump -Fc -n ${namespace} "$SIGNET_DATABASE_URL" > signet-schema-${version}.dump`
            : `Back it up first: sqlite3 ${options.file} ".backup '${options.file}.schema-${version}'"`,
        )
      }
      if (values['dry-run']) {
        console.log('--dry-run: nothing was changed')
        return 0
      }
      const started = performance.now()
      const opened = await openStore({ ...options, log: (line) => console.log(line.replace(/^signet: /, '')) })
      await opened.close()
      console.log(`${store} is at schema ${target} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
      return 0
    }
    case 'forget': {
      const person = required(values, 'person')
      const store = await openStore({ ...storeConfig({ ...process.env, ...(values.db && { SIGNET_DB: values.db }) }), readonly: false, mustExist: true })
      try {
        console.log(`forgot ${await store.forget(person, values.project)} events of ${person}`)
      } finally {
        await store.close()
      }
      return 0
    }
    case 'import': {
      const file = required(values, 'file')
      if (!existsSync(file)) throw new UsageError(`--file ${file}: no such file`)
      const store = await openStore({ ...storeConfig({ ...process.env, ...(values.db && { SIGNET_DB: values.db }) }), readonly: false })
      try {
        const r = (await importJsonl(file, store, { keep: true }))!
        console.log(`imported ${r.imported} events (${r.present} already stored, ${r.skipped} lines skipped)`)
      } finally {
        await store.close()
      }
      return 0
    }
    case 'export': {
      const since = values.since === undefined ? undefined : Date.parse(values.since)
      if (Number.isNaN(since)) throw new UsageError(`--since must be a date, such as 2026-11-30 or 2026-11-30T08:00:00Z, not "${values.since}"`)
      const store = await openStore({ ...storeConfig({ ...process.env, ...(values.db && { SIGNET_DB: values.db }) }), readonly: true })
      // `signet export | head` closes the pipe early: that is the reader's choice, not an error.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code == 'EPIPE' ? process.exit(0) : process.exit(1)))
      let out = ''
      for await (const line of store.lines({ project: values.project, since })) {
        out += line + '\n'
        if (out.length < 65_536) continue
        if (!process.stdout.write(out)) await once(process.stdout, 'drain')
        out = ''
      }
      process.stdout.write(out)
      await store.close()
      return 0
    }
  }
  throw new UsageError(`unknown command "${command}"`)
}

// A worker process of `signet collector` runs the same file: it takes its configuration from the primary.
const started = cluster.isWorker
  ? import('./run').then(({ run }) => run(() => loadConfig(), { demo: false, dist: fileURLToPath(new URL('.', import.meta.url)), banner: String })).then(() => -1)
  : main(process.argv.slice(2))
started.then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (err: unknown) => {
    // One line, then a pointer to the usage text: bad input is the caller's to fix.
    const message = err instanceof Error ? err.message : String(err)
    console.error(`signet: ${message.replace(/^signet: /, '')}`)
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error("Run 'signet help' for usage.")
    process.exitCode = err instanceof StartError ? 1 : 2
  },
)
