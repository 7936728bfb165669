// A benchmark's progress, as a bar on stderr (cli-progress): shown on a terminal only, never under
// CI or when stderr goes to a file, so that logs and the results printed on stdout stay as they were.
import cliProgress from 'cli-progress'

const live = () => !!process.stderr.isTTY && !process.env.CI

/**
 * Steps of one phase: `tick(what, n)` after each (what: the step just done, shown beside the bar;
 * n: how many steps it was, default 1), `stop()` at the end, which clears the bar.
 */
export function progress(phase, total) {
  if (!live()) return { tick() {}, stop() {} }
  const bar = new cliProgress.SingleBar(
    { format: `${phase} [{bar}] {value}/{total} · {duration_formatted}, about {eta_formatted} left · {step}`, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  )
  bar.start(total, 0, { step: '' })
  return {
    tick: (step = '', n = 1) => bar.increment(n, { step }),
    stop: () => bar.stop(),
  }
}
