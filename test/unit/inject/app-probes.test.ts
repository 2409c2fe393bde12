// rewriteAppHTTPProbers: the pod Istio's injector produces (pkg/kube/inject app probe rewrite) — probes to the status
// port at /app-health/<container>/<kind>, the originals in ISTIO_KUBE_APP_PROBERS with named ports resolved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectPod } from '../../../src/inject/inject.ts';
import { defaultValues, valuesFromDocument } from '../../../src/inject/values.ts';
import type { Container, PodLike } from '../../../src/k8s/types.ts';
import { injectAndApply } from '../../helpers/apply.ts';
import { samplePod } from '../../helpers/pods.ts';

type Obj = Record<string, unknown>;
const app = (pod: PodLike, name = 'app'): Obj => [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name) as Obj;
const proxyEnv = (pod: PodLike, name: string): string | undefined =>
  ((app(pod, 'istio-proxy')['env'] as Array<{ name: string; value?: string }>).find((e) => e.name === name))?.value;
const probers = (pod: PodLike): Obj => JSON.parse(proxyEnv(pod, 'ISTIO_KUBE_APP_PROBERS') ?? 'null') as Obj;

function podWith(containers: Container[], annotations?: Record<string, string>, initContainers?: Container[]): PodLike {
  return samplePod({ ...(annotations ? { annotations } : {}), spec: { containers, ...(initContainers ? { initContainers } : {}) } });
}

const WEB: Container = {
  name: 'web',
  image: 'web',
  ports: [{ name: 'http', containerPort: 8080 }, { name: 'admin', containerPort: 9090 }],
  readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 5 },
  livenessProbe: { httpGet: { path: '/live', port: 9090, scheme: 'HTTPS', httpHeaders: [{ name: 'X-Probe', value: 'kubelet' }] }, timeoutSeconds: 3, failureThreshold: 4 },
  startupProbe: { tcpSocket: { port: 'admin' }, timeoutSeconds: 2, periodSeconds: 1, failureThreshold: 30 },
};

test('httpGet probes go to the status port with Istio\'s paths; HTTPS becomes HTTP to the proxy; the rest of the probe stays', () => {
  const { pod } = injectAndApply(podWith([WEB]));
  const web = app(pod, 'web');
  assert.deepEqual(web['readinessProbe'], { httpGet: { path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 5 });
  assert.deepEqual(web['livenessProbe'], {
    httpGet: { path: '/app-health/web/livez', port: 15020, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'kubelet' }] },
    timeoutSeconds: 3, failureThreshold: 4,
  });
});

test('tcpSocket probes become an httpGet on the status port, as Istio converts them', () => {
  const { pod } = injectAndApply(podWith([WEB]));
  assert.deepEqual(app(pod, 'web')['startupProbe'], { httpGet: { path: '/app-health/web/startupz', port: 15020 }, timeoutSeconds: 2, periodSeconds: 1, failureThreshold: 30 });
});

test('ISTIO_KUBE_APP_PROBERS: the originals keyed by path, named ports resolved, in the text Istio writes', () => {
  const { pod } = injectAndApply(podWith([WEB]));
  assert.equal(proxyEnv(pod, 'ISTIO_KUBE_APP_PROBERS'), '{'
    + '"/app-health/web/livez":{"httpGet":{"path":"/live","port":9090,"scheme":"HTTPS","httpHeaders":[{"name":"X-Probe","value":"kubelet"}]},"timeoutSeconds":3},'
    + '"/app-health/web/readyz":{"httpGet":{"path":"/ready","port":8080,"scheme":"HTTP"},"timeoutSeconds":1},'
    + '"/app-health/web/startupz":{"tcpSocket":{"port":9090},"timeoutSeconds":2}}');
  assert.equal(proxyEnv(pod, 'MESHGATE_APP_PROBE_PORT'), '15020');
});

test('every app container is rewritten under its own name; exec probes and the proxy\'s own probes are untouched', () => {
  const exec = { exec: { command: ['true'] }, periodSeconds: 10 };
  const { pod } = injectAndApply(podWith([{ name: 'a', readinessProbe: { httpGet: { port: 80 } } }, { name: 'b', livenessProbe: exec }]));
  assert.deepEqual(app(pod, 'a')['readinessProbe'], { httpGet: { port: 15020, path: '/app-health/a/readyz' } });
  assert.deepEqual(app(pod, 'b')['livenessProbe'], exec);
  assert.deepEqual(Object.keys(probers(pod)), ['/app-health/a/readyz']);
  assert.deepEqual((app(pod, 'istio-proxy')['readinessProbe'] as Obj)['httpGet'], { path: '/healthz/ready', port: 15021 });
});

test('a sidecar init container (restartPolicy Always) of the app is rewritten too; istio-init never', () => {
  const sidecar: Container = { name: 'log-shipper', restartPolicy: 'Always', readinessProbe: { tcpSocket: { port: 24224 } } };
  const { pod } = injectAndApply(podWith([{ name: 'app' }], undefined, [sidecar]));
  assert.deepEqual(app(pod, 'log-shipper')['readinessProbe'], { httpGet: { path: '/app-health/log-shipper/readyz', port: 15020 } });
  assert.deepEqual(probers(pod), { '/app-health/log-shipper/readyz': { tcpSocket: { port: 24224 } } });
});

test('the native layout rewrites the right containers though istio-init and istio-proxy are placed first', () => {
  const { pod } = injectAndApply(podWith([WEB], { 'sidecar.istio.io/nativeSidecar': 'true' }, [{ name: 'migrate' }]));
  assert.equal((app(pod, 'web')['readinessProbe'] as { httpGet: Obj }).httpGet['port'], 15020);
  assert.equal(app(pod, 'migrate')['readinessProbe'], undefined);
});

test('status.sidecar.istio.io/port moves the probes with it; port 0 leaves them as they are (nothing serves /app-health)', () => {
  const moved = injectAndApply(podWith([WEB], { 'status.sidecar.istio.io/port': '15999' })).pod;
  assert.equal((app(moved, 'web')['readinessProbe'] as { httpGet: Obj }).httpGet['port'], 15999);
  assert.equal(proxyEnv(moved, 'MESHGATE_APP_PROBE_PORT'), '15999');
  const off = injectAndApply(podWith([WEB], { 'status.sidecar.istio.io/port': '0' })).pod;
  assert.deepEqual(app(off, 'web')['readinessProbe'], WEB['readinessProbe']);
  assert.equal(proxyEnv(off, 'ISTIO_KUBE_APP_PROBERS'), undefined);
});

test('the annotation "false", or the value false, leaves probes alone; the annotation "true" beats the value false', () => {
  const off = injectAndApply(podWith([WEB], { 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' })).pod;
  assert.deepEqual(app(off, 'web')['livenessProbe'], WEB['livenessProbe']);
  assert.equal(proxyEnv(off, 'ISTIO_KUBE_APP_PROBERS'), undefined);
  const values = valuesFromDocument({ sidecarInjectorWebhook: { rewriteAppHTTPProbe: false } }, 't');
  assert.deepEqual(app(injectAndApply(podWith([WEB]), { values }).pod, 'web')['livenessProbe'], WEB['livenessProbe']);
  const on = injectAndApply(podWith([WEB], { 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' }), { values }).pod;
  assert.equal((app(on, 'web')['livenessProbe'] as { httpGet: Obj }).httpGet['port'], 15020);
});

test('re-injection is idempotent: rewritten probes are not rewritten again and their originals are kept', () => {
  const { pod } = injectAndApply(podWith([WEB]));
  const again = injectPod(pod, { values: defaultValues(), namespace: 'default' });
  assert.equal(again.kind, 'inject');
  assert.deepEqual(again.kind === 'inject' ? again.patch : undefined, [], 'a second injection is an empty patch');
  // With the old istio-proxy gone (a pod re-applied from its injected form without the proxy), nothing is invented.
  const spec = { ...pod.spec, containers: (pod.spec?.containers ?? []).filter((c) => c.name !== 'istio-proxy') };
  const outcome = injectPod({ ...pod, spec }, { values: defaultValues(), namespace: 'default' });
  assert.match(outcome.kind === 'inject' ? outcome.warnings.join('\n') : '', /readinessProbe: points at \/app-health\/web\/readyz on the status port, but no original probe is recorded/);
  const stripped = injectAndApply({ ...pod, spec }).pod;
  assert.equal(proxyEnv(stripped, 'ISTIO_KUBE_APP_PROBERS'), undefined);
  assert.equal((app(stripped, 'web')['readinessProbe'] as { httpGet: Obj }).httpGet['path'], '/app-health/web/readyz');
});

test('a forged ISTIO_KUBE_APP_PROBERS on a re-injected pod is checked like a probe: a bad entry is dropped, not carried', () => {
  const { pod } = injectAndApply(podWith([{ name: 'a', readinessProbe: { httpGet: { port: 80 } } }]));
  const proxy = app(pod, 'istio-proxy');
  const env = (proxy['env'] as Array<{ name: string; value?: string }>).map((e) => e.name === 'ISTIO_KUBE_APP_PROBERS'
    ? { ...e, value: JSON.stringify({ '/app-health/a/readyz': { httpGet: { port: 99999 } } }) } : e);
  const forged = { ...pod, spec: { ...pod.spec, containers: (pod.spec?.containers ?? []).map((c) => (c.name === 'istio-proxy' ? { ...c, env } : c)) } };
  assert.equal(proxyEnv(injectAndApply(forged).pod, 'ISTIO_KUBE_APP_PROBERS'), undefined);
});

test('a named port the container does not have denies the pod with the probe\'s path', () => {
  const outcome = injectPod(podWith([{ name: 'app', livenessProbe: { httpGet: { path: '/', port: 'metrics' } } }]), { values: defaultValues(), namespace: 'default' });
  assert.equal(outcome.kind, 'deny');
  const [error] = outcome.kind === 'deny' ? outcome.errors : [];
  assert.equal(error?.field, 'spec.containers[0].livenessProbe');
  assert.match(error?.message ?? '', /named port "metrics" is not a port of container "app"/);
});

test('gRPC probes: refused when the pod asks for the rewrite, left as they are (with a warning) under the default', () => {
  const grpc: Container = { name: 'api', readinessProbe: { grpc: { port: 9000 } } };
  const asked = injectPod(podWith([grpc], { 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' }), { values: defaultValues(), namespace: 'default' });
  assert.equal(asked.kind, 'deny');
  const [error] = asked.kind === 'deny' ? asked.errors : [];
  assert.equal(error?.field, 'spec.containers[0].readinessProbe.grpc');
  assert.match(error?.message ?? '', /does not run gRPC health checks.*rewriteAppHTTPProbers: "false"/);
  const byDefault = injectPod(podWith([grpc]), { values: defaultValues(), namespace: 'default' });
  assert.equal(byDefault.kind, 'inject');
  assert.match(byDefault.kind === 'inject' ? byDefault.warnings.join('\n') : '', /spec\.containers\[0\]\.readinessProbe: left as it is/);
  assert.deepEqual(app(injectAndApply(podWith([grpc])).pod, 'api')['readinessProbe'], { grpc: { port: 9000 } });
});

test('malformed probe fields deny with the probe\'s path instead of reaching the proxy', () => {
  for (const probe of [{ httpGet: { port: 80, scheme: 'FTP' } }, { httpGet: { port: 0 } }, { tcpSocket: {} },
    { httpGet: { port: 80, httpHeaders: Array.from({ length: 33 }, () => ({ name: 'a', value: 'b' })) } }]) {
    const outcome = injectPod(podWith([{ name: 'app', readinessProbe: probe }]), { values: defaultValues(), namespace: 'default' });
    assert.equal(outcome.kind, 'deny', JSON.stringify(probe));
    assert.equal(outcome.kind === 'deny' ? outcome.errors[0]?.field : '', 'spec.containers[0].readinessProbe');
  }
});

test('proxyMetadata cannot redefine the probe variables the injector writes (the proxy would run other probes)', () => {
  for (const name of ['ISTIO_KUBE_APP_PROBERS', 'MESHGATE_APP_PROBE_PORT']) {
    const outcome = injectPod(podWith([WEB], { 'proxy.istio.io/config': JSON.stringify({ proxyMetadata: { [name]: '{}' } }) }), { values: defaultValues(), namespace: 'default' });
    assert.equal(outcome.kind, 'deny');
    assert.equal(outcome.kind === 'deny' ? outcome.errors[0]?.field : '', `metadata.annotations[proxy.istio.io/config].proxyMetadata.${name}`);
  }
});
