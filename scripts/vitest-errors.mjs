// A vitest reporter for npm test's summary (scripts/test.mjs): writes the run's errors outside any
// test (an unhandled rejection, which fails the run though every test passed) to the JSON file
// SIGNET_VITEST_ERRORS names, as a list of { file, message }. vitest's JSON report has no place for them.
import { writeFileSync } from 'node:fs'

export default class VitestErrors {
  onTestRunEnd(_modules, errors) {
    const out = errors.map((e) => ({ file: e?.VITEST_TEST_PATH, message: `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}` }))
    writeFileSync(process.env.SIGNET_VITEST_ERRORS, JSON.stringify(out))
  }
}
