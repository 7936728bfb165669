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
