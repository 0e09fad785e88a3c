// Sums vitest JSON reports into the one closing line CI reads: "N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';

const firstLine = (text) =>
  String(text ?? '')
    .split('\n')[0]
    .slice(0, 300);

let passed = 0;
let failed = 0;
let skipped = 0;
// Each failure by file and title, printed just above the summary: a log shown only by its tail still
// says what failed.
const failures = [];
for (const file of process.argv.slice(2)) {
  if (!fs.existsSync(file)) {
    console.error(`no report at ${file}: counted as one failure`);
    failed++;
    continue;
  }
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that failed to load counts as a failure even when it reported no test.
  for (const suite of report.testResults ?? []) {
    const where = path.relative(process.cwd(), suite.name ?? '');
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) {
      failed++;
      failures.push(`${where}: did not load: ${firstLine(suite.message)}`);
    }
    for (const test of suite.assertionResults ?? []) {
      if (test.status === 'failed')
        failures.push(`${where}: ${test.fullName ?? test.title}: ${firstLine(test.failureMessages?.[0])}`);
    }
  }
}
if (failures.length) console.log(['failed:', ...failures.map((f) => `  ${f}`)].join('\n'));
// Skipped tests are told on a line of their own: the last line is always the plain summary.
if (skipped) console.log(`(${skipped} skipped: each skipping file printed why)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
