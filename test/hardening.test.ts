import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { freshPage, gs, loadTracker, settle, type Wire } from './harness'

let wire: Wire
let n = 0
// Each test tracks into a project of its own: trackers of earlier tests still live in this window.
let project: string
const mine = () => wire.batches.filter((b) => b.project == project)
const sent = () => mine().flatMap((b) => b.events)

beforeEach(() => {
  wire = freshPage()
  project = `GSN-H${++n}`
  history.replaceState(null, '', '/start')
})
afterEach(() => settle())

describe('single-page apps', () => {
  it('sends a pageview when pushState, replaceState or popstate change the path, not the query', async () => {
    loadTracker()
    gs(project)
    await settle()
    history.pushState(null, '', '/pricing')
    history.replaceState(null, '', '/pricing?plan=pro')
    history.pushState(null, '', '/docs#intro')
    history.pushState(null, '', '/docs#setup')
    history.back()
    await new Promise((r) => setTimeout(r, 50))
    window.dispatchEvent(new PopStateEvent('popstate'))
    history.replaceState(null, '', '/start')
    window.dispatchEvent(new PopStateEvent('popstate'))
    await settle()
    expect(sent().map((e) => new URL(e.page!.url!).pathname)).toEqual(['/start', '/pricing', '/docs', '/start'])
  })

  it('follows hash routes only when asked', async () => {
    loadTracker()
    gs(project, { hash: true })
    await settle()
    history.pushState(null, '', '/start#/settings')
    await settle()
    expect(sent().map((e) => new URL(e.page!.url!).hash)).toEqual(['', '#/settings'])
  })

  it('can be turned off', async () => {
    loadTracker()
    gs(project, { spa: false })
    history.pushState(null, '', '/elsewhere')
    await settle()
    expect(sent()).toHaveLength(1)
  })
})

describe('consent', () => {
  it('stores and sends nothing before consent when the project requires it, then sends what waited', async () => {
    const stored = () => JSON.stringify({ ...localStorage })
    loadTracker()
    gs(project, { requireConsent: true })
    gs('event', 'before-consent')
    await settle()
    expect(mine()).toEqual([])
    expect(stored()).not.toContain(project)
    expect(localStorage.getItem('signet')).toBeNull()
    gs('consent', true)
    await Promise.resolve()
    expect(stored()).toContain('before-consent')
    await settle()
    // The automatic pageview goes at the end of the task that gave the token, after what else it tracked.
    expect(sent().map((e) => e.name || e.type)).toEqual(['before-consent', 'pageview'])
    expect(JSON.parse(localStorage.getItem('signet')!).a).toBe(sent()[0].anonymousId)
  })

  it('drops what waited when consent is refused, reports it, and keeps the refusal across pages', async () => {
    const dropped: unknown[] = []
    loadTracker()
    gs(project, { requireConsent: true })
    gs('on', 'dropped', (d: unknown) => dropped.push(d))
    gs('event', 'never')
    gs('consent', false)
    await settle()
    expect(mine()).toEqual([])
    // The event; the automatic pageview, due at the end of the task, is never made once consent is refused.
    expect(dropped).toEqual([{ count: 1, reason: 'consent' }])
    expect(JSON.stringify({ ...localStorage })).not.toMatch(new RegExp(`${project}|never`))
    expect(localStorage.getItem('signet_consent')).toBe('false')
    delete (window as { _gs?: unknown })._gs
    loadTracker()
    gs(project)
    gs('event', 'next-page')
    await settle()
    expect(mine()).toEqual([])
  })

  it('removes every stored outbox of the site on refusal, backlogs and locks of other pages too', async () => {
    localStorage.setItem('signet_q_closedpage', JSON.stringify({ p: project, i: [{ e: { id: 'old', name: 'left-behind' } }] }))
    localStorage.setItem('signet_lock_closedpage', JSON.stringify({ by: 'a-page-that-left', at: Date.now() }))
    loadTracker()
    gs(project, false)
    gs('consent', false)
    expect(Object.keys(localStorage).filter((k) => /^signet_(q|hb|lock)_/.test(k))).toEqual([])
  })

  it("keeps tracking when another tab writes its own keys (storage events that are not about consent)", async () => {
    loadTracker()
    gs(project, false)
    for (const key of ['signet_hb_another-tab', 'signet_q_another-tab', null])
      window.dispatchEvent(new StorageEvent('storage', { key, newValue: key && '1' }))
    gs('event', 'still-tracked')
    await settle()
    expect(sent().map((e) => e.name)).toEqual(['still-tracked'])
    expect(localStorage.getItem('signet')).not.toBeNull()
  })

  it('lets an opted-out visitor opt back in', async () => {
    loadTracker()
    gs(project, false)
    gs('consent', false)
    gs('event', 'out')
    gs('consent', true)
    gs('event', 'in')
    await settle()
    expect(sent().map((e) => e.name)).toEqual(['in'])
  })

  it('respects Global Privacy Control when the site turns privacySignals on', async () => {
    Object.defineProperty(navigator, 'globalPrivacyControl', { configurable: true, value: true })
    try {
      loadTracker()
      gs(project, { privacySignals: true })
      gs('event', 'signalled')
      await settle()
      expect(mine()).toEqual([])
      delete (window as { _gs?: unknown })._gs
      project += '-off'
      loadTracker()
      gs(project)
      await settle()
      expect(sent()).toHaveLength(1)
    } finally {
      delete (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl
    }
  })
})

describe('several trackers on one page', () => {
  it("keeps a named tracker's project, identity and outbox apart", async () => {
    loadTracker()
    gs(project, false)
    gs(project + '-B', 'second', false)
    gs('identify', { id: 'main-user', signature: 'a'.repeat(64) })
    gs('second.event', 'from-second')
    gs('event', 'from-main')
    await settle()
    const [main] = mine()
    const second = wire.batches.filter((b) => b.project == project + '-B')
    expect(main.events.map((e) => e.name || e.type)).toEqual(['identify', 'from-main'])
    expect(second.flatMap((b) => b.events).map((e) => [e.name, e.personId])).toEqual([['from-second', undefined]])
    expect(second[0].events[0].anonymousId).not.toBe(main.events[0].anonymousId)
  })

  it('reports a mistyped command instead of starting a tracker for it', () => {
    loadTracker()
    gs(project, false)
    gs('evnet', 'signup')
    expect(wire.warnings).toEqual(['[signet] _gs("evnet") ignored: not a command or a project token'])
  })
})

describe('limits', () => {
  it('cuts a long event name and leaves out oversized props, with a warning, and still sends the event', async () => {
    loadTracker()
    gs(project, false)
    gs('event', 'n'.repeat(300), { blob: 'x'.repeat(9000) })
    await settle()
    const [e] = sent()
    expect(e.name).toHaveLength(256)
    expect(e.props).toBeUndefined()
    expect(wire.warnings).toEqual([
      '[signet] event name cut to 256 characters',
      '[signet] props over 8192 characters of JSON left out',
    ])
  })

  it('asks the collector to anonymize the IP when set', async () => {
    loadTracker()
    gs(project, false)
    gs('set', 'anonymizeIP', true)
    gs('event', 'x')
    await settle()
    expect(mine()[0].anonymizeIP).toBe(true)
  })
})
