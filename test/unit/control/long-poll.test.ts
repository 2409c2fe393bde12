import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldVersion, parseWait, WAKE_BATCH, WaiterSet, withJitter } from '../../../src/control/long-poll.ts';

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

test('a namespace with many waiters is answered in slices, one per turn of the event loop, all of them in order', async () => {
  const set = new WaiterSet(10_000);
  const total = WAKE_BATCH * 3 + 5;
  const woken: number[] = [];
  for (let i = 0; i < total; i += 1) set.add('big', { wake: () => woken.push(i) });
  assert.equal(set.wakeNamespace('big', true), total);
  assert.equal(set.size, 0, 'forgotten at once: a waiter added now waits for the next version');
  assert.equal(woken.length, WAKE_BATCH, 'one slice now');
  for (let turn = 0; turn < 10 && woken.length < total; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(woken, Array.from({ length: total }, (_, i) => i));
});
