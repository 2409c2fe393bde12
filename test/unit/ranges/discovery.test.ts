import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoverRanges } from '../../../src/ranges/discovery.ts';
import { RangesApiError, type RangesApi } from '../../../src/ranges/ranges-api.ts';

// A fake cluster: each call returns its canned answer or throws it. Unset calls answer "nothing there".
interface FakeCluster {
  serviceCidrs?: Array<{ name: string; cidrs: string[] }> | Error;
  pods?: Record<string, Array<{ name: string; args: string[] }>> | Error;
  dryRun?: Record<string, string | undefined> | Error;
  nodes?: Array<{ name: string; podCIDRs: string[] }> | Error;
  configMaps?: Record<string, Record<string, string>> | Error;
}

function fakeApi(cluster: FakeCluster): RangesApi & { dryRuns: string[] } {
  const answer = <T>(value: T | Error | undefined, empty: T): Promise<T> =>
    value instanceof Error ? Promise.reject(value) : Promise.resolve(value ?? empty);
  const dryRuns: string[] = [];
  return {
    dryRuns,
    listServiceCidrs: () => answer(cluster.serviceCidrs, []),
    listPodArgs: async (namespace, selector) => (await answer(cluster.pods, {}))[`${namespace}/${selector}`] ?? [],
    dryRunServiceError: async (ip) => {
      dryRuns.push(ip);
      const table = await answer(cluster.dryRun, {});
      return Object.hasOwn(table, ip) ? table[ip] : 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster';
    },
    listNodePodCidrs: () => answer(cluster.nodes, []),
    readConfigMap: async (namespace, name) => (await answer(cluster.configMaps, {}))[`${namespace}/${name}`],
  };
}

const notServed = new RangesApiError('list servicecidrs: the server could not find the requested resource', 404);
const forbidden = new RangesApiError('forbidden: User "system:serviceaccount:istio-system:meshgate" cannot list resource', 403);
const rangeError = (ip: string, range: string) =>
  `spec.clusterIPs: Invalid value: ["${ip}"]: failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${range}`;

const cases: Array<{ name: string; cluster: FakeCluster; include: string[]; source: string }> = [
  { name: 'ServiceCIDR objects win, dual-stack, every object counted',
    cluster: { serviceCidrs: [{ name: 'kubernetes', cidrs: ['10.96.0.0/16', 'fd00:10:96::/112'] }, { name: 'extra', cidrs: ['10.97.0.0/16'] }] },
    include: ['10.96.0.0/15', 'fd00:10:96::/112'], source: 'discovery:ServiceCIDR' },
  { name: 'before 1.33 (ServiceCIDR not served) the apiserver static pod flag is read',
    cluster: { serviceCidrs: notServed, pods: { 'kube-system/component=kube-apiserver': [{ name: 'kube-apiserver-cp1', args: ['kube-apiserver', '--service-cluster-ip-range=10.0.0.0/24'] }] } },
    include: ['10.0.0.0/24'], source: 'discovery:kube-apiserver-flag' },
  { name: 'the flag also works as two arguments',
    cluster: { pods: { 'kube-system/component=kube-apiserver': [{ name: 'a', args: ['--service-cluster-ip-range', '10.0.0.0/24,fd00::/108'] }] } },
    include: ['10.0.0.0/24', 'fd00::/108'], source: 'discovery:kube-apiserver-flag' },
  { name: 'a managed control plane (no static pod, no permission) answers through the dry-run error',
    cluster: { serviceCidrs: forbidden, pods: forbidden, dryRun: { '192.0.2.1': rangeError('192.0.2.1', '10.3.240.0/20') } },
    include: ['10.3.240.0/20'], source: 'discovery:dry-run-service' },
  { name: 'dry-run in both families on a dual-stack cluster',
    cluster: { dryRun: { '192.0.2.1': rangeError('192.0.2.1', '10.0.0.0/16'), '2001:db8::1': rangeError('2001:db8::1', 'fd00::/108') } },
    include: ['10.0.0.0/16', 'fd00::/108'], source: 'discovery:dry-run-service' },
  { name: 'a probe that falls inside the range is retried with the second probe address',
    cluster: { dryRun: { '192.0.2.1': undefined, '198.51.100.1': rangeError('198.51.100.1', '192.0.0.0/8') } },
    include: ['192.0.0.0/8'], source: 'discovery:dry-run-service' },
  { name: 'pods: the nodes podCIDRs and the cluster-wide controller flag are merged',
    cluster: { serviceCidrs: [{ name: 'kubernetes', cidrs: ['10.96.0.0/12'] }],
      nodes: [{ name: 'n1', podCIDRs: ['10.244.0.0/24'] }, { name: 'n2', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }],
      pods: { 'kube-system/component=kube-controller-manager': [{ name: 'kcm', args: ['--cluster-cidr=10.244.0.0/16'] }] } },
    include: ['10.96.0.0/12', '10.244.0.0/16', 'fd00:10:244:1::/64'], source: 'discovery:ServiceCIDR+nodes.podCIDRs+kube-controller-manager-flag' },
  { name: 'pods: kube-proxy configuration when the controller manager is not visible',
    cluster: { serviceCidrs: [{ name: 'kubernetes', cidrs: ['10.96.0.0/12'] }], pods: forbidden,
      configMaps: { 'kube-system/kube-proxy': { 'config.conf': 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nclusterCIDR: 10.244.0.0/16,fd00:10:244::/56\n' } } },
    include: ['10.96.0.0/12', '10.244.0.0/16', 'fd00:10:244::/56'], source: 'discovery:ServiceCIDR+kube-proxy-config' },
  { name: 'pods: flannel net-conf.json',
    cluster: { serviceCidrs: [{ name: 'kubernetes', cidrs: ['10.43.0.0/16'] }],
      configMaps: { 'kube-flannel/kube-flannel-cfg': { 'net-conf.json': '{ "Network": "10.42.0.0/16", "Backend": { "Type": "vxlan" } }' } } },
    include: ['10.42.0.0/15'], source: 'discovery:ServiceCIDR+flannel-config' },
  { name: 'pods: cilium cluster-pool', cluster: { serviceCidrs: [{ name: 'kubernetes', cidrs: ['10.96.0.0/12'] }],
    configMaps: { 'kube-system/cilium-config': { 'cluster-pool-ipv4-cidr': '10.0.0.0/8' } } },
    include: ['10.0.0.0/8'], source: 'discovery:ServiceCIDR+cilium-config' },
];

for (const c of cases) {
  test(`discovery: ${c.name}`, async () => {
    const result = await discoverRanges(fakeApi(c.cluster));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.report.include, c.include);
    assert.equal(result.report.source, c.source);
    // With no pod source in the result, the report must say that pod IPs are not captured.
    const podsFound = c.source.includes('+');
    assert.equal(result.report.notes.some((n) => /no pod range found/.test(n)), !podsFound);
  });
}

test('discovery: the ServiceCIDR answer is used without probing further', async () => {
  const api = fakeApi({ serviceCidrs: [{ name: 'kubernetes', cidrs: ['10.96.0.0/12'] }] });
  const result = await discoverRanges(api);
  assert.ok(result.ok);
  assert.deepEqual(api.dryRuns, [], 'no dry-run Service once a better source answered');
  assert.deepEqual(result.attempts.map((a) => a.step).slice(0, 2), ['ServiceCIDR', 'nodes.podCIDRs']);
});

const failures: Array<{ name: string; cluster: FakeCluster; kind: string; reason: RegExp }> = [
  { name: 'no permission anywhere is "forbidden", each step named with its error',
    cluster: { serviceCidrs: forbidden, pods: forbidden, dryRun: forbidden, nodes: forbidden, configMaps: forbidden }, kind: 'forbidden',
    reason: /^no service range found \(ServiceCIDR: HTTP 403: forbidden.*; kube-apiserver-flag: HTTP 403.*; dry-run-service: HTTP 403/ },
  { name: 'an API error is "api_error"', cluster: { serviceCidrs: notServed, dryRun: new RangesApiError('etcdserver: request timed out', 500) },
    kind: 'api_error', reason: /dry-run-service: HTTP 500: etcdserver: request timed out/ },
  { name: 'a cluster that answers but names no range is "no_ranges"', cluster: { dryRun: {} }, kind: 'no_ranges',
    reason: /ServiceCIDR: nothing found; kube-apiserver-flag: nothing found; dry-run-service: nothing found/ },
];

for (const c of failures) {
  test(`discovery fails: ${c.name}`, async () => {
    const result = await discoverRanges(fakeApi(c.cluster));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.failureKind, c.kind);
    assert.match(result.reason, c.reason);
  });
}
