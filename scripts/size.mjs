// Prints what a site downloads: the snippet it pastes and the tracker it loads.
import { readFileSync } from 'node:fs'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const read = (f) => readFileSync(new URL(`../dist/${f}`, import.meta.url))
const snippet = read('snippet.min.js')
const tracker = read('tracker.js')
const gzip = gzipSync(tracker, { level: 9 }).length
const brotli = brotliCompressSync(tracker, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length

console.log(`dist/snippet.min.js  ${snippet.length} B`)
console.log(`dist/tracker.js      ${tracker.length} B minified, ${gzip} B gzip -9, ${brotli} B brotli`)
