// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { deviceParser, deviceParts } from '../../src/server/verify/device'

// Issue 34: the console's browsers, systems and device types, from each request's User-Agent.
describe('deviceParser', () => {
  const label = deviceParser()
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'Firefox|Linux|desktop'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36', 'Chrome Headless|Linux|desktop'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari|Mac OS|desktop'],
    ['Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', 'Mobile Safari|iOS|tablet'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome|Android|mobile'],
    ['curl/8.5.0', 'unknown|unknown|unknown'],
  ])('%s is %s', (header, expected) => {
    expect(label(header)).toBe(expected)
    expect(deviceParts(label(header))).toEqual(expected.split('|'))
  })

  it('is undefined without a header, and bounded whatever the header holds', () => {
    for (const none of [undefined, '', '   ', 7, ['Firefox']]) expect(label(none)).toBeUndefined()
    // A separator in a name would split the label: it is replaced.
    expect(deviceParts(label('Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0' + '|'.repeat(10_000)))).toHaveLength(3)
    // A scanner's new header every request: each a label of three parts.
    for (let i = 0; i < 3000; i++) expect(deviceParts(label(`scanner-${i} ${'x'.repeat(2000)}`))).toHaveLength(3)
  })

  it('reads only labels back', () => {
    for (const bad of [undefined, 3, '', 'a|b', 'a||c', 'a|b|c|d']) expect(deviceParts(bad)).toBeUndefined()
  })
})
