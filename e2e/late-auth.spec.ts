import { expect, test, TOKEN } from './fixtures'

// Issue 14: GoSquared's pages call identify, and auth comes from the server, sometimes in a later
// script tag, after the tracker has sent the identify event and the first pageview. With the
// collector in enforce mode, every event of the person arrives signed, none twice, none lost.
const js = JSON.stringify

for (const delay of [0, 400, 1500, 5000])
  for (const where of ['the same script', 'a later script tag'] as const)
    test(`auth ${delay} ms after identify, in ${where}`, async ({ page, site, sign, collector, warnings }) => {
      const id = `late-${delay}-${where == 'the same script' ? 'same' : 'later'}`
      const rejected: unknown[] = []
      await page.exposeFunction('reportRejected', (r: unknown) => rejected.push(r))
      const auth = `setTimeout(function () { _gs('auth', ${js(sign(id))}) }, ${delay});`
      await page.goto(
        site.snippetPage(
          `_gs(${js(TOKEN)}); _gs('on', 'rejected', reportRejected); _gs('identify', {id: ${js(id)}}); _gs('event', 'first'); ${where == 'the same script' ? auth : ''}`,
          where == 'a later script tag' ? `<script>${auth}</script>` : '',
        ),
      )
      await page.waitForTimeout(delay)
      await page.evaluate(() => (window as unknown as { _gs: (...a: unknown[]) => void })._gs('event', 'after-auth'))
      await expect
        .poll(async () => (await collector.events()).filter((e) => e.personId == id).map((e) => e.name || e.type).sort(), { timeout: 15_000 })
        .toEqual(['after-auth', 'first', 'identify', 'pageview'])
      const mine = (await collector.events()).filter((e) => e.personId == id)
      expect(mine.every((e) => e.verdict == 'verified')).toBe(true)
      expect(new Set(mine.map((e) => e.id)).size).toBe(mine.length)
      expect(rejected).toEqual([])
      expect(warnings).toEqual([])
    })
