// Prints one plain line "N passed, N failed[, N skipped]" from vitest JSON reports; exits 1 if any failed or a report is missing.
import { existsSync, readFileSync } from 'node:fs'

let passed = 0
let failed = 0
let skipped = 0
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`missing test report ${file}: the run crashed before reporting`)
    failed += 1
    continue
  }
  const report = JSON.parse(readFileSync(file, 'utf8'))
  passed += report.numPassedTests
  failed += report.numFailedTests
  skipped += report.numPendingTests + report.numTodoTests
  // a file that fails to load has no tests in the counts but is a failure
  failed += report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
