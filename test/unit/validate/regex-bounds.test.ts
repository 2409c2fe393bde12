import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuUsage } from 'node:process';
import { checkRe2, estimateExpansion, MAX_PROGRAM_SIZE, MAX_REGEXES_PER_OBJECT, withRegexBudget } from '../../../src/validate/regex.ts';
import { createAdmissionHandler } from '../../../src/admission/handler.ts';
import { defaultValues } from '../../../src/inject/values.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { httpRoute, virtualService } from '../../helpers/mesh.ts';

// Issue 15, defect 1: a counted repetition made re2js expand a 17-byte regex into ~5,000 instructions (0.1-0.5 s of
// compile each). Envoy refuses programs over re2.max_program_size (default 100); so does the webhook, without
// compiling what is obviously over.

test('a repetition bomb is refused as over Envoy\'s program-size limit', () => {
  const problem = checkRe2('x1(?:ab|cd){1000}');
  assert.match(problem ?? '', /re2\.max_program_size of 100/);
});

test('a regex just over the limit once compiled is refused with its exact program size', () => {
  // [a-z]{1,63} compiles to 127 instructions: Envoy's default limit refuses it.
  assert.match(checkRe2('[a-z]{1,63}') ?? '', /program size 127 exceeds/);
  assert.equal(checkRe2('^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'), undefined, 'a UUID pattern fits');
});

test('nested repetitions are refused by the estimate, never expanded', () => {
  assert.ok(estimateExpansion('(?:(?:a{1000}){1000}){1000}') > 1e9);
  assert.match(checkRe2('(?:(?:a{1000}){1000}){1000}') ?? '', /more than 10\^12|about \d+ instructions/);
});

test('the estimate follows the compiled size for ordinary patterns', () => {
  for (const pattern of ['^/api/v[0-9]+/.*$', '(?i)abc', '\\Qa.b\\E', '[]a]+', '(?P<name>x)+', 'a{0}']) {
    const estimate = estimateExpansion(pattern);
    assert.ok(estimate <= MAX_PROGRAM_SIZE, `${pattern}: ${estimate}`);
    assert.equal(checkRe2(pattern), undefined, pattern);
  }
});

test(`one object holds at most ${MAX_REGEXES_PER_OBJECT} regexes; outside a budget none is counted`, () => {
  const problems = withRegexBudget(() => Array.from({ length: MAX_REGEXES_PER_OBJECT + 1 }, (_, i) => checkRe2(`^r${i}$`)));
  assert.equal(problems.filter((p) => p !== undefined).length, 1);
  assert.match(problems.at(-1) ?? '', /too many regexes in one object/);
  assert.equal(checkRe2(`^r${MAX_REGEXES_PER_OBJECT}$`), undefined);
});

test('regexes near the limit exhaust the per-object work budget before 200 of them compile', () => {
  const problems = withRegexBudget(() => Array.from({ length: 400 }, (_, i) => checkRe2(`q${i}[a-z]{190}`)));
  const budgetRefusals = problems.filter((p) => p?.includes('too large together'));
  assert.ok(budgetRefusals.length >= 200, `${budgetRefusals.length} refused by the budget`);
});

test('the issue\'s 10.8 KB VirtualService (ten distinct bombs) is denied within 50 ms of CPU', () => {
  const handle = createAdmissionHandler({ values: defaultValues, clusterRanges: () => undefined, logger: silentLogger() });
  const routes = Array.from({ length: 10 }, (_, i) => httpRoute({ match: [{ uri: { regex: `x${i}${'(?:ab|cd){1000}'.repeat(60)}` } }] }));
  const object = virtualService({ hosts: ['bomb.example.com'], http: routes });
  const body = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u1', kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' }, namespace: 'default', operation: 'CREATE', object } };
  assert.ok(JSON.stringify(body).length > 10_000);
  const before = cpuUsage();
  const result = handle('/validate', body) as { status: number; body: { response: { allowed: boolean; status: { message: string } } } };
  const used = cpuUsage(before);
  const ms = (used.user + used.system) / 1000;
  assert.equal(result.status, 200);
  assert.equal(result.body.response.allowed, false);
  assert.match(result.body.response.status.message, /spec\.http\[9\]\.match\[0\]\.uri\.regex: regex program is too large/);
  assert.ok(ms < 50, `the review used ${ms.toFixed(1)} ms of CPU`);
});
