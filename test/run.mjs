// Runs the test files of the named suites (folders under test/) with node:test, and fails when there are none:
// node:test given no files passes silently, which would turn a broken glob into a green CI.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const suites = process.argv.slice(2);
if (suites.length === 0) {
  console.error('usage: node test/run.mjs SUITE... (folders or test files under test/)');
  process.exit(2);
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return dir.endsWith('.test.ts') ? [dir] : [];
  return readdirSync(dir).sort().flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findTests(path);
    return entry.endsWith('.test.ts') ? [path] : [];
  });
}

const files = suites.flatMap((suite) => findTests(join('test', suite)));
if (files.length === 0) {
  console.error(`no test files found in ${suites.map((s) => `test/${s}`).join(', ')}`);
  process.exit(1);
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, [
  '--import', 'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=./test/summary-reporter.mjs', '--test-reporter-destination=stdout',
  ...files,
], { stdio: 'inherit' });
process.exit(result.status ?? 1);
