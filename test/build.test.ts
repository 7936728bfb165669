// @vitest-environment node
import { parse } from 'acorn'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const tracker = readFileSync('dist/tracker.js', 'utf8')

describe('dist/tracker.js', () => {
  it('is ES2017 (parses with an ES2017 parser)', () => {
    expect(() => parse(tracker, { ecmaVersion: 2017, sourceType: 'script' })).not.toThrow()
  })

  it('is one IIFE that leaks no globals but _gs', () => {
    const program = parse(tracker, { ecmaVersion: 2017, sourceType: 'script' })
    expect(program.body).toHaveLength(1)
    expect(program.body[0].type).toBe('ExpressionStatement')
  })

  it('uses no eval or new Function, so it runs under a strict CSP', () => {
    expect(tracker).not.toMatch(/\beval\s*\(|\bFunction\s*\(/)
  })

  it('keeps the public names and wire keys through minification', () => {
    expect(tracker).toMatch(/\._gs\b|"_gs"/)
    for (const name of ['identify', 'auth', 'unidentify', 'properties', 'track', 'event', 'pageview'])
      expect(tracker).toContain(`"${name}"`)
    for (const key of ['v', 'project', 'sentAt', 'events', 'id', 'type', 'ts', 'anonymousId', 'personId', 'signature', 'name', 'props', 'page', 'url', 'title', 'referrer'])
      expect(tracker).toMatch(new RegExp(`[{,]${key}:|"${key}"`))
  })
})
