// @vitest-environment node
import { readFileSync } from 'node:fs'
import { Window } from 'happy-dom'
import { describe, expect, it } from 'vitest'
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
