// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { csvOf } from '../../src/dashboard/csv'

describe('csvOf', () => {
  it('quotes what needs it, and keeps a sender’s formula from running in a spreadsheet', () => {
    expect(csvOf([['path', 'events'], ['/a,b', '3'], ['say "hi"\nthere', '-2'], ['=HYPERLINK("http://evil.test")', '1'], ['+1', '-0.5'], ['@x', '']])).toBe(
      'path,events\r\n"/a,b",3\r\n"say ""hi""\nthere",-2\r\n"\'=HYPERLINK(""http://evil.test"")",1\r\n\'+1,-0.5\r\n\'@x,\r\n',
    )
  })
})
