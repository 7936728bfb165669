// @vitest-environment node
import { readFileSync } from 'node:fs'
import { Window } from 'happy-dom'
import { describe, expect, it } from 'vitest'
import { renderSnippet } from '../src/server/http/snippet'
// @ts-expect-error plain ESM build script without types
import { SNIPPET_BUDGET } from '../snippet/budget.mjs'

const built = readFileSync(new URL('../dist/snippet.min.js', import.meta.url), 'utf8')

// Runs the built snippet in a page of its own, the way a site's inline <script> would.
function runSnippet(code: string) {
  const win = new Window({ url: 'https://site.test/', settings: { disableJavaScriptFileLoading: true, handleDisabledFileLoadingAsSuccess: true } })
  win.document.write('<!doctype html><html><head><script>/* site */</script></head><body></body></html>')
  new Function('window', 'document', code)(win, win.document)
  return win as unknown as Window & { _gs: ((...a: unknown[]) => void) & { q?: ArrayLike<unknown>[] } }
}

describe('built snippet', () => {
  it(`is at most ${SNIPPET_BUDGET} bytes`, () => {
    const bytes = Buffer.byteLength(built)
    console.log(`snippet: ${bytes} B (budget ${SNIPPET_BUDGET} B)`)
    expect(bytes).toBeLessThanOrEqual(SNIPPET_BUDGET)
  })

  it('names the tracker URL as the literal TRACKER_URL exactly once', () => {
    expect(built.split('TRACKER_URL')).toHaveLength(2)
  })

  it('defines _gs as a stub that queues calls, in order, before the tracker loads', () => {
    const win = runSnippet(built.replace('TRACKER_URL', 'https://cdn.test/tracker.js'))
    win._gs('GSN-1')
    win._gs('identify', { id: 1 })
    win._gs('auth', 'sig')
    expect(Array.from(win._gs.q!, (args) => Array.from(args))).toEqual([['GSN-1'], ['identify', { id: 1 }], ['auth', 'sig']])
  })

  it('inserts the tracker script once, async, from the edited URL', () => {
    const win = runSnippet(built.replace('TRACKER_URL', 'https://cdn.test/tracker.js'))
    const scripts = [...win.document.querySelectorAll('script[src]')]
    expect(scripts.map((s) => s.getAttribute('src'))).toEqual(['https://cdn.test/tracker.js'])
    expect((scripts[0] as unknown as HTMLScriptElement).async).toBe(true)
  })

  it('is the snippet the README tells people to paste', () => {
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain(built)
  })

  it('keeps an existing _gs (a snippet pasted twice does not lose queued calls)', () => {
    const win = runSnippet(built)
    win._gs('GSN-1')
    new Function('window', 'document', built)(win, win.document)
    expect(win._gs.q).toHaveLength(1)
  })
})

describe('renderSnippet', () => {
  // The <script> element's text, its global _gs call made on the runner's window.
  const inner = (html: string) => html.replace(/^<script[^>]*>\n/, '').replace(/\n<\/script>$/, '').replace(/\n_gs\(/, '\nwindow._gs(')

  it('is the loader pointed at src, then the call that starts the tracker with the token and options', () => {
    const html = renderSnippet({ src: 'https://cdn.test/tracker.js', token: 'GSN-123456-A', options: { requireConsent: true } })
    expect(html.startsWith('<script>\n') && html.endsWith('\n</script>')).toBe(true)
    const win = runSnippet(inner(html))
    expect(Array.from(win._gs.q!, (args) => Array.from(args))).toEqual([['GSN-123456-A', { requireConsent: true }]])
    expect([...win.document.querySelectorAll('script[src]')].map((s) => s.getAttribute('src'))).toEqual(['https://cdn.test/tracker.js'])
  })

  it('takes an absolute path and a nonce', () => {
    expect(renderSnippet({ src: '/tracker.js', token: 'GSN-1', nonce: 'r4nd0m+n0nce=' })).toMatch(/^<script nonce="r4nd0m\+n0nce=">\n[\s\S]*'\/tracker\.js'/)
  })

  it('keeps what a token or option holds from ending the script early', () => {
    const html = renderSnippet({ src: '/t.js', token: 'GSN-</script><script>alert(1)//', options: { endpoint: '</script>\u2028' } })
    expect(html.match(/<\/script>/g)).toHaveLength(1)
    const win = runSnippet(inner(html))
    expect(Array.from(win._gs.q![0])).toEqual(['GSN-</script><script>alert(1)//', { endpoint: '</script>\u2028' }])
  })

  it('refuses, naming it, a src that is not a URL or path, a token that is not one, options that are not an object, a bad nonce', () => {
    expect(() => renderSnippet({ src: "javascript:alert('x')", token: 'GSN-1' })).toThrow(/^renderSnippet: src "javascript:alert\('x'\)" is not an http\(s\) URL/)
    expect(() => renderSnippet({ src: "https://cdn.test/a'+b.js", token: 'GSN-1' })).toThrow(/src/)
    expect(() => renderSnippet({ src: '/t.js', token: 'event' })).toThrow(/^renderSnippet: token "event" is not a project token/)
    expect(() => renderSnippet({ src: '/t.js', token: 'GSN-1', options: [] as never })).toThrow(/options must be an object/)
    expect(() => renderSnippet({ src: '/t.js', token: 'GSN-1', nonce: '"><img>' })).toThrow(/nonce/)
    expect(() => renderSnippet({ src: '/t.js', token: 'GSN-1', identify: { name: 'no id' } })).toThrow(/^renderSnippet: identify must be an object with an id/)
    expect(() => renderSnippet({ src: '/t.js', token: 'GSN-1', signature: 'abc' })).toThrow(/^renderSnippet: signature goes with identify/)
    expect(() => renderSnippet({ src: '/t.js', token: 'GSN-1', identify: { id: 'u' }, signature: 'x'.repeat(2000) })).toThrow(/^renderSnippet: signature must be/)
  })

  it('queues identify and auth after the start, as the page would write them, escaped', () => {
    const html = renderSnippet({ src: '/t.js', token: 'GSN-1', identify: { id: 'u</script>', name: 'A\u2028' }, signature: 'eyJ.</script>.sig' })
    expect(html.match(/<\/script>/g)).toHaveLength(1)
    // The loader defines window._gs; the calls after it reach it as the page's global.
    const win = runSnippet(inner(html).replace(/\n_gs\(/g, '\nwindow._gs('))
    expect(win._gs.q!.map((args) => Array.from(args))).toEqual([['GSN-1'], ['identify', { id: 'u</script>', name: 'A\u2028' }], ['auth', 'eyJ.</script>.sig']])
  })
})
