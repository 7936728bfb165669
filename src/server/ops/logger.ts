import { hostname } from 'node:os'
import pino, { type DestinationStream, type Logger } from 'pino'
import { textLine, type Log, type LogFormat } from './log'

// The logger alone loads pino: what only signs, verifies or exports (signet sign, …) starts without it.

/** A stream that writes each line as text to `out`. */
const asText = (out: { write(s: string): unknown }): DestinationStream => ({ write: (line: string) => void out.write(textLine(line)) })

export interface LoggerOptions {
  format?: LogFormat
  /** Where info lines go; warn and error lines go to `stderr`. Default the process's. */
  stdout?: DestinationStream | NodeJS.WritableStream
  stderr?: DestinationStream | NodeJS.WritableStream
  /** Fields every line of this process carries (its role: primary or worker). */
  base?: Record<string, unknown>
}

/**
 * The process's logger (pino): one line a record, each with an ISO time and a level; info to stdout,
 * warn and error to stderr, written at once (a collector's lines are few, and a line written before
 * an exit must not be lost in a buffer).
 */
export function createLogger({ format = 'text', stdout, stderr, base = {} }: LoggerOptions = {}): Logger {
  const out = stdout ?? pino.destination({ dest: 1, sync: true })
  const err = stderr ?? pino.destination({ dest: 2, sync: true })
  const wrap = (s: DestinationStream | NodeJS.WritableStream) => (format == 'text' ? asText(s) : (s as DestinationStream))
  return pino(
    {
      base: { pid: process.pid, hostname: hostname(), ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(
      [
        { level: 'info', stream: wrap(out) },
        { level: 'warn', stream: wrap(err) },
      ],
      { dedupe: true },
    ),
  )
}

/** A Log over a pino logger; `signet: ` at a line's start is dropped (the level says who speaks). */
export const logTo =
  (logger: Logger): Log =>
  (line, level = 'info', fields) => {
    const text = line.replace(/^signet: /, '')
    if (fields) logger[level](fields, text)
    else logger[level](text)
  }

