import type { IncomingMessage, ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { HttpError } from './batch'

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
 * A request body as text: gunzipped when its first bytes are gzip's (1f 8b), refusing more than
 * maxBytes once decompressed (413: a small body may unpack to gigabytes); as UTF-8 otherwise.
 */
export function bodyText(body: Uint8Array, maxBytes: number): string {
  if (body[0] != 0x1f || body[1] != 0x8b) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes }).toString('utf8')
  } catch (err) {
    if ((err as { code?: string }).code == 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, `body over ${maxBytes} bytes once decompressed`)
    throw new HttpError(400, 'malformed gzip')
  }
}

/** JSON.parse that turns a syntax error into a 400. */
export function parseJson(text: string): unknown {
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
