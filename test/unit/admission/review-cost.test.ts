import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exceedsSeparatorBudget } from '../../../src/admission/review-cost.ts';

const bytes = (text: string): Uint8Array => Buffer.from(text);

test('counts the commas and colons of a body against the budget, strings included', () => {
  assert.equal(exceedsSeparatorBudget(bytes('{"a":1,"b":2}'), 3), false, 'exactly 3');
  assert.equal(exceedsSeparatorBudget(bytes('{"a":1,"b":2,"c":3}'), 3), true);
  assert.equal(exceedsSeparatorBudget(bytes('"a:b,c"'), 1), true, 'inside strings too: a cheap overestimate');
  assert.equal(exceedsSeparatorBudget(bytes(''), 0), false);
});

test('a pod made large by one string stays under a budget that a pod of many labels is over', () => {
  const oneString = bytes(JSON.stringify({ metadata: { annotations: { blob: 'x'.repeat(1_000_000) } } }));
  const manyLabels = bytes(JSON.stringify({ metadata: { labels: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`l${i}`, 'v'])) } }));
  assert.equal(exceedsSeparatorBudget(oneString, 8_192), false);
  assert.equal(exceedsSeparatorBudget(manyLabels, 8_192), true);
});
