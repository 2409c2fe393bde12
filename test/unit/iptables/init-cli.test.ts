import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveCapture } from '../../../src/inject/capture.ts';
import { initArgs } from '../../../src/inject/containers.ts';
import { defaultValues } from '../../../src/inject/values.ts';
import { runMeshgate } from '../../helpers/cli.ts';

test("meshgate init accepts exactly the arguments the injector emits (with its empty -x '')", () => {
  const capture = resolveCapture({ 'traffic.sidecar.istio.io/excludeOutboundPorts': '25' }, defaultValues(), undefined);
  assert.ok(capture.ok);
  const args = initArgs(capture.settings);
  assert.ok(args.includes(''), 'the injector passes an empty exclude list');
  const result = runMeshgate([...args, '--dry-run']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^-A ISTIO_OUTPUT -j ISTIO_REDIRECT$/m);
  assert.match(result.stdout, /^-A ISTIO_OUTPUT -p tcp --dport 25 -j RETURN$/m);
  assert.match(result.stdout, /^-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN$/m);
  assert.equal(result.stdout.match(/^COMMIT$/gm)?.length, 2, 'one table for iptables, one for ip6tables');
});

test('meshgate init refuses bad flags with exit code 2 and names each', () => {
  const result = runMeshgate(['init', '-x', '*', '-p', 'x', '--dry-run']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /-p: invalid port "x"/);
  assert.match(result.stderr, /-x: invalid CIDR "\*"/);
  assert.equal(result.stdout, '');
});

test('meshgate init -i with host bits: the rule carries the CIDR as written, stderr says which network it matches', () => {
  const result = runMeshgate(['init', '-i', '10.0.0.1/24', '-x', '10.0.0.7/30', '--dry-run']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^-A ISTIO_OUTPUT -d 10\.0\.0\.1\/24 -j ISTIO_REDIRECT$/m);
  assert.match(result.stdout, /^-A ISTIO_OUTPUT -d 10\.0\.0\.7\/30 -j RETURN$/m);
  assert.match(result.stderr, /^meshgate init: warning: -i: 10\.0\.0\.1\/24 has host bits set: it is used as written and matches the network 10\.0\.0\.0\/24$/m);
  assert.match(result.stderr, /^meshgate init: warning: -x: 10\.0\.0\.7\/30 has host bits set: .* 10\.0\.0\.4\/30$/m);
});
