import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Scheme } from './collector'
import { loadConfig } from './config'
import { serve } from './serve'
import { personSignature, userSignature, verifySignature } from './signature'
import { verificationToken, verifyVerificationToken } from './token'

const USAGE = `Usage: signet <command> [options]

  sign --id ID [--scheme hex|base64|token] [--secret-file FILE]
      Print the signature of a person id. The secret (a Verification Key for token) comes from
      SIGNET_SECRET or --secret-file.
  verify --id ID --signature SIG [--scheme hex|base64|token] [--max-age SECONDS] [--secret-file FILE]
      Print "valid" (exit 0) or "invalid: <reason>" (exit 1).
  snippet --src URL --token TOKEN
      Print the <script> to paste into every page.
  collector [--port N] [--host H] [--mode off|report|enforce] [--project TOKEN]
            [--scheme hex|base64|token] [--secret-file FILE] [--data FILE]
      Run the reference collector (serves /track and /tracker.js).
  help
      Print this text.`

class UsageError extends Error {}

const SCHEMES = ['hex', 'base64', 'token']

function secret(secretFile?: string): string {
  const value = secretFile ? readFileSync(secretFile, 'utf8').split('\n')[0].trim() : process.env.SIGNET_SECRET
  if (!value) throw new UsageError('no secret: set SIGNET_SECRET or pass --secret-file FILE')
  return value
}

function scheme(value: string | undefined): Scheme {
  if (value !== undefined && !SCHEMES.includes(value)) throw new UsageError(`--scheme must be hex, base64 or token, not "${value}"`)
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
} as const

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command == 'help' || command == '--help' || command == '-h') {
    console.log(USAGE)
    return command ? 0 : 2
  }
  const { values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false })
  switch (command) {
    case 'sign': {
      const id = required(values, 'id')
      const how = scheme(values.scheme)
      const key = secret(values['secret-file'])
      console.log(how == 'token' ? verificationToken(key, id) : (how == 'base64' ? userSignature : personSignature)(key, id))
      return 0
    }
    case 'verify': {
      const id = required(values, 'id')
      const signature = required(values, 'signature')
      const how = scheme(values.scheme)
      const key = secret(values['secret-file'])
      let reason: string | undefined
      if (how == 'token') {
        const maxAge = Number(values['max-age'] ?? 86_400)
        if (!(maxAge >= 0)) throw new UsageError('--max-age must be a number of seconds')
        const check = verifyVerificationToken(key, id, signature, { maxAgeSeconds: maxAge })
        reason = check.ok ? undefined : check.reason
      } else if (!verifySignature(key, id, signature, how)) reason = 'bad_signature'
      console.log(reason ? `invalid: ${reason}` : 'valid')
      return reason ? 1 : 0
    }
    case 'snippet': {
      const src = required(values, 'src')
      const token = required(values, 'token')
      if (!/^(https?:)?\/\/[^\s'"<>]+$/.test(src)) throw new UsageError('--src must be an http(s) URL of tracker.js')
      const snippet = readFileSync(fileURLToPath(new URL('./snippet.min.js', import.meta.url)), 'utf8').replace('TRACKER_URL', src)
      console.log(`<script>\n${snippet}\n_gs(${JSON.stringify(token).replace(/</g, '\\u003c')});\n</script>`)
      return 0
    }
    case 'collector': {
      if (values.mode !== undefined && !['off', 'report', 'enforce'].includes(values.mode))
        throw new UsageError(`--mode must be off, report or enforce, not "${values.mode}"`)
      scheme(values.scheme)
      const env = { ...process.env }
      const set = (name: string, value?: string) => value !== undefined && (env[name] = value)
      set('PORT', values.port)
      set('HOST', values.host)
      set('SIGNET_SECURE_MODE', values.mode)
      set('SIGNET_PROJECT', values.project)
      set('SIGNET_SCHEME', values.scheme)
      set('SIGNET_SECRET_FILE', values['secret-file'])
      set('SIGNET_DATA', values.data)
      if (values['secret-file']) delete env.SIGNET_SECRET
      const { url } = await serve(loadConfig(env), { demo: false, dist: fileURLToPath(new URL('.', import.meta.url)) })
      console.log(`Collector: ${url}/track`)
      return -1
    }
  }
  throw new UsageError(`unknown command "${command}"`)
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (err: unknown) => {
    // One line, then a pointer to the usage text: bad input is the caller's to fix.
    const message = err instanceof Error ? err.message : String(err)
    console.error(`signet: ${message.replace(/^signet: /, '')}`)
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error("Run 'signet help' for usage.")
    process.exitCode = 2
  },
)
