import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DiscoveryResult } from '../../../src/ranges/discovery.ts';
import { createRangesRefresher } from '../../../src/ranges/refresher.ts';
import { buildReport } from '../../../src/ranges/report.ts';
import { silentLogger } from '../../../src/observability/logger.ts';

const success = (cidr: string): DiscoveryResult =>
  ({ ok: true, report: buildReport([{ cidr, kind: 'service', from: 'ServiceCIDR/kubernetes' }], 'discovery:ServiceCIDR'), attempts: [] });
const failure: DiscoveryResult = { ok: false, reason: 'no service range found (ServiceCIDR: HTTP 403: forbidden)', failureKind: 'forbidden', attempts: [] };

function refresherOver(results: Array<DiscoveryResult | 'hang'>, timeoutMs = 1000) {
  const failures: string[] = [];
  let calls = 0;
  const refresher = createRangesRefresher({
    discover: () => {
      const next = results[Math.min(calls, results.length - 1)]!;
      calls += 1;
      return next === 'hang' ? new Promise<DiscoveryResult>(() => undefined) : Promise.resolve(next);
    },
    ttlMs: 3_600_000,
    timeoutMs,
    logger: silentLogger(),
    onFailure: (kind) => failures.push(kind),
  });
  return { refresher, failures, calls: () => calls };
}

test('nothing is known before the first discovery', () => {
  assert.equal(refresherOver([success('10.96.0.0/12')]).refresher.current(), undefined);
});

test('a first discovery sets the ranges and their source', async () => {
  const { refresher } = refresherOver([success('10.96.0.0/12')]);
  await refresher.start();
  refresher.stop();
  assert.deepEqual(refresher.current(), { include: '10.96.0.0/12', source: 'discovery:ServiceCIDR' });
});

test('a first failure captures everything, says why in the source and is counted', async () => {
  const { refresher, failures } = refresherOver([failure]);
  await refresher.start();
  refresher.stop();
  assert.deepEqual(refresher.current(), { include: '*', source: 'fallback:no service range found (ServiceCIDR: HTTP 403: forbidden)' });
  assert.deepEqual(failures, ['forbidden']);
});

test('a later failure keeps the last discovered ranges, and is still counted', async () => {
  const { refresher, failures } = refresherOver([success('10.96.0.0/12'), failure]);
  await refresher.refresh('start');
  await refresher.refresh('ttl');
  assert.equal(refresher.current()?.include, '10.96.0.0/12');
  assert.deepEqual(failures, ['forbidden']);
});

test('a hung discovery times out into the fallback', async () => {
  const { refresher, failures } = refresherOver(['hang'], 50);
  await refresher.refresh('start');
  assert.equal(refresher.current()?.include, '*');
  assert.match(refresher.current()!.source, /^fallback:discovery took longer than 50 ms/);
  assert.deepEqual(failures, ['timeout']);
});

test('refreshes asked for during a run are coalesced into one more run', async () => {
  const { refresher, calls } = refresherOver([success('10.96.0.0/12'), success('10.96.0.0/11')]);
  const first = refresher.refresh('start');
  void refresher.refresh('ServiceCIDR changed');
  void refresher.refresh('ServiceCIDR changed');
  await first;
  assert.equal(calls(), 2);
  assert.equal(refresher.current()?.include, '10.96.0.0/11');
});
