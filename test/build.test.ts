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
})

describe('browser files', () => {
  // A script served without a charset is read in the page's encoding: only ASCII reads the same in all.
  it.each(['tracker.js', 'snippet.min.js', 'adapters/beacon.js', 'adapters/engagespot.js', 'dashboard.js'])('%s is ASCII only', (file) => {
    const text = readFileSync(`dist/${file}`, 'latin1')
    expect(text.match(/[^\x00-\x7f]+/g) || []).toEqual([])
  })
})
