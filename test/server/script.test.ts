// @vitest-environment node
// trackerScript: the package's tracker.js as a site's own server serves it (docs/examples).
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { trackerScript, type ScriptName } from '../../src/server/http/script'

const built = (name: string) => readFileSync(new URL(`../../dist/${name}`, import.meta.url), 'utf8')

describe('trackerScript', () => {
  it('serves the built tracker.js to a Node server: cached an hour, a 304 for the copy the browser has, no body for HEAD', async () => {
    const tracker = trackerScript()
    const server = createServer(tracker.node).listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tracker.js`
    try {
      const first = await fetch(url)
      expect(await first.text()).toBe(built('tracker.js'))
      expect(Object.fromEntries(['content-type', 'cache-control', 'access-control-allow-origin'].map((h) => [h, first.headers.get(h)]))).toEqual({
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'public, max-age=3600',
        'access-control-allow-origin': '*',
      })
      const etag = first.headers.get('etag')!
      const revalidated = await fetch(url, { headers: { 'If-None-Match': `"other", W/${etag}` } })
      expect([revalidated.status, await revalidated.text()]).toEqual([304, ''])
      const stale = await fetch(url, { headers: { 'If-None-Match': '"an-older-release"' } })
      expect([stale.status, (await stale.text()).length]).toEqual([200, built('tracker.js').length])
      const head = await fetch(url, { method: 'HEAD' })
      expect([head.status, await head.text()]).toEqual([200, ''])
    } finally {
      server.close()
    }
  })

  it('answers a fetch Request, and names an adapter by its export', async () => {
    const beacon = trackerScript('adapters/beacon.js')
    const res = beacon.fetch(new Request('https://site.test/adapters/beacon.js'))
    expect(await res.text()).toBe(built('adapters/beacon.js'))
    const again = beacon.fetch(new Request('https://site.test/adapters/beacon.js', { headers: { 'if-none-match': res.headers.get('etag')! } }))
    expect([again.status, await again.text()]).toEqual([304, ''])
    expect(beacon.answer().body).toBe(built('adapters/beacon.js'))
  })

  it('refuses a file that is not one of its scripts, naming it', () => {
    expect(() => trackerScript('../package.json' as ScriptName)).toThrow('trackerScript: "../package.json" is not one of tracker.js, adapters/beacon.js, adapters/engagespot.js')
  })
})
