// Bundles each peer the way an npm user would: minified ES modules, code-split where the library loads
// parts lazily (only the chunks a page really fetches are counted), same tools and settings for all.
import commonjs from '@rollup/plugin-commonjs'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import replace from '@rollup/plugin-replace'
import terser from '@rollup/plugin-terser'
import { rollup } from 'rollup'

export const PEERS = ['plausible', 'segment', 'snowplow', 'mixpanel', 'posthog']

// signet-npm: Signet's own ES module entry (dist/signet.mjs), bundled the same way.
// plausible-script: Plausible's bundle again as one classic script, for a page that loads it by a
// script element, as tracker.js is loaded (bench/start.mjs), so that start-up compares like for like.
for (const peer of ['signet-npm', ...PEERS, 'plausible-script']) {
  const bundle = await rollup({
    input: new URL(`./peers/${peer == 'plausible-script' ? 'plausible' : peer}.js`, import.meta.url).pathname,
    plugins: [
      replace({ preventAssignment: true, values: { 'process.env.NODE_ENV': JSON.stringify('production') } }),
      nodeResolve({ browser: true }),
      commonjs(),
      terser({ format: { comments: false } }),
    ],
    onwarn: () => {},
  })
  await bundle.write({ dir: new URL(`./build/${peer}/`, import.meta.url).pathname, format: peer == 'plausible-script' ? 'iife' : 'es', entryFileNames: 'index.js' })
  await bundle.close()
}
