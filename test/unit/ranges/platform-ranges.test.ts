import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rangesForPlatform, type InputFile } from '../../../src/ranges/platform-ranges.ts';

const fixture = (name: string): InputFile => ({ name, text: readFileSync(`test/fixtures/ranges/${name}`, 'utf8') });

const good: Array<{ name: string; platform: string; file?: string; include: string[]; source: string; from?: string[] }> = [
  { name: 'GKE reads clusterIpv4Cidr and servicesIpv4Cidr from describe YAML, once each', platform: 'gke', file: 'gke-describe.yaml',
    include: ['10.4.0.0/14', '34.118.224.0/20'], source: 'file:gke-describe.yaml',
    from: ['gke-describe.yaml:3 clusterIpv4Cidr', 'gke-describe.yaml:11 servicesIpv4Cidr'] },
  { name: 'GKE dual-stack describe JSON adds the IPv6 service block', platform: 'gke', file: 'gke-describe.json',
    include: ['10.8.0.0/14', '10.12.0.0/20', '2600:1900:4000:1234:0:1::/112'], source: 'file:gke-describe.json' },
  { name: 'ICP reads service_cluster_ip_range and network_cidr from config.yaml', platform: 'icp', file: 'icp-config.yaml',
    include: ['10.0.0.0/24', '10.1.0.0/16'], source: 'file:icp-config.yaml',
    from: ['icp-config.yaml:5 network_cidr', 'icp-config.yaml:7 service_cluster_ip_range'] },
  { name: 'minikube reads a dual-stack --service-cluster-ip-range from the apiserver static pod', platform: 'minikube', file: 'kube-apiserver.yaml',
    include: ['10.96.0.0/12', 'fd00:10:96::/112'], source: 'file:kube-apiserver.yaml', from: ['kube-apiserver.yaml:18 --service-cluster-ip-range', 'kube-apiserver.yaml:18 --service-cluster-ip-range'] },
  { name: 'AKS reads serviceCidr(s) and podCidr(s) from az aks show', platform: 'aks', file: 'aks-show.yaml',
    include: ['10.0.0.0/16', '10.244.0.0/16'], source: 'file:aks-show.yaml' },
  { name: 'EKS reads serviceIpv4Cidr from describe-cluster', platform: 'eks', file: 'eks-describe.yaml', include: ['172.20.0.0/16'], source: 'file:eks-describe.yaml' },
  { name: 'auto with a file recognises a describe output', platform: 'auto', file: 'gke-describe.yaml', include: ['10.4.0.0/14', '34.118.224.0/20'], source: 'file:gke-describe.yaml' },
  { name: 'auto with a file recognises an apiserver manifest', platform: 'auto', file: 'kube-apiserver.yaml', include: ['10.96.0.0/12', 'fd00:10:96::/112'], source: 'file:kube-apiserver.yaml' },
  { name: "IKS is the seed's constant", platform: 'iks', include: ['10.10.10.0/24', '172.21.0.0/16', '172.30.0.0/16'], source: 'preset:iks' },
  { name: "ACS is the seed's constant", platform: 'acs', include: ['10.240.0.0/16', '10.244.0.0/16'], source: 'preset:acs' },
  { name: 'minikube without a file gives its documented defaults, labelled as defaults', platform: 'minikube', include: ['10.96.0.0/12', '10.244.0.0/16'], source: 'default:minikube' },
  { name: "kind without a file gives kind's defaults", platform: 'kind', include: ['10.96.0.0/16', '10.244.0.0/16'], source: 'default:kind' },
  { name: "bare metal without a file gives kubeadm's service default", platform: 'bare-metal', include: ['10.96.0.0/12'], source: 'default:bare-metal' },
];

for (const c of good) {
  test(`preset: ${c.name}`, () => {
    const result = rangesForPlatform(c.platform, c.file ? fixture(c.file) : undefined);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.report.include, c.include);
    assert.equal(result.report.source, c.source);
    if (c.from) assert.deepEqual(result.report.found.map((f) => f.from), c.from);
  });
}

test('defaults carry a note saying they were not read from the cluster', () => {
  const result = rangesForPlatform('docker-desktop', undefined);
  assert.ok(result.ok);
  assert.match(result.report.notes.join(), /not read from your cluster.*--from/);
});

const bad: Array<{ name: string; platform: string; input?: InputFile; problem: RegExp }> = [
  { name: 'host bits set name the file, the line, the key and the network meant', platform: 'icp', input: fixture('bad-host-bits.yaml'),
    problem: /^bad-host-bits\.yaml:2: service_cluster_ip_range "10\.0\.0\.1\/24" has host bits set \(the network is 10\.0\.0\.0\/24\)$/ },
  { name: 'a malformed CIDR names the file and the line', platform: 'gke', input: fixture('bad-cidr.yaml'),
    problem: /^bad-cidr\.yaml:2: servicesIpv4Cidr "10\.300\.0\.0\/20" is not a CIDR$/ },
  { name: 'overlapping ranges name both places', platform: 'icp', input: fixture('bad-overlap.yaml'),
    problem: /^bad-overlap\.yaml:2: service_cluster_ip_range 10\.0\.0\.0\/24 overlaps 10\.0\.0\.0\/16 \(bad-overlap\.yaml:1 network_cidr\)$/ },
  { name: 'an empty describe output says what was expected', platform: 'gke', input: fixture('empty.yaml'),
    problem: /^empty\.yaml: empty input \(expected the output of gcloud container clusters describe NAME --format yaml\)$/ },
  { name: 'a file without the keys lists the keys looked for', platform: 'gke', input: { name: 'x.yaml', text: 'name: demo\n' },
    problem: /^x\.yaml: none of servicesIpv4Cidr, .*clusterIpv4Cidr.* found/ },
  { name: 'broken YAML names the line', platform: 'icp', input: { name: 'c.yaml', text: 'a: 1\nb: [\n' }, problem: /^c\.yaml:\d+: not YAML or JSON/ },
  { name: 'an empty value is refused, not skipped', platform: 'icp', input: { name: 'c.yaml', text: 'service_cluster_ip_range: ""\n' },
    problem: /^c\.yaml:1: service_cluster_ip_range is empty$/ },
  { name: 'a platform that does not exist lists the ones that do', platform: 'openshift', problem: /^unknown platform "openshift" \(one of auto, gke, iks/ },
  { name: 'GKE without a file says how to make one', platform: 'gke', problem: /needs --from FILE \(the output of: gcloud container clusters describe/ },
  { name: 'a fixed preset refuses a file rather than ignoring it', platform: 'iks', input: fixture('icp-config.yaml'), problem: /fixed ranges and reads no --from/ },
];

for (const c of bad) {
  test(`bad input: ${c.name}`, () => {
    const result = rangesForPlatform(c.platform, c.input);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.problems[0]!, c.problem);
  });
}
