import { PUBLIC_NAMES } from './public-names.mjs'

// How the browser files are minified: every internal property name is shortened (mangle.properties);
// the names other code reads or writes (wire keys, stored records, options, handler payloads,
// vendor globals) are kept. Shared by rollup.config.mjs and bench/feature-cost.mjs.
export const terserOptions = (mangleProperties = true) => ({
  ecma: 2017,
  toplevel: true,
  // inline: 1 (only simple functions): measured, inlining the rest as IIFEs cost bytes (4,648 against 4,629 B gzip).
  compress: { passes: 5, unsafe_arrows: true, unsafe_methods: true, pure_getters: true, inline: 1, keep_fargs: false },
  mangle: mangleProperties && { properties: { reserved: PUBLIC_NAMES } },
  // ASCII only: a script served without a charset is read in the page's encoding, which may not be UTF-8.
  format: { comments: false, ascii_only: true },
})
