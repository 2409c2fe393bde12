import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldVersion, parseWait, WaiterSet, withJitter } from '../../../src/control/long-poll.ts';

test('wait: durations in ms, s, m or bare seconds, capped; anything else is an error', () => {
  assert.deepEqual(parseWait('30s'), { ms: 30_000 });
  assert.deepEqual(parseWait('2m'), { ms: 120_000 });
  assert.deepEqual(parseWait('500ms'), { ms: 500 });
  assert.deepEqual(parseWait('7'), { ms: 7000 });
  assert.deepEqual(parseWait(null), { ms: 0 });
  assert.deepEqual(parseWait('99m'), { ms: 300_000 });
  for (const bad of ['-1s', '1h', '1.5s', 'soon', '99999999s']) assert.ok('error' in parseWait(bad), bad);
});

test('jitter adds at most 1/16', () => {
  assert.equal(withJitter(16_000, () => 0), 16_000);
  assert.equal(withJitter(16_000, () => 0.999), 16_999);
});

test('If-None-Match: quoted, weak or bare', () => {
  assert.equal(heldVersion('"abc"'), 'abc');
  assert.equal(heldVersion('W/"abc"'), 'abc');
  assert.equal(heldVersion('abc'), 'abc');
  assert.equal(heldVersion(undefined), undefined);
  assert.equal(heldVersion('""'), undefined);
});

test('waiters are bounded, woken per namespace once, and removable', () => {
  const counts: number[] = [];
  const set = new WaiterSet(2, (n) => counts.push(n));
  const woken: string[] = [];
  const a = { wake: (c: boolean) => woken.push(`a:${c}`) };
  const b = { wake: (c: boolean) => woken.push(`b:${c}`) };
  assert.equal(set.add('x', a), true);
  assert.equal(set.add('y', b), true);
  assert.equal(set.add('y', { wake: () => undefined }), false);
  assert.equal(set.wakeNamespace('x', true), 1);
  assert.equal(set.wakeNamespace('x', true), 0);
  set.remove('y', b);
  set.remove('y', b);
  assert.equal(set.size, 0);
  assert.deepEqual(woken, ['a:true']);
  assert.deepEqual(counts, [1, 2, 1, 0]);
});
