// README "Install into a cluster", run against a real kube-apiserver with the real helm (test/cluster/build.sh):
// the `helm template -n istio-system | kubectl apply` path, the refusal next to Istio's webhooks and its override,
// then install, upgrade (which undoes a kubectl edit of a chart-owned ConfigMap) and uninstall (what stays).
// There is no kubelet: the webhook's pods never run, but every object helm creates and removes is real.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';

const NS = 'istio-system';
let cp: ControlPlane;
type Obj = Record<string, any>;

before(() => {
  cp = startControlPlane('10.97.0.0/16');
}, { timeout: 240_000 });

after(() => cp?.stop());

/** helm with the test cluster's kubeconfig; the result, not an exception, so refusals can be read. */
function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(cp.bin, 'helm'), args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, KUBECONFIG: cp.kubeconfig } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function helmOk(args: string[]): string {
  const result = helm(args);
  assert.equal(result.status, 0, `helm ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const exists = (kind: string, name: string, namespace?: string): boolean =>
  cp.kubectl(['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'name']).status === 0;

const webhookConfigurations = (): string[] => ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']
  .flatMap((kind) => cp.kubectlOk(['get', kind, '-o', 'name']).trim().split('\n').filter((line) => line !== ''))
  .sort();

const OURS = ['mutatingwebhookconfiguration.admissionregistration.k8s.io/meshgate-sidecar-injector', 'validatingwebhookconfiguration.admissionregistration.k8s.io/meshgate-validator'];

test('README: helm template -n istio-system … --show-only the injector ConfigMap | kubectl apply lands in istio-system', () => {
  cp.kubectlOk(['create', 'namespace', NS]);
  const rendered = helmOk(['template', 'charts/meshgate', '-n', NS, '--set', 'global.proxy.includeIPRanges=10.0.0.1/24', '--show-only', 'templates/sidecar-injector-configmap.yaml']);
  cp.kubectlOk(['apply', '-f', '-'], rendered);
  const configMap = JSON.parse(cp.kubectlOk(['get', 'configmap', 'istio-sidecar-injector', '-n', NS, '-o', 'json'])) as Obj;
  assert.match(configMap.data.values, /10\.0\.0\.1\/24/);
  assert.ok(!exists('configmap', 'istio-sidecar-injector', 'default'), 'nothing rendered into default');
  // Applied by kubectl, it is not helm's: remove it so the install below owns it.
  cp.kubectlOk(['delete', 'configmap', 'istio-sidecar-injector', '-n', NS]);
});

test("next to Istio's injector, helm install refuses with the reason and creates nothing; coexist=true installs", () => {
  // Istio's injector configuration, as istiod's chart names it; it selects no object, so it never intercepts.
  cp.kubectlOk(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'istio-sidecar-injector' },
    webhooks: [{
      name: 'sidecar-injector.istio.io', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore',
      clientConfig: { url: 'https://127.0.0.1:1/inject' }, objectSelector: { matchLabels: { 'never.example/match': 'true' } },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    }],
  }));
  const refused = helm(['install', 'meshgate', 'charts/meshgate', '-n', NS]);
  assert.notEqual(refused.status, 0, refused.stdout);
  assert.match(refused.stderr, /Istio is installed in this cluster \(MutatingWebhookConfiguration istio-sidecar-injector\)/);
  assert.match(refused.stderr, /--set coexist=true/);
  assert.deepEqual(webhookConfigurations(), ['mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector']);
  assert.ok(!exists('deployment', 'meshgate-webhook', NS), 'no Deployment created');

  helmOk(['install', 'meshgate', 'charts/meshgate', '-n', NS, '--set', 'coexist=true']);
  assert.deepEqual(webhookConfigurations(), [...OURS, 'mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector'].sort());
  helmOk(['uninstall', 'meshgate', '-n', NS]);
  cp.kubectlOk(['delete', 'mutatingwebhookconfiguration', 'istio-sidecar-injector']);
});

test('helm install creates the webhooks, CRDs and ConfigMaps; upgrade applies --set and undoes kubectl edits; uninstall keeps the CRDs and the istio ConfigMap', () => {
  helmOk(['install', 'meshgate', 'charts/meshgate', '-n', NS, '--create-namespace']);
  assert.deepEqual(webhookConfigurations(), OURS);
  for (const crd of ['serviceentries.networking.istio.io', 'virtualservices.networking.istio.io']) assert.ok(exists('crd', crd), crd);
  for (const [kind, name] of [['deployment', 'meshgate-webhook'], ['service', 'meshgate-webhook'], ['configmap', 'istio'], ['configmap', 'istio-sidecar-injector']] as const) {
    assert.ok(exists(kind, name, NS), `${kind}/${name}`);
  }
  const mutating = JSON.parse(cp.kubectlOk(['get', 'mutatingwebhookconfiguration', 'meshgate-sidecar-injector', '-o', 'json'])) as Obj;
  assert.ok(mutating.webhooks.every((w: Obj) => w.clientConfig.service.namespace === NS && w.clientConfig.caBundle), 'pointed at the Service with a CA');

  // The README's note: a kubectl edit of a chart-owned ConfigMap lasts until the next helm upgrade.
  cp.kubectlOk(['patch', 'configmap', 'istio-sidecar-injector', '-n', NS, '--type', 'merge', '-p', JSON.stringify({ data: { values: '{"global": {"proxy": {"includeIPRanges": "192.168.0.0/16"}}}' } })]);
  helmOk(['upgrade', 'meshgate', 'charts/meshgate', '-n', NS, '--set', 'global.outboundTrafficPolicy.mode=REGISTRY_ONLY']);
  const mesh = JSON.parse(cp.kubectlOk(['get', 'configmap', 'istio', '-n', NS, '-o', 'json'])) as Obj;
  assert.match(mesh.data.mesh, /mode: REGISTRY_ONLY/);
  const injector = JSON.parse(cp.kubectlOk(['get', 'configmap', 'istio-sidecar-injector', '-n', NS, '-o', 'json'])) as Obj;
  assert.doesNotMatch(injector.data.values, /192\.168\.0\.0\/16/, 'the kubectl edit was undone by helm upgrade');
  assert.match(helmOk(['history', 'meshgate', '-n', NS]), /^2\s+.*deployed/m);

  helmOk(['uninstall', 'meshgate', '-n', NS]);
  assert.deepEqual(webhookConfigurations(), []);
  assert.ok(!exists('deployment', 'meshgate-webhook', NS));
  assert.ok(!exists('configmap', 'istio-sidecar-injector', NS), 'the injector ConfigMap goes with the release');
  for (const crd of ['serviceentries.networking.istio.io', 'virtualservices.networking.istio.io']) assert.ok(exists('crd', crd), `${crd} stays`);
  const kept = JSON.parse(cp.kubectlOk(['get', 'configmap', 'istio', '-n', NS, '-o', 'json'])) as Obj;
  assert.match(kept.data.mesh, /mode: REGISTRY_ONLY/, 'the istio ConfigMap stays with the last policy');

  // Installing again adopts what was kept (same release name and namespace).
  helmOk(['install', 'meshgate', 'charts/meshgate', '-n', NS]);
  assert.deepEqual(webhookConfigurations(), OURS);
  helmOk(['uninstall', 'meshgate', '-n', NS]);
});
