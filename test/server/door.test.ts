// @vitest-environment node
// Issue 31: every request enters by one door, whose error boundary answers what a route throws.
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createDoor, targetOf, type Route } from '../../src/server/http/door'
import { HttpError } from '../../src/server/verify/batch'

describe('targetOf', () => {
  it('reads the path and query of any request line a client may send, never throwing', () => {
    expect(targetOf('/track?x=1')).toEqual({ path: '/track', query: new URLSearchParams('x=1') })
    // What new URL took for a host, and threw on.
    for (const path of ['//', '///x', '//[', '/%', '/api/people/%E0%A4%A']) expect(targetOf(path)?.path).toBe(path)
    expect(targetOf('/x?%')!.query.has('%')).toBe(true)
    expect(targetOf('http://collector.example/track?a=b')).toEqual({ path: '/track', query: new URLSearchParams('a=b') })
    expect(targetOf('http://collector.example')).toEqual({ path: '/', query: new URLSearchParams() })
    expect(targetOf('*')).toBeUndefined()
    expect(targetOf('garbage')).toBeUndefined()
  })
})

describe('the door', () => {
  const servers: ReturnType<typeof createServer>[] = []
  afterEach(() => servers.splice(0).forEach((s) => s.close()))
  const serve = async (routes: [string, Route][]) => {
    const lines: { line: string; level?: string; fields?: Record<string, unknown> }[] = []
    const done: string[] = []
    const door = createDoor(routes, { log: (line, level, fields) => lines.push({ line, level, fields }), done: (route, method, status) => done.push(`${route} ${method} ${status}`) })
    const server = createServer(door)
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, lines, done }
  }

  it('answers a route that throws or rejects 500 with a request id, logs one line without the query, and goes on', async () => {
    const { url, lines, done } = await serve([
      ['sync', (_req, _res, { path }) => (path == '/throws' ? (JSON.parse('{'), true) : false)],
      ['async', (_req, _res, { path }) => path == '/rejects' && Promise.reject(new Error('the store said no'))],
      ['refused', (_req, _res, { path }) => (path == '/refused' ? (() => { throw new HttpError(413, 'too big') })() : false)],
      ['ok', (_req, res) => (res.end('fine'), true)],
    ])
    const thrown = await fetch(`${url}/throws?token=secret-value`)
    const body = await thrown.json()
    expect([thrown.status, body.error, thrown.headers.get('x-request-id')]).toEqual([500, 'internal error', body.request])
    expect(lines).toEqual([
      { line: expect.stringMatching(/^request \w+-1 failed: /), level: 'error', fields: { request: body.request, route: 'sync', method: 'GET', path: '/throws' } },
    ])
    expect(JSON.stringify(lines)).not.toContain('secret-value')
    const rejected = await fetch(`${url}/rejects`)
    expect([rejected.status, (await rejected.json()).error]).toEqual([500, 'internal error'])
    expect(lines[1].line).toMatch(/failed: the store said no$/)
    expect((await fetch(`${url}/refused`)).status).toBe(413)
    expect(await (await fetch(`${url}/anything`)).text()).toBe('fine')
    expect(done).toEqual(['sync GET 500', 'async GET 500', 'refused GET 413', 'ok GET 200'])
  })

  it('answers 404 when no route takes the path, and 400 for a request line with no path', async () => {
    const { url } = await serve([['none', () => false]])
    const notFound = await fetch(`${url}//[`)
    expect([notFound.status, await notFound.json()]).toEqual([404, { error: 'not found' }])
    const port = Number(new URL(url).port)
    const status = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))
      let got = ''
      socket.on('data', (d) => (got += d))
      socket.on('close', () => resolve(got.split('\r\n')[0]))
    })
    expect(status).toBe('HTTP/1.1 400 Bad Request')
  })
})
