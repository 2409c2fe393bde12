import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkCidrList, type Cidr } from '../../../src/ranges/cidr.ts';
import { normalizeToStrings } from '../../../src/ranges/normalize.ts';
import { rangesForPlatform, type InputFile } from '../../../src/ranges/platform-ranges.ts';
import { formatReport } from '../../../src/ranges/report.ts';

const fixture = (name: string): InputFile => ({ name, text: readFileSync(`test/fixtures/ranges/${name}`, 'utf8') });

const good: Array<{ name: string; platform: string; file?: string; include: string[]; source: string; from?: string[] }> = [
  { name: 'GKE reads clusterIpv4Cidr and servicesIpv4Cidr from describe YAML, once each', platform: 'gke', file: 'gke-describe.yaml',
    include: ['10.4.0.0/14', '34.118.224.0/20'], source: 'file:gke-describe.yaml',
    from: ['gke-describe.yaml:3 clusterIpv4Cidr', 'gke-describe.yaml:11 servicesIpv4Cidr'] },
  { name: 'GKE dual-stack describe JSON adds the IPv6 service block', platform: 'gke', file: 'gke-describe.json',
    include: ['10.8.0.0/14', '10.12.0.0/20', '2600:1900:4000:1234:0:1::/112'], source: 'file:gke-describe.json' },
  { name: 'ICP reads service_cluster_ip_range and network_cidr from config.yaml', platform: 'icp', file: 'icp-config.yaml',
    include: ['10.1.0.0/16', '10.0.0.0/24'], source: 'file:icp-config.yaml',
    from: ['icp-config.yaml:5 network_cidr', 'icp-config.yaml:7 service_cluster_ip_range'] },
  { name: 'minikube reads a dual-stack --service-cluster-ip-range from the apiserver static pod', platform: 'minikube', file: 'kube-apiserver.yaml',
    include: ['10.96.0.0/12', 'fd00:10:96::/112'], source: 'file:kube-apiserver.yaml', from: ['kube-apiserver.yaml:18 --service-cluster-ip-range', 'kube-apiserver.yaml:18 --service-cluster-ip-range'] },
  { name: 'AKS reads serviceCidr(s) and podCidr(s) from az aks show', platform: 'aks', file: 'aks-show.yaml',
    include: ['10.244.0.0/16', '10.0.0.0/16'], source: 'file:aks-show.yaml' },
  { name: 'EKS reads serviceIpv4Cidr from describe-cluster', platform: 'eks', file: 'eks-describe.yaml', include: ['172.20.0.0/16'], source: 'file:eks-describe.yaml' },
  { name: 'auto with a file recognises a describe output', platform: 'auto', file: 'gke-describe.yaml', include: ['10.4.0.0/14', '34.118.224.0/20'], source: 'file:gke-describe.yaml' },
  { name: 'auto with a file recognises an apiserver manifest', platform: 'auto', file: 'kube-apiserver.yaml', include: ['10.96.0.0/12', 'fd00:10:96::/112'], source: 'file:kube-apiserver.yaml' },
  { name: "IKS is the seed's constant", platform: 'iks', include: ['172.30.0.0/16', '172.21.0.0/16', '10.10.10.0/24'], source: 'preset:iks' },
  { name: "ACS is the seed's constant", platform: 'acs', include: ['10.244.0.0/16', '10.240.0.0/16'], source: 'preset:acs' },
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
  { name: 'a malformed CIDR names the file and the line', platform: 'gke', input: fixture('bad-cidr.yaml'),
    problem: /^bad-cidr\.yaml:2: servicesIpv4Cidr "10\.300\.0\.0\/20" is not a CIDR$/ },
  { name: 'a prefix longer than the address (/99) names the file and the line', platform: 'gke', input: fixture('bad-prefix.yaml'),
    problem: /^bad-prefix\.yaml:2: servicesIpv4Cidr "10\.4\.0\.0\/99" is not a CIDR$/ },
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

// Istio's "Egress: direct access to external services" task, one row per platform: the task's own input (what its
// grep prints) and the exact value it passes to `--set global.proxy.includeIPRanges=`.
const taskRows: Array<{ platform: string; input?: string; taskValue: string; printed: string; warning?: RegExp; note?: RegExp }> = [
  { platform: 'icp', input: 'task-icp-grep.txt', taskValue: '10.0.0.1/24', printed: '10.0.0.1/24',
    warning: /^10\.0\.0\.1\/24 has host bits set: it is used as written and matches the network 10\.0\.0\.0\/24 \(task-icp-grep\.txt:1 service_cluster_ip_range\)$/ },
  { platform: 'iks', taskValue: '172.30.0.0/16\\,172.21.0.0/16\\,10.10.10.0/24', printed: '172.30.0.0/16\\,172.21.0.0/16\\,10.10.10.0/24' },
  // The task passes both GKE blocks; the service block lies inside the pod block, so one range covers the same addresses.
  { platform: 'gke', input: 'task-gke-grep.txt', taskValue: '10.4.0.0/14\\,10.7.240.0/20', printed: '10.4.0.0/14',
    note: /^10\.7\.240\.0\/20 merged into 10\.4\.0\.0\/14$/ },
  { platform: 'acs', taskValue: '10.244.0.0/16\\,10.240.0.0/16', printed: '10.244.0.0/16\\,10.240.0.0/16' },
  { platform: 'minikube', input: 'task-apiserver-grep.txt', taskValue: '10.96.0.0/12', printed: '10.96.0.0/12' },
  { platform: 'docker-desktop', input: 'task-apiserver-grep.txt', taskValue: '10.96.0.0/12', printed: '10.96.0.0/12' },
  { platform: 'bare-metal', input: 'task-apiserver-grep.txt', taskValue: '10.96.0.0/12', printed: '10.96.0.0/12' },
];

for (const row of taskRows) {
  test(`egress task row ${row.platform}: --format helm prints ${row.printed}, covering exactly the task's ${row.taskValue}`, () => {
    const result = rangesForPlatform(row.platform, row.input ? fixture(row.input) : undefined);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(formatReport(result.report, 'helm'), `${row.printed}\n`);
    // The task's own value is accepted where values and annotations are parsed, and names the same addresses.
    const taskList = checkCidrList(row.taskValue.replaceAll('\\,', ','), true);
    assert.ok(taskList.ok, `the task's value is refused: ${JSON.stringify(taskList)}`);
    assert.deepEqual(normalizeToStrings(taskList.cidrs), normalizeToStrings(checkCidrListOk(result.report.include.join(','))));
    if (row.warning) assert.match(result.report.warnings.join('\n'), row.warning);
    else assert.deepEqual(result.report.warnings, []);
    if (row.note) assert.ok(result.report.notes.some((n) => row.note!.test(n)), result.report.notes.join('\n'));
  });
}

function checkCidrListOk(value: string): Cidr[] {
  const check = checkCidrList(value, false);
  assert.ok(check.ok, value);
  return check.cidrs;
}
