import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runMeshgate } from '../helpers/cli.ts';
import { unreachableKubeconfig } from '../helpers/unreachable-cluster.ts';

const fixtures = 'test/fixtures/ranges';

test('GKE describe output as csv: the value on stdout, each range and its line on stderr', () => {
  const result = runMeshgate(['ranges', '--platform', 'gke', '--from', `${fixtures}/gke-describe.yaml`]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '10.4.0.0/14,34.118.224.0/20\n');
  assert.match(result.stderr, /# 10\.4\.0\.0\/14 \(pod\) from .*gke-describe\.yaml:3 clusterIpv4Cidr/);
  assert.match(result.stderr, /# 34\.118\.224\.0\/20 \(service\) from .*gke-describe\.yaml:11 servicesIpv4Cidr/);
});

test("GKE as the egress task shows it: the service block inside the pod block is merged, exit 0", () => {
  const result = runMeshgate(['ranges', '--platform', 'gke', '--from', `${fixtures}/task-gke-grep.txt`]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '10.4.0.0/14\n');
  assert.match(result.stderr, /# note: 10\.7\.240\.0\/20 merged into 10\.4\.0\.0\/14/);
});

test("ICP as the egress task shows it: 10.0.0.1/24 printed as written, a warning names the network, exit 0", () => {
  const result = runMeshgate(['ranges', '--platform', 'icp', '--from', `${fixtures}/task-icp-grep.txt`, '--format', 'helm']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '10.0.0.1/24\n');
  assert.match(result.stderr, /# warning: 10\.0\.0\.1\/24 has host bits set: .* the network 10\.0\.0\.0\/24/);
});

test('--format helm escapes the commas for --set', () => {
  const result = runMeshgate(['ranges', '--platform', 'iks', '--format', 'helm']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '172.30.0.0/16\\,172.21.0.0/16\\,10.10.10.0/24\n');
});

test('--format json carries the ranges, the source and the evidence; stdin works with --from -', () => {
  const result = runMeshgate(['ranges', '--platform', 'icp', '--from', '-', '--format', 'json'], readFileSync(`${fixtures}/icp-config.yaml`, 'utf8'));
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.deepEqual(report.include, ['10.1.0.0/16', '10.0.0.0/24']);
  assert.equal(report.source, 'file:<stdin>');
  assert.deepEqual(report.found.map((f: { from: string }) => f.from), ['<stdin>:5 network_cidr', '<stdin>:7 service_cluster_ip_range']);
});

const usageErrors: Array<{ name: string; args: string[]; stderr: RegExp }> = [
  { name: 'a platform that does not exist', args: ['--platform', 'openshift'], stderr: /unknown platform "openshift"/ },
  { name: 'a format that does not exist', args: ['--platform', 'iks', '--format', 'yaml'], stderr: /unknown format "yaml"/ },
  { name: 'a malformed CIDR in the input file', args: ['--platform', 'gke', '--from', `${fixtures}/bad-cidr.yaml`], stderr: /bad-cidr\.yaml:2: servicesIpv4Cidr "10\.300\.0\.0\/20" is not a CIDR/ },
  { name: 'a prefix longer than the address', args: ['--platform', 'gke', '--from', `${fixtures}/bad-prefix.yaml`], stderr: /bad-prefix\.yaml:2: servicesIpv4Cidr "10\.4\.0\.0\/99" is not a CIDR/ },
  { name: 'an empty describe output', args: ['--platform', 'gke', '--from', `${fixtures}/empty.yaml`], stderr: /empty\.yaml: empty input/ },
  { name: 'a missing file', args: ['--platform', 'gke', '--from', `${fixtures}/nope.yaml`], stderr: /nope\.yaml: no such file/ },
  { name: 'GKE without its describe output', args: ['--platform', 'gke'], stderr: /needs --from FILE/ },
];

for (const c of usageErrors) {
  test(`usage error, exit 2 and nothing on stdout: ${c.name}`, () => {
    const result = runMeshgate(['ranges', ...c.args]);
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stdout, '', 'never a silent * (or anything else) on stdout');
    assert.match(result.stderr, c.stderr);
  });
}

test('auto against a cluster that cannot be reached: exit 1, no ranges printed, the fallback named', async () => {
  const kubeconfig = await unreachableKubeconfig();
  try {
    const result = runMeshgate(['ranges', '--kubeconfig', kubeconfig.path]);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /no service range found \(ServiceCIDR: list servicecidrs: fetch failed \(ECONNREFUSED\)/);
    assert.match(result.stderr, /would fall back to '\*'/);
  } finally {
    kubeconfig.cleanup();
  }
});
