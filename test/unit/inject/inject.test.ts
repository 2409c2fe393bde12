import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectPod } from '../../../src/inject/inject.ts';
import { defaultValues, valuesFromDocument } from '../../../src/inject/values.ts';
import { argAfter, injectAndApply, names } from '../../helpers/apply.ts';
import { samplePod } from '../../helpers/pods.ts';

const initOf = (pod: ReturnType<typeof samplePod>) => pod.spec?.initContainers?.find((c) => c.name === 'istio-init');
const proxyOf = (pod: ReturnType<typeof samplePod>) =>
  [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === 'istio-proxy');

test('classic layout: istio-init after the user init containers, istio-proxy after the app', () => {
  const pod = samplePod({ spec: { initContainers: [{ name: 'migrate', image: 'busybox' }] } });
  const { pod: out } = injectAndApply(pod);
  assert.deepEqual(names(out.spec?.initContainers), ['migrate', 'istio-init']);
  assert.deepEqual(names(out.spec?.containers), ['sleep', 'istio-proxy']);
  assert.deepEqual(out.spec?.volumes?.map((v) => v.name), ['secret-volume', 'istio-envoy', 'meshgate-token', 'meshgate-no-api-token']);
});

test('the init container carries istio-iptables flags with Istio defaults', () => {
  const { pod: out } = injectAndApply(samplePod());
  assert.deepEqual(initOf(out)?.args, ['init', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT',
    '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  const security = initOf(out)?.['securityContext'] as { capabilities: { add: string[] }; runAsUser: number };
  assert.deepEqual(security.capabilities.add, ['NET_ADMIN', 'NET_RAW']);
  assert.equal(security.runAsUser, 0);
});

test('the proxy runs as 1337 with a read-only root and a readiness probe on 15021', () => {
  const { pod: out } = injectAndApply(samplePod());
  const proxy = proxyOf(out)!;
  const security = proxy['securityContext'] as Record<string, unknown>;
  assert.equal(security['runAsUser'], 1337);
  assert.equal(security['readOnlyRootFilesystem'], true);
  assert.deepEqual((proxy['readinessProbe'] as { httpGet: unknown }).httpGet, { path: '/healthz/ready', port: 15021 });
  assert.deepEqual(proxy['ports'], [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }]);
  assert.deepEqual(proxy['command'], ['/usr/local/bin/meshgate-proxy']);
  assert.deepEqual(proxy.args, []);
});

test('native layout: istio-init then istio-proxy (restartPolicy Always) before the user init containers', () => {
  const pod = samplePod({ annotations: { 'sidecar.istio.io/nativeSidecar': 'true' }, spec: { initContainers: [{ name: 'migrate' }] } });
  const { pod: out } = injectAndApply(pod);
  assert.deepEqual(names(out.spec?.initContainers), ['istio-init', 'istio-proxy', 'migrate']);
  assert.deepEqual(names(out.spec?.containers), ['sleep']);
  assert.equal(proxyOf(out)?.['restartPolicy'], 'Always');
});

test('native layout from the values, for a pod with no init containers', () => {
  const values = valuesFromDocument({ global: { nativeSidecars: true } }, 't');
  const { pod: out, patch } = injectAndApply(samplePod(), { values });
  assert.deepEqual(names(out.spec?.initContainers), ['istio-init', 'istio-proxy']);
  assert.ok(patch.some((op) => (op as { path: string }).path === '/spec/initContainers'), 'absent arrays are created, not appended to');
});

test('status annotation, capture annotation and Istio labels are written', () => {
  const { pod: out } = injectAndApply(samplePod());
  const annotations = out.metadata?.annotations ?? {};
  assert.deepEqual(JSON.parse(annotations['sidecar.istio.io/status']!), {
    initContainers: ['istio-init'], containers: ['istio-proxy'], volumes: ['istio-envoy', 'meshgate-token', 'meshgate-no-api-token'], imagePullSecrets: null, revision: 'default',
  });
  assert.deepEqual(JSON.parse(annotations['meshgate.io/capture-ranges']!), {
    includeOutboundIPRanges: '*', includeSource: 'values', excludeOutboundIPRanges: '', excludeSource: 'values',
    autoIncludeOutboundIPRanges: '*', autoSource: 'default',
  });
  assert.equal(annotations['sidecar.istio.io/interceptionMode'], 'REDIRECT');
  assert.equal(out.metadata?.labels?.['security.istio.io/tlsMode'], 'istio');
  assert.equal(out.metadata?.labels?.['service.istio.io/canonical-name'], 'sleep');
  assert.equal(out.metadata?.labels?.['service.istio.io/canonical-revision'], 'latest');
  const env = proxyOf(out)?.['env'] as Array<{ name: string; value?: string }>;
  assert.equal(env.find((e) => e.name === 'ISTIO_META_WORKLOAD_NAME')?.value, 'sleep', 'the ReplicaSet hash is removed');
});

test('existing canonical labels are kept', () => {
  const { pod: out } = injectAndApply(samplePod({ labels: { 'service.istio.io/canonical-name': 'mine', version: 'v2' } }));
  assert.equal(out.metadata?.labels?.['service.istio.io/canonical-name'], 'mine');
  assert.equal(out.metadata?.labels?.['service.istio.io/canonical-revision'], 'v2');
});

const rangeCases: Array<{ name: string; annotations?: Record<string, string>; values?: Record<string, unknown>; cluster?: { include: string; source: string }; include: string; source: string; exclude?: string; auto?: string }> = [
  { name: 'nothing set: capture everything, as Istio (the default value is "*")', include: '*', source: 'values' },
  { name: 'the default "*" beats the cluster ranges, which are only recorded', cluster: { include: '10.96.0.0/12', source: 'discovery:ServiceCIDR' }, include: '*', source: 'values', auto: '10.96.0.0/12' },
  { name: 'values beat the default', values: { global: { proxy: { includeIPRanges: '10.0.0.1/24' } } }, include: '10.0.0.1/24', source: 'values' },
  { name: 'values "auto" use the cluster ranges', values: { global: { proxy: { includeIPRanges: 'auto' } } }, cluster: { include: '10.96.0.0/12', source: 'discovery:ServiceCIDR' }, include: '10.96.0.0/12', source: 'discovery:ServiceCIDR' },
  { name: 'explicit values beat the cluster ranges', values: { global: { proxy: { includeIPRanges: '172.30.0.0/16' } } }, cluster: { include: '10.96.0.0/12', source: 'discovery:ServiceCIDR' }, include: '172.30.0.0/16', source: 'values' },
  { name: 'the annotation beats the values', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.0/12,10.244.0.0/16' }, values: { global: { proxy: { includeIPRanges: '172.30.0.0/16' } } }, include: '10.96.0.0/12,10.244.0.0/16', source: 'annotation' },
  { name: 'an empty annotation means capture nothing', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '' }, cluster: { include: '10.96.0.0/12', source: 'discovery:ServiceCIDR' }, include: '', source: 'annotation' },
  { name: 'CIDRs pass through as written (host bits kept)', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.1/24' }, include: '10.96.0.1/24', source: 'annotation' },
  { name: 'IPv6 CIDRs are accepted', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8,fd00::/8' }, include: '10.0.0.0/8,fd00::/8', source: 'annotation' },
  { name: 'exclude from the annotation', annotations: { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '169.254.169.254/32' }, include: '*', source: 'values', exclude: '169.254.169.254/32' },
];

for (const c of rangeCases) {
  test(`includeIPRanges precedence: ${c.name}`, () => {
    const values = c.values ? valuesFromDocument(c.values, 't') : defaultValues();
    const { pod: out } = injectAndApply(samplePod({ annotations: c.annotations ?? {} }), { values, cluster: c.cluster });
    assert.equal(argAfter(initOf(out), '-i'), c.include);
    assert.equal(argAfter(initOf(out), '-x'), c.exclude ?? '');
    const recorded = JSON.parse(out.metadata?.annotations?.['meshgate.io/capture-ranges'] ?? '{}') as Record<string, string>;
    assert.equal(recorded['includeSource'], c.source);
    // What `auto` would capture is recorded whatever was chosen.
    assert.equal(recorded['autoIncludeOutboundIPRanges'], c.auto ?? c.cluster?.include ?? '*');
  });
}

const denyCases: Array<{ name: string; annotations: Record<string, string>; field: string }> = [
  { name: 'an invalid include CIDR', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/33' }, field: 'metadata.annotations[traffic.sidecar.istio.io/includeOutboundIPRanges]' },
  { name: 'a space in the list', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8, 10.1.0.0/16' }, field: 'metadata.annotations[traffic.sidecar.istio.io/includeOutboundIPRanges]' },
  { name: '"*" in an exclude', annotations: { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '*' }, field: 'metadata.annotations[traffic.sidecar.istio.io/excludeOutboundIPRanges]' },
  { name: 'a newline smuggling a container', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8\n- name: evil' }, field: 'metadata.annotations[traffic.sidecar.istio.io/includeOutboundIPRanges]' },
  { name: 'a bad inbound port', annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': '80,99999' }, field: 'metadata.annotations[traffic.sidecar.istio.io/excludeInboundPorts]' },
  { name: 'a bad proxy memory', annotations: { 'sidecar.istio.io/proxyMemory': '128MB; rm -rf' }, field: 'metadata.annotations[sidecar.istio.io/proxyMemory]' },
];

for (const c of denyCases) {
  test(`denied with the annotation named: ${c.name}`, () => {
    const outcome = injectPod(samplePod({ annotations: c.annotations }), { values: defaultValues(), namespace: 'default' });
    assert.equal(outcome.kind, 'deny');
    assert.ok(outcome.kind === 'deny' && outcome.errors.some((e) => e.field === c.field), JSON.stringify(outcome));
  });
}

test('port annotations are re-serialised and passed as -b, -d, -o, -q', () => {
  const { pod: out } = injectAndApply(samplePod({ annotations: {
    'traffic.sidecar.istio.io/includeInboundPorts': '8080,9090',
    'traffic.sidecar.istio.io/excludeInboundPorts': '8081',
    'traffic.sidecar.istio.io/excludeOutboundPorts': '3306, 5432',
    'traffic.sidecar.istio.io/includeOutboundPorts': '443',
  } }));
  const init = initOf(out);
  assert.equal(argAfter(init, '-b'), '8080,9090');
  assert.equal(argAfter(init, '-d'), '15090,15021,15020,8081');
  assert.equal(argAfter(init, '-o'), '3306,5432');
  assert.equal(argAfter(init, '-q'), '443');
});

test('proxy resources: annotations over values', () => {
  const { pod: out } = injectAndApply(samplePod({ annotations: { 'sidecar.istio.io/proxyCPU': '50m', 'sidecar.istio.io/proxyMemoryLimit': '256Mi' } }));
  assert.deepEqual(proxyOf(out)?.['resources'], { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '2000m', memory: '256Mi' } });
});

test('idempotent: injecting the injected pod gives an empty patch', () => {
  for (const native of ['true', 'false']) {
    const { pod: once } = injectAndApply(samplePod({ annotations: { 'sidecar.istio.io/nativeSidecar': native } }));
    const again = injectPod(once, { values: defaultValues(), namespace: 'default' });
    assert.equal(again.kind, 'inject');
    assert.deepEqual(again.kind === 'inject' && again.patch, []);
  }
});

test('a pod carrying stale or duplicated sidecars comes out with exactly one of each', () => {
  const { pod: once } = injectAndApply(samplePod());
  const stale = structuredClone(once);
  stale.spec!.containers!.unshift({ name: 'istio-proxy', image: 'old' });
  stale.spec!.volumes!.push({ name: 'istio-envoy', emptyDir: {} });
  const { pod: twice } = injectAndApply(stale);
  assert.deepEqual(names(twice.spec?.containers), ['sleep', 'istio-proxy']);
  assert.deepEqual(names(twice.spec?.initContainers), ['istio-init']);
  assert.deepEqual(twice.spec?.volumes?.map((v) => v.name), ['secret-volume', 'istio-envoy', 'meshgate-token', 'meshgate-no-api-token']);
  assert.deepEqual(twice, once);
});

test('switching an injected pod from classic to native moves the proxy', () => {
  const { pod: classic } = injectAndApply(samplePod());
  classic.metadata!.annotations!['sidecar.istio.io/nativeSidecar'] = 'true';
  const { pod: native } = injectAndApply(classic);
  assert.deepEqual(names(native.spec?.initContainers), ['istio-init', 'istio-proxy']);
  assert.deepEqual(names(native.spec?.containers), ['sleep']);
});

test('annotation keys with "/" and "~" are escaped in the patch', () => {
  const values = valuesFromDocument({ sidecarInjectorWebhook: { injectedAnnotations: { 'example.com/odd~key': 'v' } } }, 't');
  const { pod: out, patch } = injectAndApply(samplePod({ annotations: { existing: 'x' } }), { values });
  assert.equal(out.metadata?.annotations?.['example.com/odd~key'], 'v');
  assert.ok(patch.some((op) => (op as { path: string }).path === '/metadata/annotations/example.com~1odd~0key'));
});

test('a pod with 1,500 environment variables and 50 containers is injected without diffing it', () => {
  const env = Array.from({ length: 1500 }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` }));
  const containers = Array.from({ length: 50 }, (_, i) => ({ name: `c${i}`, image: 'busybox', env }));
  const started = performance.now();
  const { pod: out, patch } = injectAndApply(samplePod({ spec: { containers } }));
  assert.ok(performance.now() - started < 1000);
  assert.equal(out.spec?.containers?.length, 51);
  assert.ok(patch.length < 10, 'the patch names only what changes');
});

test('malformed pod shapes are denied with a field path', () => {
  const cases: Array<[unknown, string]> = [
    [{ metadata: {}, spec: 'nope' }, 'spec'],
    [{ metadata: {}, spec: { containers: {} } }, 'spec.containers'],
    [{ metadata: {}, spec: { containers: [{ image: 'x' }] } }, 'spec.containers[0].name'],
    [{ metadata: { annotations: { a: 1 } }, spec: { containers: [] } }, 'metadata.annotations'],
  ];
  for (const [pod, field] of cases) {
    const outcome = injectPod(pod as never, { values: defaultValues(), namespace: 'default' });
    assert.ok(outcome.kind === 'deny' && outcome.errors.some((e) => e.field === field), `${field}: ${JSON.stringify(outcome)}`);
  }
});

// The sidecar fetches its snapshot from meshgate control with a projected token of meshgate's audience: it holds no
// Kubernetes API credentials, even when the app container has the API token mounted.
test("istio-proxy gets the meshgate token only, never the app's API token (an empty volume holds its path)", () => {
  const tokenPath = '/var/run/secrets/kubernetes.io/serviceaccount';
  const pod = samplePod({ spec: { containers: [{ name: 'sleep', image: 'curl', volumeMounts: [{ name: 'kube-api-access-x1', mountPath: tokenPath, readOnly: true }] }] } });
  const { pod: out } = injectAndApply(pod);
  const mounts = proxyOf(out)?.['volumeMounts'] as Array<{ name: string; mountPath: string }>;
  // The API-token path holds an empty volume, so Kubernetes' ServiceAccount plugin (re-run after the webhook) adds nothing.
  assert.deepEqual(mounts.filter((m) => m.mountPath.startsWith('/var/run/secrets')), [
    { name: 'meshgate-no-api-token', mountPath: tokenPath, readOnly: true },
    { name: 'meshgate-token', mountPath: '/var/run/secrets/meshgate', readOnly: true },
  ]);
  assert.deepEqual((initOf(out)?.['volumeMounts'] as unknown[]), [{ name: 'meshgate-no-api-token', mountPath: tokenPath, readOnly: true }]);
  assert.deepEqual(out.spec?.volumes?.find((v) => v.name === 'meshgate-no-api-token'), { name: 'meshgate-no-api-token', emptyDir: { medium: 'Memory', sizeLimit: '1Ki' } });
  const env = (proxyOf(out)?.['env'] ?? []) as Array<{ name: string; value?: string }>;
  assert.equal(env.find((e) => e.name === 'MESHGATE_CONTROL_TOKEN_FILE')?.value, '/var/run/secrets/meshgate/token');
  assert.match(env.find((e) => e.name === 'MESHGATE_CONTROL_ADDRESS')?.value ?? '', /^https:\/\//);
});
