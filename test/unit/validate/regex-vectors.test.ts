import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MAX_PROGRAM_SIZE, MAX_REPEAT, measureRegex, regexSizeProblem } from '../../../src/validate/regex-size.ts';
import { checkRe2, MAX_REGEX_LENGTH } from '../../../src/validate/regex.ts';
import { regexProblem } from '../../../src/snapshot/regex.ts';

// The shared regex vectors: `cargo test` (dataplane/tests/regex_limits.rs) reads the same file, so the webhook, the
// snapshot compiler and the Rust data plane cannot drift apart on which regexes they accept.

interface RegexCase { note: string; pattern: string; size: number; rule: 'accept' | 'too-large' | 'bad-repeat' | 'too-long'; valid: boolean }
const vectors = JSON.parse(readFileSync('test/vectors/regex/limits.json', 'utf8')) as {
  limits: { maxProgramSize: number; maxRepeat: number; maxLength: number }; cases: RegexCase[];
};

test('the vectors are written for the limits in force', () => {
  assert.deepEqual(vectors.limits, { maxProgramSize: MAX_PROGRAM_SIZE, maxRepeat: MAX_REPEAT, maxLength: MAX_REGEX_LENGTH });
  for (const rule of ['accept', 'too-large', 'bad-repeat', 'too-long']) assert.ok(vectors.cases.some((c) => c.rule === rule), rule);
});

for (const c of vectors.cases) {
  test(`regex vector ${JSON.stringify(c.pattern.slice(0, 48))}: ${c.note}`, () => {
    assert.equal(measureRegex(c.pattern).size, c.size, 'estimated program size');
    const rule = c.pattern.length > MAX_REGEX_LENGTH ? 'too-long' : regexSizeProblem(c.pattern)?.startsWith('invalid repeat') ? 'bad-repeat'
      : regexSizeProblem(c.pattern) ? 'too-large' : 'accept';
    assert.equal(rule, c.rule);
    assert.equal(checkRe2(c.pattern) === undefined, c.valid, checkRe2(c.pattern));
    assert.equal(regexProblem(c.pattern), checkRe2(c.pattern), 'the snapshot compiler applies the same rule');
  });
}
