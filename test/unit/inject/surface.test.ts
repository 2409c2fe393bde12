// Istio's injection surface: each annotation and value is implemented (the pod Istio's documentation describes) or
// refused naming it. Expected shapes follow Istio's injection template as documented (istio.io annotations reference,
// "Sidecar injection" and "holdApplicationUntilProxyStarts" docs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectPod } from '../../../src/inject/inject.ts';
import { REFUSED_ANNOTATIONS } from '../../../src/inject/surface.ts';
import { defaultValues, valuesFromDocument, type InjectorValues } from '../../../src/inject/values.ts';
import type { Container, PodLike } from '../../../src/k8s/types.ts';
import { argAfter, injectAndApply, names } from '../../helpers/apply.ts';
import { samplePod } from '../../helpers/pods.ts';

type Obj = Record<string, unknown>;
const proxyOf = (pod: PodLike): Container =>
  [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === 'istio-proxy') as Container;
const initOf = (pod: PodLike): Container | undefined => pod.spec?.initContainers?.find((c) => c.name === 'istio-init');
const status = (pod: PodLike): Obj => JSON.parse(pod.metadata?.annotations?.['sidecar.istio.io/status'] ?? '{}') as Obj;
const envOf = (c: Container): Array<{ name: string; value?: string }> => c['env'] as Array<{ name: string; value?: string }>;

function denied(annotations: Record<string, string>, values: InjectorValues = defaultValues()): Array<{ field: string; message: string }> {
  const outcome = injectPod(samplePod({ annotations }), { values, namespace: 'default' });
  assert.equal(outcome.kind, 'deny', JSON.stringify(outcome).slice(0, 300));
  return outcome.kind === 'deny' ? outcome.errors : [];
}

/** Injecting the injected pod again must change nothing: one istio-proxy, one istio-init, no duplicated volume. */
function assertIdempotent(pod: PodLike, values: InjectorValues = defaultValues()): void {
  const again = injectPod(pod, { values, namespace: 'default' });
  assert.equal(again.kind, 'inject');
  assert.deepEqual(again.kind === 'inject' ? again.patch : undefined, [], 'a second injection is an empty patch');
}

test('interceptionMode NONE: the proxy without istio-init, the status lists no init container', () => {
  const { pod } = injectAndApply(samplePod({ annotations: { 'sidecar.istio.io/interceptionMode': 'NONE' } }));
  assert.deepEqual(names(pod.spec?.initContainers), []);
  assert.deepEqual(names(pod.spec?.containers), ['sleep', 'istio-proxy']);
  assert.deepEqual(status(pod)['initContainers'], []);
  assert.equal(pod.metadata?.annotations?.['sidecar.istio.io/interceptionMode'], 'NONE');
  assertIdempotent(pod);
});

test('interceptionMode NONE in the native layout: istio-proxy is the only injected init container', () => {
  const { pod } = injectAndApply(samplePod({ annotations: { 'sidecar.istio.io/interceptionMode': 'NONE', 'sidecar.istio.io/nativeSidecar': 'true' } }));
  assert.deepEqual(names(pod.spec?.initContainers), ['istio-proxy']);
  assert.deepEqual(status(pod)['initContainers'], ['istio-proxy']);
  assertIdempotent(pod);
});

test('switching an injected pod to NONE removes istio-init', () => {
  const { pod: redirect } = injectAndApply(samplePod());
  redirect.metadata!.annotations!['sidecar.istio.io/interceptionMode'] = 'NONE';
  const { pod } = injectAndApply(redirect);
  assert.deepEqual(names(pod.spec?.initContainers), []);
});

test('interceptionMode TPROXY and unknown modes are refused naming the annotation', () => {
  const [tproxy] = denied({ 'sidecar.istio.io/interceptionMode': 'TPROXY' });
  assert.equal(tproxy?.field, 'metadata.annotations[sidecar.istio.io/interceptionMode]');
  assert.match(tproxy?.message ?? '', /TPROXY is not implemented/);
  assert.equal(denied({ 'sidecar.istio.io/interceptionMode': 'redirect' })[0]?.field, 'metadata.annotations[sidecar.istio.io/interceptionMode]');
});

test('status port 0 (annotation) disables the status port and the probes, as Istio', () => {
  const { pod } = injectAndApply(samplePod({ annotations: { 'status.sidecar.istio.io/port': '0' } }));
  const proxy = proxyOf(pod);
  assert.equal(proxy['readinessProbe'], undefined);
  assert.equal(proxy['startupProbe'], undefined);
  assert.equal(argAfter(initOf(pod), '-d'), '15090,15021');
  assertIdempotent(pod);
});

test('status port 0 from global.proxy.statusPort does the same', () => {
  const values = valuesFromDocument({ global: { proxy: { statusPort: 0 } } }, 't');
  const { pod } = injectAndApply(samplePod(), { values });
  assert.equal(proxyOf(pod)['readinessProbe'], undefined);
  assert.equal(argAfter(initOf(pod), '-d'), '15090,15021');
});

test('readiness: Istio defaults, the values, then the readiness.status.sidecar.istio.io annotations', () => {
  const probe = (pod: PodLike) => proxyOf(pod)['readinessProbe'] as Obj;
  assert.deepEqual(probe(injectAndApply(samplePod()).pod), {
    httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4,
  });
  const values = valuesFromDocument({ global: { proxy: { readinessInitialDelaySeconds: 2, readinessPeriodSeconds: 5, readinessFailureThreshold: 9 } } }, 't');
  assert.deepEqual(probe(injectAndApply(samplePod(), { values }).pod), {
    httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 2, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 9,
  });
  const annotated = injectAndApply(samplePod({ annotations: {
    'readiness.status.sidecar.istio.io/initialDelaySeconds': '10',
    'readiness.status.sidecar.istio.io/periodSeconds': '7',
    'readiness.status.sidecar.istio.io/failureThreshold': '3',
    'readiness.status.sidecar.istio.io/applicationPorts': '8080,9090',
  } }), { values }).pod;
  assert.deepEqual(probe(annotated), { httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 10, periodSeconds: 7, timeoutSeconds: 3, failureThreshold: 3 });
});

test('bad readiness annotations are denied with the annotation named', () => {
  for (const [key, value] of [['readiness.status.sidecar.istio.io/periodSeconds', '0'], ['readiness.status.sidecar.istio.io/failureThreshold', 'many'],
    ['readiness.status.sidecar.istio.io/initialDelaySeconds', '-1'], ['readiness.status.sidecar.istio.io/applicationPorts', '80,70000']] as const) {
    assert.equal(denied({ [key]: value })[0]?.field, `metadata.annotations[${key}]`, key);
  }
});

test('startupProbe: Istio\'s (period 1, failureThreshold from the values), or none when disabled', () => {
  assert.deepEqual(proxyOf(injectAndApply(samplePod()).pod)['startupProbe'], {
    httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600,
  });
  const values = valuesFromDocument({ global: { proxy: { startupProbe: { enabled: false } } } }, 't');
  assert.equal(proxyOf(injectAndApply(samplePod(), { values }).pod)['startupProbe'], undefined);
});

test('userVolume and userVolumeMount (JSON maps): added to the pod, mounted in istio-proxy, listed in the status', () => {
  const annotations = {
    'sidecar.istio.io/userVolume': '{"certs":{"secret":{"secretName":"egress-certs"}}}',
    'sidecar.istio.io/userVolumeMount': '{"certs":{"mountPath":"/etc/certs","readOnly":true}}',
  };
  const { pod } = injectAndApply(samplePod({ annotations }));
  assert.deepEqual(pod.spec?.volumes, [
    { name: 'secret-volume', secret: { secretName: 'sleep-secret', optional: true } },
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
    { name: 'meshgate-token', projected: { sources: [{ serviceAccountToken: { audience: 'meshgate', expirationSeconds: 3600, path: 'token' } }] } },
    { name: 'meshgate-no-api-token', emptyDir: { medium: 'Memory', sizeLimit: '1Ki' } },
    { name: 'certs', secret: { secretName: 'egress-certs' } },
  ]);
  assert.deepEqual(proxyOf(pod)['volumeMounts'], [
    { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
    { name: 'meshgate-no-api-token', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    { name: 'certs', mountPath: '/etc/certs', readOnly: true },
    { name: 'meshgate-token', mountPath: '/var/run/secrets/meshgate', readOnly: true },
  ]);
  assert.deepEqual(status(pod)['volumes'], ['istio-envoy', 'meshgate-token', 'meshgate-no-api-token', 'certs']);
  assertIdempotent(pod);
});

test('userVolume as a JSON array, and a mount of one of the pod\'s own volumes', () => {
  const { pod } = injectAndApply(samplePod({ annotations: {
    'sidecar.istio.io/userVolume': '[{"name":"cache","emptyDir":{}}]',
    'sidecar.istio.io/userVolumeMount': '[{"name":"cache","mountPath":"/cache"},{"name":"secret-volume","mountPath":"/secret"}]',
  } }));
  assert.deepEqual(pod.spec?.volumes?.map((v) => v.name), ['secret-volume', 'istio-envoy', 'meshgate-token', 'meshgate-no-api-token', 'cache']);
  assert.deepEqual((proxyOf(pod)['volumeMounts'] as Obj[]).map((m) => m['mountPath']), ['/etc/istio/proxy', '/var/run/secrets/kubernetes.io/serviceaccount', '/cache', '/secret', '/var/run/secrets/meshgate']);
});

test('changing a user volume on an injected pod replaces it, never duplicates', () => {
  const { pod: once } = injectAndApply(samplePod({ annotations: { 'sidecar.istio.io/userVolume': '{"a":{"emptyDir":{}}}' } }));
  once.metadata!.annotations!['sidecar.istio.io/userVolume'] = '{"b":{"emptyDir":{}}}';
  const { pod } = injectAndApply(once);
  assert.deepEqual(pod.spec?.volumes?.map((v) => v.name), ['secret-volume', 'istio-envoy', 'meshgate-token', 'meshgate-no-api-token', 'b']);
});

test('malformed userVolume JSON and bad mounts are denied with the annotation path', () => {
  assert.equal(denied({ 'sidecar.istio.io/userVolume': '{"certs":' })[0]?.field, 'metadata.annotations[sidecar.istio.io/userVolume]');
  assert.match(denied({ 'sidecar.istio.io/userVolume': '{"certs":' })[0]?.message ?? '', /malformed JSON/);
  assert.equal(denied({ 'sidecar.istio.io/userVolumeMount': 'not json' })[0]?.field, 'metadata.annotations[sidecar.istio.io/userVolumeMount]');
  assert.match(denied({ 'sidecar.istio.io/userVolumeMount': '{"nope":{"mountPath":"/x"}}' })[0]?.message ?? '', /names no volume/);
  assert.match(denied({ 'sidecar.istio.io/userVolume': '{"secret-volume":{"emptyDir":{}}}' })[0]?.message ?? '', /already in the pod/);
  assert.match(denied({ 'sidecar.istio.io/userVolume': '{"x":{"emptyDir":{}}}', 'sidecar.istio.io/userVolumeMount': '{"x":{"mountPath":"/etc/istio/proxy/x"}}' })[0]?.message ?? '', /outside/);
});

test('holdApplicationUntilProxyStarts (values), classic layout: istio-proxy first, postStart waits for readiness', () => {
  const values = valuesFromDocument({ global: { proxy: { holdApplicationUntilProxyStarts: true } } }, 't');
  const { pod } = injectAndApply(samplePod(), { values });
  assert.deepEqual(names(pod.spec?.containers), ['istio-proxy', 'sleep']);
  const command = ((proxyOf(pod)['lifecycle'] as Obj)['postStart'] as { exec: { command: string[] } }).exec.command;
  assert.equal(command[0], 'node');
  assert.match(command[2] ?? '', /127\.0\.0\.1:15021\/healthz\/ready/);
  assertIdempotent(pod, values);
});

test('holdApplicationUntilProxyStarts from proxy.istio.io/config (YAML), native layout: a startup probe instead', () => {
  const annotations = { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\n', 'sidecar.istio.io/nativeSidecar': 'true' };
  const values = valuesFromDocument({ global: { proxy: { startupProbe: { enabled: false } } } }, 't');
  const { pod } = injectAndApply(samplePod({ annotations }), { values });
  assert.deepEqual(names(pod.spec?.initContainers), ['istio-init', 'istio-proxy']);
  assert.ok(proxyOf(pod)['startupProbe'], 'the app starts only once the proxy passes its startup probe');
  assert.equal(proxyOf(pod)['lifecycle'], undefined);
});

test('hold with the status port disabled is refused: there is nothing to wait for', () => {
  const errors = denied({ 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}', 'status.sidecar.istio.io/port': '0' });
  assert.equal(errors[0]?.field, 'metadata.annotations[status.sidecar.istio.io/port]');
});

test('proxy.istio.io/config: terminationDrainDuration, proxyMetadata, concurrency (JSON), over meshConfig.defaultConfig', () => {
  const values = valuesFromDocument({ meshConfig: { defaultConfig: { terminationDrainDuration: '20s', proxyMetadata: { A: 'mesh', B: 'mesh' } } } }, 't');
  const annotations = { 'proxy.istio.io/config': '{"proxyMetadata": {"B": "pod"}, "concurrency": 2}' };
  const outcome = injectPod(samplePod({ annotations }), { values, namespace: 'default' });
  assert.equal(outcome.kind, 'inject');
  const { pod } = injectAndApply(samplePod({ annotations }), { values });
  const proxy = proxyOf(pod);
  assert.deepEqual(proxy.args, ['--drain-seconds', '20', '--workers', '2'], 'concurrency is the data plane\'s worker count');
  const env = envOf(proxy);
  assert.equal(env.find((e) => e.name === 'A')?.value, 'mesh');
  assert.equal(env.find((e) => e.name === 'B')?.value, 'pod', 'the pod\'s proxyMetadata wins key by key');
  assert.deepEqual(JSON.parse(env.find((e) => e.name === 'PROXY_CONFIG')?.value ?? '{}'),
    { terminationDrainDuration: '20s', concurrency: 2, proxyMetadata: { A: 'mesh', B: 'pod' } });
  const tooMany = injectPod(samplePod({ annotations: { 'proxy.istio.io/config': '{"concurrency": 65}' } }), { values, namespace: 'default' });
  assert.ok(tooMany.kind === 'deny' && tooMany.errors.some((e) => e.field === 'metadata.annotations[proxy.istio.io/config].concurrency' && /0 \(all cores\) to 64/.test(e.message)), JSON.stringify(tooMany));
});

test('proxy.istio.io/config: unknown fields, bad durations and malformed YAML are denied with the path', () => {
  assert.equal(denied({ 'proxy.istio.io/config': 'tracing: {zipkin: {}}' })[0]?.field, 'metadata.annotations[proxy.istio.io/config].tracing');
  assert.equal(denied({ 'proxy.istio.io/config': 'terminationDrainDuration: 5 minutes' })[0]?.field, 'metadata.annotations[proxy.istio.io/config].terminationDrainDuration');
  assert.match(denied({ 'proxy.istio.io/config': '{"a": [' })[0]?.message ?? '', /not YAML or JSON/);
  assert.equal(denied({ 'proxy.istio.io/config': 'proxyMetadata: {POD_NAME: x}' })[0]?.field, 'metadata.annotations[proxy.istio.io/config].proxyMetadata.POD_NAME');
});

test('sidecar.istio.io/proxyImage sets the proxy image (and the init image, which is the same image)', () => {
  const { pod } = injectAndApply(samplePod({ annotations: { 'sidecar.istio.io/proxyImage': 'registry.local/meshgate:dev' } }));
  assert.equal(proxyOf(pod).image, 'registry.local/meshgate:dev');
  assert.equal(initOf(pod)?.image, 'registry.local/meshgate:dev');
  const values = valuesFromDocument({ global: { proxy_init: { image: 'registry.local/init:1' } } }, 't');
  assert.equal(initOf(injectAndApply(samplePod(), { values }).pod)?.image, 'registry.local/init:1');
  assert.equal(denied({ 'sidecar.istio.io/proxyImage': 'a b' })[0]?.field, 'metadata.annotations[sidecar.istio.io/proxyImage]');
});

test('excludeInterfaces and kubevirtInterfaces reach istio-init as -c and -k (Istio\'s template), the newer reroute annotation first', () => {
  const args = (annotations: Record<string, string>): string[] => (initOf(injectAndApply(samplePod({ annotations })).pod)?.args ?? []) as string[];
  const both = args({ 'traffic.sidecar.istio.io/excludeInterfaces': 'net1, veth+', 'traffic.sidecar.istio.io/kubevirtInterfaces': 'k6t-eth0' });
  assert.equal(argAfter({ name: 'x', args: both }, '-c'), 'net1,veth+');
  assert.equal(argAfter({ name: 'x', args: both }, '-k'), 'k6t-eth0');
  assert.ok(both.indexOf('-k') < both.indexOf('-c'));
  const reroute = args({ 'istio.io/reroute-virtual-interfaces': 'eth2', 'traffic.sidecar.istio.io/kubevirtInterfaces': 'eth1' });
  assert.equal(argAfter({ name: 'x', args: reroute }, '-k'), 'eth2');
  const none = args({ 'traffic.sidecar.istio.io/excludeInterfaces': '', 'traffic.sidecar.istio.io/kubevirtInterfaces': '' });
  assert.ok(!none.includes('-c') && !none.includes('-k'), 'empty lists add no flag');
  const { pod } = injectAndApply(samplePod({ annotations: { 'traffic.sidecar.istio.io/excludeInterfaces': 'net1' } }));
  assertIdempotent(pod);
});

test('a bad interface name denies the pod with the annotation\'s path (never pasted into the init arguments)', () => {
  for (const key of ['traffic.sidecar.istio.io/excludeInterfaces', 'traffic.sidecar.istio.io/kubevirtInterfaces', 'istio.io/reroute-virtual-interfaces']) {
    const [error] = denied({ [key]: 'eth1,eth0 -j ACCEPT' });
    assert.equal(error?.field, `metadata.annotations[${key}]`);
    assert.match(error?.message ?? '', /invalid interface "eth0 -j ACCEPT"/);
  }
});

test('global.imagePullSecrets: added to the pod and the status, never duplicated', () => {
  const values = valuesFromDocument({ global: { imagePullSecrets: ['regcred'] } }, 't');
  const { pod } = injectAndApply(samplePod({ spec: { imagePullSecrets: [{ name: 'own' }] } }), { values });
  assert.deepEqual(pod.spec?.['imagePullSecrets'], [{ name: 'own' }, { name: 'regcred' }]);
  assert.deepEqual(status(pod)['imagePullSecrets'], ['regcred']);
  assertIdempotent(pod, values);
});

test('global.proxy.lifecycle and global.proxy.privileged reach istio-proxy', () => {
  const lifecycle = { preStop: { exec: { command: ['sleep', '5'] } } };
  const values = valuesFromDocument({ global: { proxy: { lifecycle, privileged: true, holdApplicationUntilProxyStarts: true } } }, 't');
  const proxy = proxyOf(injectAndApply(samplePod(), { values }).pod);
  assert.deepEqual(proxy['lifecycle'], lifecycle, 'Istio: the lifecycle value replaces the hold\'s postStart');
  assert.equal((proxy['securityContext'] as Obj)['privileged'], true);
  assert.equal((proxy['securityContext'] as Obj)['allowPrivilegeEscalation'], true);
});

test('prometheus.istio.io/merge-metrics "true": the prometheus.io annotations point at the proxy\'s metrics', () => {
  const { pod } = injectAndApply(samplePod({ annotations: { 'prometheus.istio.io/merge-metrics': 'true' } }));
  const annotations = pod.metadata?.annotations ?? {};
  assert.equal(annotations['prometheus.io/scrape'], 'true');
  assert.equal(annotations['prometheus.io/port'], '15090');
  assert.equal(annotations['prometheus.io/path'], '/stats/prometheus');
  assertIdempotent(pod);
  assert.equal(injectAndApply(samplePod()).pod.metadata?.annotations?.['prometheus.io/scrape'], undefined, 'off by default');
  const errors = denied({ 'prometheus.istio.io/merge-metrics': 'true', 'prometheus.io/port': '8080' });
  assert.equal(errors[0]?.field, 'metadata.annotations[prometheus.io/port]');
  assert.match(errors[0]?.message ?? '', /merge-metrics: "false"/);
  assert.equal(denied({ 'prometheus.istio.io/merge-metrics': 'maybe' })[0]?.field, 'metadata.annotations[prometheus.istio.io/merge-metrics]');
});

for (const key of Object.keys(REFUSED_ANNOTATIONS)) {
  test(`an Istio annotation meshgate does not implement is refused by name: ${key}`, () => {
    const [error] = denied({ [key]: 'x' });
    assert.equal(error?.field, `metadata.annotations[${key}]`);
    assert.match(error?.message ?? '', /not implemented by meshgate/);
  });
}

test('a typo in an Istio injection annotation is refused; other annotations are the pod\'s own business', () => {
  assert.match(denied({ 'sidecar.istio.io/proxyCpu': '100m' })[0]?.message ?? '', /not an Istio injection annotation meshgate knows/);
  assert.equal(injectPod(samplePod({ annotations: { 'example.com/team': 'a', 'kubectl.kubernetes.io/default-container': 'sleep' } }), { values: defaultValues(), namespace: 'default' }).kind, 'inject');
});

test('an opted-out pod is never refused for its annotations', () => {
  const outcome = injectPod(samplePod({ labels: { 'sidecar.istio.io/inject': 'false' }, annotations: { 'sidecar.istio.io/logLevel': 'debug' } }), { values: defaultValues(), namespace: 'default' });
  assert.equal(outcome.kind, 'skip');
});

test('every option at once, injected twice: one istio-proxy, one istio-init, volumes and secrets not duplicated', () => {
  const values = valuesFromDocument({ global: { imagePullSecrets: ['regcred'], proxy: { holdApplicationUntilProxyStarts: true } }, meshConfig: { enablePrometheusMerge: true } }, 't');
  for (const native of ['true', 'false']) {
    const { pod } = injectAndApply(samplePod({ annotations: {
      'sidecar.istio.io/nativeSidecar': native,
      'sidecar.istio.io/userVolume': '{"certs":{"secret":{"secretName":"c"}}}',
      'sidecar.istio.io/userVolumeMount': '{"certs":{"mountPath":"/etc/certs"}}',
      'proxy.istio.io/config': 'terminationDrainDuration: 10s\nproxyMetadata: {X: "1"}',
      'readiness.status.sidecar.istio.io/periodSeconds': '3',
      'sidecar.istio.io/proxyImage': 'r.local/mg:1',
    } }), { values });
    const all = [...names(pod.spec?.initContainers), ...names(pod.spec?.containers)];
    assert.equal(all.filter((n) => n === 'istio-proxy').length, 1);
    assert.equal(all.filter((n) => n === 'istio-init').length, 1);
    assertIdempotent(pod, values);
    const { pod: twice } = injectAndApply(pod, { values });
    assert.deepEqual(twice, pod);
  }
});

test('a forged status listing the app\'s own volume and pull secret removes neither', () => {
  const pod = samplePod({
    annotations: { 'sidecar.istio.io/status': JSON.stringify({ volumes: ['secret-volume'], imagePullSecrets: ['own'] }) },
    spec: {
      containers: [{ name: 'sleep', image: 'curl', volumeMounts: [{ name: 'secret-volume', mountPath: '/s' }] }],
      imagePullSecrets: [{ name: 'own' }],
    },
  });
  const { pod: out } = injectAndApply(pod);
  assert.deepEqual(out.spec?.volumes?.map((v) => v.name), ['secret-volume', 'istio-envoy', 'meshgate-token', 'meshgate-no-api-token']);
  assert.deepEqual(out.spec?.['imagePullSecrets'], [{ name: 'own' }]);
  // Nor can a user volume take over the app's mounted volume by forging the status first.
  const takeover = structuredClone(pod);
  takeover.metadata!.annotations!['sidecar.istio.io/userVolume'] = '{"secret-volume":{"emptyDir":{}}}';
  const outcome = injectPod(takeover, { values: defaultValues(), namespace: 'default' });
  assert.ok(outcome.kind === 'deny' && /already in the pod/.test(outcome.errors[0]?.message ?? ''), JSON.stringify(outcome).slice(0, 200));
});

test('structured annotations are bounded before they are parsed', () => {
  const big = `proxyMetadata: {${Array.from({ length: 20_000 }, (_, i) => `K${i}: v`).join(', ')}}`;
  assert.match(denied({ 'proxy.istio.io/config': big })[0]?.message ?? '', /longer than 65536 characters/);
  assert.match(denied({ 'sidecar.istio.io/userVolume': `[${'{"name":"a","emptyDir":{}},'.repeat(5000)}{}]` })[0]?.message ?? '', /longer than/);
});
