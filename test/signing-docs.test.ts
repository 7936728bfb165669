// @vitest-environment node
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// Runs the examples of docs/signing.md, as written, against the shared test vectors.
const doc = readFileSync('docs/signing.md', 'utf8')
const example = (language: string) => {
  const match = new RegExp('```\\w+\\n(?:#|//) signet:example ' + language + '\\n([\\s\\S]*?)```').exec(doc)
  if (!match) throw new Error(`docs/signing.md has no ${language} example`)
  return match[1]
}
const vectors = JSON.stringify({
  hex: JSON.parse(readFileSync('test/vectors/hex.json', 'utf8')).vectors,
  base64: JSON.parse(readFileSync('test/vectors/base64.json', 'utf8')).vectors,
  token: JSON.parse(readFileSync('test/vectors/token.json', 'utf8')).vectors,
})

describe('docs/signing.md', () => {
  it('the Node example reproduces every vector', () => {
    const check = `${example('node')}
const v = JSON.parse(require('node:fs').readFileSync(0, 'utf8'))
const bad = [
  ...v.hex.filter((x) => personSignature(x.secret, x.id) !== x.signature),
  ...v.base64.filter((x) => userSignature(x.secret, x.id) !== x.signature),
  ...v.token.filter((x) => verificationToken(x.key, x.userId, x.now) !== x.token),
]
console.log(JSON.stringify({ checked: v.hex.length + v.base64.length + v.token.length, bad }))`
    const out = JSON.parse(execFileSync(process.execPath, ['-e', check], { input: vectors, encoding: 'utf8' }))
    expect(out.bad).toEqual([])
    expect(out.checked).toBeGreaterThan(40)
  })

  it('the Python example reproduces every vector', () => {
    const check = `${example('python')}
import json, sys
v = json.load(sys.stdin)
bad = [x for x in v["hex"] if person_signature(x["secret"], x["id"]) != x["signature"]]
bad += [x for x in v["base64"] if user_signature(x["secret"], x["id"]) != x["signature"]]
bad += [x for x in v["token"] if verification_token(x["key"], x["userId"], x["now"]) != x["token"]]
print(json.dumps({"checked": len(v["hex"]) + len(v["base64"]) + len(v["token"]), "bad": bad}))`
    const out = JSON.parse(execFileSync('python3', ['-c', check], { input: vectors, encoding: 'utf8' }))
    expect(out.bad).toEqual([])
    expect(out.checked).toBeGreaterThan(40)
  })
})
