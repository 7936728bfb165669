/** How severe a line is: info (what happened), warn (a fault the collector survives), error (a request or a task failed). */
export type Level = 'info' | 'warn' | 'error'

/**
 * What the collector's parts log through: one line, its level (info when not given) and fields
 * that say what it is about. Never given a secret: a signature, a token, a password, a query string.
 */
export type Log = (line: string, level?: Level, fields?: Record<string, unknown>) => void

/** SIGNET_LOG_FORMAT: `text` (default: a time, a level, the line) or `json` (one object a line). */
export type LogFormat = 'text' | 'json'

export const logFormat = (value = 'text'): LogFormat => {
  if (value != 'text' && value != 'json') throw new Error(`signet: SIGNET_LOG_FORMAT must be text or json, got ${JSON.stringify(value.slice(0, 40))}`)
  return value
}

// pino's own fields, which the text line shows in its own way or not at all.
const OWN = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'role'])

/** A field's value in a text line: as it is when it is a plain word, else as JSON. */
const shown = (v: unknown) => (typeof v == 'string' && /^[\w.:/@+-]+$/.test(v) ? v : typeof v == 'number' ? String(v) : JSON.stringify(v))

/**
 * A JSON log line (pino's) as the text format writes it: `2026-12-06T09:36:24.123Z INFO  Storing events in …
 * (worker=4121)`. Written here because pino-pretty runs in a worker thread of its own (a transport) or
 * brings a dozen packages, for what one function does on the few lines a collector writes.
 */
export function textLine(json: string): string {
  const o = JSON.parse(json) as Record<string, unknown>
  const fields = Object.keys(o)
    .filter((k) => !OWN.has(k))
    .map((k) => `${k}=${shown(o[k])}`)
  return `${o.time} ${String(o.level).toUpperCase().padEnd(5)} ${o.msg}${fields.length ? ` (${fields.join(', ')})` : ''}\n`
}

/**
 * A log for a line that comes in bursts (every batch of an outage, every connection of a pool): the
 * first is written, the others of the next `ms` only counted, and their number written with the next
 * line after that.
 */
export function throttled<F extends (line: string, ...rest: never[]) => void>(log: F, ms = 10_000, now = Date.now): F {
  let until = -Infinity
  let skipped = 0
  return ((line: string, ...rest: never[]) => {
    const at = now()
    if (at < until) return void skipped++
    until = at + ms
    log(skipped ? `${line} (and ${skipped} more like it before)` : line, ...rest)
    skipped = 0
  }) as F
}
