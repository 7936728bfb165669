// @vitest-environment node
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// Runs the examples of docs/signing.md, as written, against the shared test vectors.
const doc = readFileSync('docs/signing.md', 'utf8')
const example = (language: string) => {
  const match = new RegExp('```\\w+\\n((?:<\\?php\\n)?(?:#|//) signet:example ' + language + '\\n[\\s\\S]*?)```').exec(doc)
  if (!match) throw new Error(`docs/signing.md has no ${language} example`)
  return match[1]
}
const vectors = JSON.stringify({
  hex: JSON.parse(readFileSync('test/vectors/hex.json', 'utf8')).vectors,
  base64: JSON.parse(readFileSync('test/vectors/base64.json', 'utf8')).vectors,
  token: JSON.parse(readFileSync('test/vectors/token.json', 'utf8')).vectors,
})

describe('docs/signing.md', () => {
  it('the Node JWT example mints a token the collector verifies for that person', async () => {
    const check = `${example('node-jwt')}
personToken(process.argv[1], 'u-42').then((t) => console.log(t))`
    const token = execFileSync(process.execPath, ['-e', check, 'jwt-docs-secret'], { encoding: 'utf8' }).trim()
    const { createJwtVerifier } = await import('../src/server/verify/jwt')
    expect(await createJwtVerifier({}, ['jwt-docs-secret']).verify(token)).toMatchObject({ person: 'u-42' })
    expect(await createJwtVerifier({}, ['another-secret']).verify(token)).toEqual({ reason: 'bad_signature' })
  })

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

// Runtimes CI installs from Debian; elsewhere a missing one skips its language, visibly.
const has = (command: string, versionFlag = '--version') => spawnSync(command, [versionFlag]).status === 0
const hmacOnly = JSON.stringify({ hex: JSON.parse(vectors).hex, base64: JSON.parse(vectors).base64 })
const expectAllMatch = (output: string) => {
  const out = JSON.parse(output)
  expect(out.bad).toBe(0)
  expect(out.checked).toBeGreaterThan(30)
}

// A token an example minted, as the collector's verifier (of a jwt project with that secret) reads it.
const verifyToken = async (token: string, secret: string) => {
  const { createJwtVerifier } = await import('../src/server/verify/jwt')
  return createJwtVerifier({}, [secret]).verify(token.trim())
}
// Debian's PyJWT is its own python3's; a python3 first on the PATH (pyenv) may not have it.
const pythonWithJwt = ['python3', '/usr/bin/python3'].find((python) => spawnSync(python, ['-c', 'import jwt']).status === 0)
const rubyWithJwt = spawnSync('ruby', ['-e', 'require "jwt"']).status === 0
const GOCODE = '/usr/share/gocode'
const goWithJwt = has('go', 'version') && existsSync(join(GOCODE, 'src/github.com/golang-jwt/jwt'))

describe('docs/signing.md, the JWT examples with the libraries CI installs from Debian', () => {
  it.skipIf(!pythonWithJwt)('the Python example (PyJWT) mints a token the collector verifies for that person', async () => {
    const check = `${example('python-jwt')}
import sys
print(person_token(sys.argv[1], "u-42"))`
    const token = execFileSync(pythonWithJwt!, ['-c', check, 'jwt-docs-secret'], { encoding: 'utf8' })
    expect(await verifyToken(token, 'jwt-docs-secret')).toMatchObject({ person: 'u-42' })
    expect(await verifyToken(token, 'another-secret')).toEqual({ reason: 'bad_signature' })
  })

  it.skipIf(!rubyWithJwt)('the Ruby example (ruby-jwt) mints a token the collector verifies for that person', async () => {
    const token = execFileSync('ruby', ['-e', `${example('ruby-jwt')}
puts person_token(ARGV[0], "u-42")`, 'jwt-docs-secret'], { encoding: 'utf8' })
    expect(await verifyToken(token, 'jwt-docs-secret')).toMatchObject({ person: 'u-42' })
    expect(await verifyToken(token, 'another-secret')).toEqual({ reason: 'bad_signature' })
  })

  it.skipIf(!goWithJwt)('the Go example (golang-jwt, Debian\'s v4 for the v5 it imports) mints a token the collector verifies for that person', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-go-jwt-'))
    const source = example('go-jwt')
    // The one change: Debian ships golang-jwt v4 (the same API here); the module proxy, which has v5, is out of reach.
    const v4 = source.replace('"github.com/golang-jwt/jwt/v5"', '"github.com/golang-jwt/jwt/v4"')
    expect(v4.split('\n').filter((line, i) => line != source.split('\n')[i])).toEqual(['\t"github.com/golang-jwt/jwt/v4"'])
    writeFileSync(join(dir, 'signet.go'), v4.replace('package signet', 'package main'))
    writeFileSync(
      join(dir, 'main.go'),
      `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	token, err := PersonToken(os.Args[1], "u-42", time.Hour)
	if err != nil {
		panic(err)
	}
	fmt.Println(token)
}
`,
    )
    // A module whose golang-jwt is Debian's copy on disk: nothing is downloaded.
    writeFileSync(
      join(dir, 'go.mod'),
      `module signetexample\n\ngo 1.19\n\nrequire github.com/golang-jwt/jwt/v4 v4.0.0\n\nreplace github.com/golang-jwt/jwt/v4 => ${GOCODE}/src/github.com/golang-jwt/jwt\n`,
    )
    const env = { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GO111MODULE: 'on', GOFLAGS: '-mod=mod', GOPROXY: 'off' }
    const token = execFileSync('go', ['run', '.', 'jwt-docs-secret'], { cwd: dir, encoding: 'utf8', env })
    expect(await verifyToken(token, 'jwt-docs-secret')).toMatchObject({ person: 'u-42' })
    expect(await verifyToken(token, 'another-secret')).toEqual({ reason: 'bad_signature' })
  }, 120_000)
})

describe('docs/signing.md, languages installed from Debian in CI', () => {
  it.skipIf(!has('php'))('the PHP example reproduces the hex and base64 vectors', () => {
    const check = `${example('php')}
$v = json_decode(stream_get_contents(STDIN), true);
$bad = 0;
foreach ($v['hex'] as $x) if (person_signature($x['secret'], $x['id']) !== $x['signature']) $bad++;
foreach ($v['base64'] as $x) if (user_signature($x['secret'], $x['id']) !== $x['signature']) $bad++;
echo json_encode(['checked' => count($v['hex']) + count($v['base64']), 'bad' => $bad]);`
    const file = join(mkdtempSync(join(tmpdir(), 'signet-php-')), 'check.php')
    writeFileSync(file, check)
    expectAllMatch(execFileSync('php', [file], { input: hmacOnly, encoding: 'utf8' }))
  })

  it.skipIf(!has('ruby'))('the Ruby example reproduces the hex and base64 vectors', () => {
    const check = `${example('ruby')}
require "json"
v = JSON.parse($stdin.read)
bad = v["hex"].count { |x| person_signature(x["secret"], x["id"]) != x["signature"] }
bad += v["base64"].count { |x| user_signature(x["secret"], x["id"]) != x["signature"] }
puts JSON.generate({ checked: v["hex"].size + v["base64"].size, bad: bad })`
    expectAllMatch(execFileSync('ruby', ['-e', check], { input: hmacOnly, encoding: 'utf8' }))
  })

  it.skipIf(!has('go', 'version'))('the Go example reproduces the hex and base64 vectors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-go-'))
    writeFileSync(join(dir, 'signet.go'), example('go').replace('package signet', 'package main'))
    writeFileSync(
      join(dir, 'main.go'),
      `package main

import (
	"encoding/json"
	"fmt"
	"os"
)

type vector struct{ Secret, Id, Signature string }

func main() {
	var v struct{ Hex, Base64 []vector }
	if err := json.NewDecoder(os.Stdin).Decode(&v); err != nil {
		panic(err)
	}
	bad := 0
	for _, x := range v.Hex {
		if PersonSignature(x.Secret, x.Id) != x.Signature {
			bad++
		}
	}
	for _, x := range v.Base64 {
		if UserSignature(x.Secret, x.Id) != x.Signature {
			bad++
		}
	}
	out, _ := json.Marshal(map[string]int{"checked": len(v.Hex) + len(v.Base64), "bad": bad})
	fmt.Println(string(out))
}
`,
    )
    const env = { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GO111MODULE: 'off', GOFLAGS: '' }
    expectAllMatch(execFileSync('go', ['run', 'signet.go', 'main.go'], { cwd: dir, input: hmacOnly, encoding: 'utf8', env }))
  }, 120_000)
})
