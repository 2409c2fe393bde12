// End to end against a real kube-apiserver and kube-controller-manager (built from the upstream Go modules by
// test/cluster/build.sh): the webhook runs as a local process, the chart's webhook configurations point at it by
// URL with its generated CA, and everything is asserted through kubectl as a user would see it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates } from '../../src/admission/tls.ts';
import { discoverWithCli } from '../helpers/ranges-e2e.ts';
import { eventually, freePort, helm, startControlPlane, startWebhookProcess, type ControlPlane, type WebhookProcess } from '../helpers/control-plane.ts';

const SERVICE_CIDR = '10.96.0.0/16';
let cp: ControlPlane;
let webhook: WebhookProcess;
let certDir: string;
let port: number;
type Obj = Record<string, any>;

const webhookArgs = (): string[] => ['--values-configmap', 'istio-system/istio-sidecar-injector', '--kubeconfig', cp.kubeconfig, '--discover-ranges'];

before(async () => {
  cp = startControlPlane(SERVICE_CIDR);
  cp.kubectlOk(['create', 'namespace', 'istio-system']);
  certDir = join(mkdtempSync(join(tmpdir(), 'meshgate-e2e-')), 'certs');
  port = freePort();
  webhook = await startWebhookProcess(webhookArgs(), port, certDir);
  // The chart's own webhook configurations (Istio's selectors), pointed at the local process by URL.
  // `auto`: these tests are about the discovered ranges (the chart's default is Istio's `*`).
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'global.proxy.includeIPRanges=auto',
    '--set', 'serverless.enabled=true', '--set', `serverless.url=https://127.0.0.1:${port}`, '--set', `serverless.caBundle=${webhook.caBundle}`,
    '--show-only', 'templates/crds.yaml', '--show-only', 'templates/webhook-configurations.yaml',
    '--show-only', 'templates/mesh-configmap.yaml', '--show-only', 'templates/sidecar-injector-configmap.yaml']);
  cp.kubectlOk(['apply', '-f', '-'], rendered);
  cp.kubectlOk(['wait', '--for=condition=Established', 'crd/serviceentries.networking.istio.io', 'crd/virtualservices.networking.istio.io', '--timeout=30s']);
}, { timeout: 240_000 });

after(async () => {
  await webhook?.stop();
  cp?.stop();
});

function pods(namespace: string, selector: string): Obj[] {
  return (JSON.parse(cp.kubectlOk(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as Obj).items as Obj[];
}

const containerNames = (pod: Obj): string[] => pod.spec.containers.map((c: Obj) => c.name);
const initNames = (pod: Obj): string[] => (pod.spec.initContainers ?? []).map((c: Obj) => c.name);
const initArg = (pod: Obj, flag: string): string | undefined => {
  const args = (pod.spec.initContainers as Obj[]).find((c) => c.name === 'istio-init')?.args as string[] | undefined;
  return args ? args[args.indexOf(flag) + 1] : undefined;
};

function podManifest(name: string, namespace: string, labels: Record<string, string> = {}, spec: Obj = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'app', image: 'curlimages/curl', command: ['sleep', 'infinity'] }], ...spec } });
}

test('a labelled namespace: the sleep Deployment\'s pod gets istio-init and istio-proxy with the discovered ranges', async () => {
  cp.kubectlOk(['label', 'namespace', 'default', 'istio-injection=enabled']);
  cp.kubectlOk(['apply', '-f', 'samples/sleep/sleep.yaml']);
  const pod = await eventually('the ReplicaSet to create the sleep pod', () => pods('default', 'app=sleep')[0]);
  assert.deepEqual(containerNames(pod), ['sleep', 'istio-proxy']);
  assert.deepEqual(initNames(pod), ['istio-init']);
  assert.equal(initArg(pod, '-i'), SERVICE_CIDR);
  const capture = JSON.parse(pod.metadata.annotations['meshgate.io/capture-ranges']) as Obj;
  assert.equal(capture['includeSource'], 'discovery:ServiceCIDR');
  assert.ok(pod.metadata.annotations['sidecar.istio.io/status']);
});

test('an unlabelled namespace is not injected', async () => {
  cp.kubectlOk(['create', 'namespace', 'plain']);
  cp.kubectlOk(['apply', '-n', 'plain', '-f', 'samples/sleep/sleep.yaml']);
  const pod = await eventually('the sleep pod in plain', () => pods('plain', 'app=sleep')[0]);
  assert.deepEqual(containerNames(pod), ['sleep']);
});

test('the pod label sidecar.istio.io/inject=true opts in from an unlabelled namespace', () => {
  cp.kubectlOk(['apply', '-f', '-'], podManifest('opted-in', 'plain', { 'sidecar.istio.io/inject': 'true' }));
  const pod = JSON.parse(cp.kubectlOk(['get', 'pod', '-n', 'plain', 'opted-in', '-o', 'json'])) as Obj;
  assert.deepEqual(containerNames(pod), ['app', 'istio-proxy']);
});

test('istio-injection=disabled beats the pod label', () => {
  cp.kubectlOk(['create', 'namespace', 'off']);
  cp.kubectlOk(['label', 'namespace', 'off', 'istio-injection=disabled']);
  cp.kubectlOk(['apply', '-f', '-'], podManifest('wants-in', 'off', { 'sidecar.istio.io/inject': 'true' }));
  const pod = JSON.parse(cp.kubectlOk(['get', 'pod', '-n', 'off', 'wants-in', '-o', 'json'])) as Obj;
  assert.deepEqual(containerNames(pod), ['app']);
});

test('hostNetwork pods and kube-system are never injected', () => {
  cp.kubectlOk(['apply', '-f', '-'], podManifest('host-net', 'default', {}, { hostNetwork: true }));
  assert.deepEqual(containerNames(JSON.parse(cp.kubectlOk(['get', 'pod', 'host-net', '-o', 'json']))), ['app']);
  cp.kubectlOk(['label', 'namespace', 'kube-system', 'istio-injection=enabled', '--overwrite']);
  cp.kubectlOk(['apply', '-f', '-'], podManifest('system', 'kube-system', { 'sidecar.istio.io/inject': 'true' }));
  assert.deepEqual(containerNames(JSON.parse(cp.kubectlOk(['get', 'pod', '-n', 'kube-system', 'system', '-o', 'json']))), ['app']);
  cp.kubectlOk(['label', 'namespace', 'kube-system', 'istio-injection-']);
});

test('kubectl apply --dry-run=server shows the injected pod and persists nothing', () => {
  const out = JSON.parse(cp.kubectlOk(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], podManifest('dry', 'default'))) as Obj;
  assert.deepEqual(containerNames(out), ['app', 'istio-proxy']);
  assert.notEqual(cp.kubectl(['get', 'pod', 'dry']).status, 0);
});

test('the native-sidecar layout is accepted by the API server: istio-proxy as a restartable init container', () => {
  const pod = JSON.parse(podManifest('native', 'default')) as Obj;
  pod.metadata.annotations = { 'sidecar.istio.io/nativeSidecar': 'true' };
  pod.spec.initContainers = [{ name: 'migrate', image: 'busybox', command: ['true'] }];
  const out = JSON.parse(cp.kubectlOk(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod))) as Obj;
  assert.deepEqual(initNames(out), ['istio-init', 'istio-proxy', 'migrate']);
  assert.equal((out.spec.initContainers as Obj[])[1]!.restartPolicy, 'Always');
  assert.deepEqual(containerNames(out), ['app']);
});

test('an invalid annotation is refused by the API server with the annotation named', () => {
  const pod = JSON.parse(podManifest('bad-ranges', 'default')) as Obj;
  pod.metadata.annotations = { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '*' };
  const result = cp.kubectl(['apply', '-f', '-'], JSON.stringify(pod));
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /denied the request: .*metadata\.annotations\[traffic\.sidecar\.istio\.io\/excludeOutboundIPRanges\]/);
});

test('the injector values follow the istio-sidecar-injector ConfigMap', async () => {
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'global.proxy.includeIPRanges=10.0.0.1/24',
    '--show-only', 'templates/sidecar-injector-configmap.yaml']);
  cp.kubectlOk(['apply', '-f', '-'], rendered);
  let attempt = 0;
  const pod = await eventually('a pod injected with the new values', () => {
    attempt += 1;
    const out = JSON.parse(cp.kubectlOk(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], podManifest(`values-${attempt}`, 'default'))) as Obj;
    return initArg(out, '-i') === '10.0.0.1/24' ? out : undefined;
  }, 10_000);
  assert.equal(JSON.parse(pod.metadata.annotations['meshgate.io/capture-ranges']).includeSource, 'values');
  // Back to auto for the tests after this one.
  cp.kubectlOk(['apply', '-f', '-'], helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'global.proxy.includeIPRanges=auto', '--show-only', 'templates/sidecar-injector-configmap.yaml']));
});

test("the seed's ServiceEntries and VirtualService are accepted, on apply and on a server-side dry run", () => {
  for (const file of ['httpbin-ext.yaml', 'google.yaml', 'httpbin-timeout.yaml']) {
    const dry = cp.kubectl(['apply', '--dry-run=server', '-f', `test/fixtures/egress/${file}`]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /\(server dry run\)/);
    cp.kubectlOk(['apply', '-f', `test/fixtures/egress/${file}`]);
  }
  assert.match(cp.kubectlOk(['get', 'serviceentries,virtualservices', '-o', 'name']), /serviceentry\.networking\.istio\.io\/google/);
});

const refusals: Array<[string, RegExp]> = [
  ['mid-wildcard', /denied the request:[\s\S]*spec\.hosts\[0\]: domain name invalid/],
  ['port-too-big', /denied the request:[\s\S]*spec\.ports\[0\]\.number: port number must be in the range 1\.\.65535 \(70000\)/],
  ['bad-timeout', /denied the request:[\s\S]*spec\.http\[0\]\.timeout: .*\("3 seconds"\)/],
  // The CRD's structural schema (required: destination) answers before the webhook; both name the field.
  ['no-destination', /spec\.http\[0\]\.route\[0\]\.destination/],
];
for (const [name, message] of refusals) {
  test(`a bad manifest is refused by the API server with the field path: ${name}`, () => {
    const documents = readFileSync('test/fixtures/e2e-invalid/bad.yaml', 'utf8').split(/^---$/m);
    const document = documents.find((d) => d.includes(`name: ${name}`));
    for (const mode of [['apply'], ['apply', '--dry-run=server']]) {
      const result = cp.kubectl([...mode, '-f', '-'], document);
      assert.notEqual(result.status, 0, `${mode.join(' ')} accepted ${name}`);
      assert.match(result.stderr, message);
    }
  });
}

test('current Istio fields pass the CRD and reach the webhook: DYNAMIC_DNS accepted, a 0s retry backoff refused (not pruned)', () => {
  const dynamic = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dynamic-dns, namespace: default}
spec:
  hosts: ["*.example.com"]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DYNAMIC_DNS
`;
  const accepted = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], dynamic);
  assert.equal(accepted.status, 0, accepted.stderr);
  const backoff = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: zero-backoff, namespace: default}
spec:
  hosts: [reviews.example.com]
  http:
  - retries: {attempts: 2, backoff: 0s}
    route:
    - destination: {host: reviews.example.com}
`;
  const refused = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], backoff);
  assert.notEqual(refused.status, 0, 'a 0s backoff was accepted: the CRD pruned it or the webhook did not check it');
  assert.match(refused.stderr, /spec\.http\[0\]\.retries\.backoff: duration must be at least 1ms/);
});

test('meshgate ranges --platform auto finds the API server\'s service range', () => {
  const result = discoverWithCli(cp.kubeconfig);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.report?.include, [SERVICE_CIDR]);
  assert.match(result.report?.source ?? "", /^discovery:ServiceCIDR/);
});

test('failure modes: webhook down refuses labelled namespaces only; a restart heals; a rotated certificate fails nothing', async () => {
  await webhook.stop();
  const refused = cp.kubectl(['apply', '-f', '-'], podManifest('while-down', 'default'));
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /failed calling webhook/);
  cp.kubectlOk(['apply', '-f', '-'], podManifest('unaffected', 'plain'));

  webhook = await startWebhookProcess(webhookArgs(), port, certDir);
  await eventually('admission to work again', () => (cp.kubectl(['apply', '-f', '-'], podManifest('after-restart', 'default')).status === 0 ? true : undefined));

  // Rotate: a new serving pair signed by the same CA, written while pods are being created.
  const next = mkdtempSync(join(tmpdir(), 'meshgate-rotate-'));
  writeFileSync(join(next, 'ca.crt'), readFileSync(join(certDir, 'ca.crt')));
  await ensureCertificates(next, ['localhost'], { caDir: certDir });
  let failures = 0;
  for (let i = 0; i < 12; i += 1) {
    if (i === 4) {
      copyFileSync(join(next, 'tls.key'), join(certDir, 'tls.key'));
      copyFileSync(join(next, 'tls.crt'), join(certDir, 'tls.crt'));
    }
    if (cp.kubectl(['apply', '-f', '-'], podManifest(`rotation-${i}`, 'default')).status !== 0) failures += 1;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.equal(failures, 0);
  assert.match(webhook.logs(), /serving certificate reloaded/);
});

test('the full chart renders and the real API server accepts it (server-side dry run)', () => {
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'crds.install=false']);
  const result = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], rendered);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /deployment\.apps\/meshgate-webhook created \(server dry run\)/);
  assert.match(result.stdout, /mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/meshgate-sidecar-injector (created|configured) \(server dry run\)/);
});

test('helm lint is clean and values.schema.json refuses a bad value with its path', () => {
  assert.match(helm(cp, ['lint', 'charts/meshgate']), /1 chart\(s\) linted, 0 chart\(s\) failed/);
  assert.throws(() => helm(cp, ['template', 'x', 'charts/meshgate', '--set', 'global.outboundTrafficPolicy.mode=BLOCK_ALL']),
    (error: Error & { stderr?: string }) => /outboundTrafficPolicy\/mode/.test(String(error.stderr ?? error.message)));
});

test('serverless mode renders a Knative Service with a minimum scale and URL webhooks instead of the Deployment', () => {
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'serverless.enabled=true',
    '--set', 'serverless.url=https://meshgate.example.com', '--set', 'serverless.caBundle=Zm9v']);
  assert.match(rendered, /kind: Service\napiVersion: serving\.knative\.dev\/v1|apiVersion: serving\.knative\.dev\/v1\nkind: Service/);
  assert.match(rendered, /autoscaling\.knative\.dev\/min-scale: "1"/);
  assert.match(rendered, /url: https:\/\/meshgate\.example\.com\/inject/);
  // meshgate control stays a Deployment: it is always on, also when the webhook is serverless.
  const webhookDocs = rendered.split(/^---$/m).filter((d) => !d.includes('# Source: meshgate/templates/control'));
  assert.ok(!webhookDocs.some((d) => /kind: Deployment/.test(d)), 'no webhook Deployment in serverless mode');
});

test('Istio\'s injection annotations: the API server accepts the injected pod; a refused annotation is denied by name', () => {
  const annotated = (name: string, annotations: Record<string, string>): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', annotations },
    spec: { containers: [{ name: 'app', image: 'curlimages/curl', command: ['sleep', 'infinity'] }] } });
  const out = JSON.parse(cp.kubectlOk(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], annotated('surface', {
    'sidecar.istio.io/userVolume': '{"certs":{"secret":{"secretName":"egress-certs","optional":true}}}',
    'sidecar.istio.io/userVolumeMount': '{"certs":{"mountPath":"/etc/certs","readOnly":true}}',
    'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\nterminationDrainDuration: 10s\nproxyMetadata: {EXTRA: "1"}\n',
    'readiness.status.sidecar.istio.io/periodSeconds': '5',
    'prometheus.istio.io/merge-metrics': 'true',
  }))) as Obj;
  assert.deepEqual(containerNames(out), ['istio-proxy', 'app'], 'hold: the proxy first');
  const proxy = (out.spec.containers as Obj[])[0] as Obj;
  assert.ok(proxy.lifecycle.postStart.exec.command.length > 0);
  assert.equal(proxy.readinessProbe.periodSeconds, 5);
  assert.ok(proxy.startupProbe);
  assert.deepEqual((out.spec.volumes as Obj[]).map((v) => v.name).filter((n) => n === 'certs' || n === 'istio-envoy'), ['istio-envoy', 'certs']);
  assert.equal(out.metadata.annotations['prometheus.io/port'], '15090');

  const none = JSON.parse(cp.kubectlOk(['apply', '--dry-run=server', '-o', 'json', '-f', '-'],
    annotated('no-capture', { 'sidecar.istio.io/interceptionMode': 'NONE', 'status.sidecar.istio.io/port': '0' }))) as Obj;
  assert.deepEqual(initNames(none), []);
  assert.equal((none.spec.containers as Obj[]).find((c) => c.name === 'istio-proxy')?.readinessProbe, undefined);

  const refused = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], annotated('refused', { 'sidecar.istio.io/bootstrapOverride': 'custom' }));
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /metadata\.annotations\[sidecar\.istio\.io\/bootstrapOverride\]: Istio annotation not implemented by meshgate/);
});
