import type { IncomingMessage, ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { HttpError } from '../verify/batch'

/** The headers every collect answer carries: any origin may post, and read Retry-After. */
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Retry-After',
  'Cache-Control': 'no-store',
}

/** The answer to a CORS preflight (the tracker never needs one; other clients may). */
export const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
  'Access-Control-Max-Age': '86400',
}

export function send(res: ServerResponse, status: number, body: unknown, type = 'application/json', retryAfter?: number) {
  res.writeHead(status, {
    'Content-Type': type,
    ...CORS_HEADERS,
    ...(retryAfter !== undefined && { 'Retry-After': String(retryAfter) }),
  })
  res.end(typeof body == 'string' ? body : JSON.stringify(body))
}

/** Reads a request body, refusing one over maxBytes (413) or slower than timeoutMs (408). */
export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > maxBytes) return reject(new HttpError(413, `body over ${maxBytes} bytes`))
    const chunks: Buffer[] = []
    let size = 0
    // A body trickling in slower than this holds a connection for nothing.
    const timer = setTimeout(() => reject(new HttpError(408, 'request body too slow')), timeoutMs)
    req.on('close', () => clearTimeout(timer))
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        req.removeAllListeners('data')
        reject(new HttpError(413, `body over ${maxBytes} bytes`))
      } else chunks.push(chunk)
    })
    req.on('end', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks))
    })
    req.on('error', reject)
  })
}

/**
 * A fetch Request's body, read from its stream a chunk at a time and given up (413) as soon as it
 * passes maxBytes: a body with no Content-Length (streamed by Next.js, Workers, Deno, Bun) is never
 * read whole first. Chunks are kept only up to the limit.
 */
export async function readRequestBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new HttpError(413, `body over ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

/**
 * How far a gzip body may unpack: to 64 KiB whatever its size (the tracker's largest batch, 20,000
 * characters of events, is 60 KB of UTF-8 at most), and beyond that to 32 times its size. The
 * tracker's batches compress 5 to 20 times; a body that unpacks far more costs the collector much
 * more than it cost its sender (a 541-byte gzip of '[' × 524,000 took 220 ms to answer).
 */
export const INFLATION = { floor: 64 * 1024, ratio: 32 }

/** How deep a body's JSON may nest: a batch, its events, an event and its props are 4 levels, so props may nest 60 more. */
export const MAX_DEPTH = 64

/**
 * A request body as text: gunzipped when its first bytes are gzip's (1f 8b), and given up (413) as
 * soon as the output passes what INFLATION allows or maxBytes (zlib stops there, not at the end: a
 * small body may unpack to gigabytes); as UTF-8 otherwise.
 */
export function bodyText(body: Uint8Array, maxBytes: number): string {
  if (body[0] != 0x1f || body[1] != 0x8b) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
  const limit = Math.min(maxBytes, Math.max(INFLATION.floor, INFLATION.ratio * body.byteLength))
  try {
    return gunzipSync(body, { maxOutputLength: limit }).toString('utf8')
  } catch (err) {
    if ((err as { code?: string }).code != 'ERR_BUFFER_TOO_LARGE') throw new HttpError(400, 'malformed gzip')
    throw new HttpError(413, limit < maxBytes ? `body unpacks to over ${INFLATION.ratio} times its size` : `body over ${maxBytes} bytes once decompressed`)
  }
}

/**
 * Whether JSON text nests arrays and objects deeper than `max`, found in one pass before it is
 * parsed (what is inside strings does not count). Written here because JSON.parse has no depth
 * limit: deep enough, it spends its time recursing before it fails.
 */
export function nestedDeeper(text: string, max: number): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // A string: skip to its closing quote, past escaped characters.
    if (c == 34) for (i++; i < text.length && text.charCodeAt(i) != 34; i++) i += +(text.charCodeAt(i) == 92)
    else if (c == 91 || c == 123) {
      if (++depth > max) return true
    } else if (c == 93 || c == 125) depth--
  }
  return false
}

/** JSON.parse that turns a syntax error, or nesting deeper than MAX_DEPTH, into a 400. */
export function parseJson(text: string): unknown {
  if (nestedDeeper(text, MAX_DEPTH)) throw new HttpError(400, `JSON nested deeper than ${MAX_DEPTH} levels`)
  try {
    return JSON.parse(text)
  } catch {
    throw new HttpError(400, 'malformed JSON')
  }
}

/** Answers a failed request: its HttpError status and message, or a 500 that is logged but not echoed. */
export function sendError(res: ServerResponse, err: unknown, log: (line: string) => void) {
  const status = err instanceof HttpError ? err.status : 500
  if (status == 500) log(`error: ${err instanceof Error ? err.message : String(err)}`)
  // Closing after a refused body stops the rest of it from being read.
  if (status == 413 || status == 408) res.setHeader('Connection', 'close')
  send(res, status, { error: err instanceof HttpError ? err.message : 'internal error' })
}
