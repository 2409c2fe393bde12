import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reviewInjection } from '../../../src/admission/inject-review.ts';
import { loadValuesFile, valuesFromDocument } from '../../../src/inject/values.ts';
import type { PodLike } from '../../../src/k8s/types.ts';
import { runMeshgate } from '../../helpers/cli.ts';

// A CIDR written with host bits (`10.96.0.1/24`) is valid, as in Istio, and passed to iptables as written; the user
// is told which network it matches: as AdmissionReview warnings when a pod annotation carries it, and once at load
// (a line naming the key) when the injector values carry it.

const INCLUDE = 'traffic.sidecar.istio.io/includeOutboundIPRanges';
const EXCLUDE = 'traffic.sidecar.istio.io/excludeOutboundIPRanges';

function review(annotations: Record<string, string>, values = valuesFromDocument({}, 'test')) {
  const pod: PodLike = { metadata: { name: 'p', annotations }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
  return reviewInjection({ uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'default', object: pod }, {
    values: () => values, clusterRanges: () => undefined,
  });
}

function initArgsOf(response: { patch?: string }): string[] {
  const patch = JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString()) as Array<{ path: string; value: unknown }>;
  const containers = patch.flatMap((op) => (Array.isArray(op.value) ? op.value : [op.value])) as Array<{ name?: string; args?: string[] }>;
  return containers.find((c) => c?.name === 'istio-init')?.args ?? [];
}

test('annotation CIDRs with host bits: allowed, passed to iptables as written, one warning each naming the annotation and the network', () => {
  const { response } = review({ [INCLUDE]: '10.96.0.1/24,10.0.0.0/8', [EXCLUDE]: '192.168.1.7/16' });
  assert.equal(response.allowed, true);
  assert.deepEqual(response.warnings, [
    `metadata.annotations[${INCLUDE}]: 10.96.0.1/24 has host bits set: it is used as written and matches the network 10.96.0.0/24`,
    `metadata.annotations[${EXCLUDE}]: 192.168.1.7/16 has host bits set: it is used as written and matches the network 192.168.0.0/16`,
  ]);
  const args = initArgsOf(response);
  assert.equal(args[args.indexOf('-i') + 1], '10.96.0.1/24,10.0.0.0/8');
  assert.equal(args[args.indexOf('-x') + 1], '192.168.1.7/16');
});

test('canonical annotation CIDRs give no warning', () => {
  const { response } = review({ [INCLUDE]: '10.96.0.0/24' });
  assert.equal(response.allowed, true);
  assert.equal(response.warnings, undefined);
});

test('host bits in the values are not repeated on every pod (they are reported once, when the values load)', () => {
  const values = valuesFromDocument({ global: { proxy: { includeIPRanges: '10.0.0.1/24' } } }, 'test', () => undefined);
  const { response } = review({}, values);
  assert.equal(response.allowed, true);
  assert.equal(response.warnings, undefined);
});

test('values with host bits load, kept as written, with one warning per key naming it and the network', () => {
  const seen: string[] = [];
  const values = valuesFromDocument({ global: { proxy: { includeIPRanges: '10.0.0.1/24', excludeIPRanges: '10.1.2.3/16,10.2.0.0/16' } } }, 'values.yaml', (m) => seen.push(m));
  assert.equal(values.global.proxy.includeIPRanges, '10.0.0.1/24');
  assert.deepEqual(seen, [
    'values.yaml: global.proxy.includeIPRanges: 10.0.0.1/24 has host bits set: it is used as written and matches the network 10.0.0.0/24',
    'values.yaml: global.proxy.excludeIPRanges: 10.1.2.3/16 has host bits set: it is used as written and matches the network 10.1.0.0/16',
  ]);
  const quiet: string[] = [];
  valuesFromDocument({ global: { proxy: { includeIPRanges: '10.0.0.0/24' } } }, 'values.yaml', (m) => quiet.push(m));
  assert.deepEqual(quiet, []);
});

test('a values file with host bits: the loader says so on stderr by default (kube-inject --values, webhook --values)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-hostbits-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, 'global:\n  proxy:\n    includeIPRanges: "10.0.0.1/24"\n');
    const seen: string[] = [];
    loadValuesFile(file, (m) => seen.push(m));
    assert.equal(seen.length, 1);
    const result = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--values', file]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /^warning: injector values: .*values\.yaml: global\.proxy\.includeIPRanges: 10\.0\.0\.1\/24 has host bits set: .* 10\.0\.0\.0\/24$/m);
    assert.match(result.stdout, /^\s+- 10\.0\.0\.1\/24$/m, 'passed to istio-init (-i) as written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
