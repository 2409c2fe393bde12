// The chart's values.schema.json refuses what the webhook refuses, so `helm install --set` fails before anything is
// installed (issue 9 defect 2), and what the chart writes into istio-sidecar-injector loads in the webhook. Uses the
// real helm built by test/cluster/build.sh; `helm template` needs no cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { valuesFromDocument, ValuesError } from '../../../src/inject/values.ts';

function findHelm(): string | undefined {
  const root = process.env['MESHGATE_BIN_CACHE'] ?? join(homedir(), '.cache', 'meshgate-bin');
  if (!existsSync(root)) return undefined;
  return readdirSync(root).map((version) => join(root, version, 'helm')).find((path) => existsSync(path));
}

const helm = findHelm();
const skip = helm ? false : 'helm is not built yet (test/cluster/build.sh puts it in ~/.cache/meshgate-bin/<version>/)';

function render(sets: string[], template = 'templates/sidecar-injector-configmap.yaml'): { status: number | null; stdout: string; stderr: string } {
  const args = ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', ...sets.flatMap((s) => ['--set', s]), '--show-only', template];
  const result = spawnSync(helm as string, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function renderedConfigMap(sets: string[]): Record<string, unknown> {
  const result = render(sets);
  assert.equal(result.status, 0, result.stderr);
  return parseAllDocuments(result.stdout).map((d) => d.toJS()).find((d) => d?.kind === 'ConfigMap');
}

test('the default chart writes values the webhook loads, with Istio\'s "*" capture', { skip }, () => {
  const values = valuesFromDocument(renderedConfigMap([]), 'chart');
  assert.equal(values.global.proxy.includeIPRanges, '*');
  assert.equal(values.sidecarInjectorWebhook.rewriteAppHTTPProbe, true, 'Istio\'s default');
});

test('the seed\'s --set values render and load: host bits, auto, escaped lists, status port 0', { skip }, () => {
  const cases: Array<[string, (v: ReturnType<typeof valuesFromDocument>) => unknown, unknown]> = [
    ['global.proxy.includeIPRanges=10.0.0.1/24', (v) => v.global.proxy.includeIPRanges, '10.0.0.1/24'],
    ['global.proxy.includeIPRanges=auto', (v) => v.global.proxy.includeIPRanges, 'auto'],
    ['global.proxy.includeIPRanges=172.30.0.0/16\\,172.21.0.0/16\\,10.10.10.0/24', (v) => v.global.proxy.includeIPRanges, '172.30.0.0/16,172.21.0.0/16,10.10.10.0/24'],
    ['global.proxy.statusPort=0', (v) => v.global.proxy.statusPort, 0],
    ['global.proxy.excludeInboundPorts=8080', (v) => v.global.proxy.excludeInboundPorts, '8080'],
    ['global.imagePullSecrets[0]=regcred', (v) => v.global.imagePullSecrets, ['regcred']],
    ['meshConfig.defaultConfig.holdApplicationUntilProxyStarts=true', (v) => v.meshConfig.defaultConfig['holdApplicationUntilProxyStarts'], true],
  ];
  for (const [set, read, expected] of cases) assert.deepEqual(read(valuesFromDocument(renderedConfigMap([set]), set)), expected, set);
});

// Each bad value: helm refuses it (schema, with the path), and the webhook refuses the same value at load.
const refused: Array<{ set: string; path: string; override: Record<string, unknown> }> = [
  { set: 'global.proxy.includeIPRanges=10.0.0.0/99', path: '/global/proxy/includeIPRanges', override: { global: { proxy: { includeIPRanges: '10.0.0.0/99' } } } },
  { set: 'global.proxy.includeIPRanges=10.0.0.0/33', path: '/global/proxy/includeIPRanges', override: { global: { proxy: { includeIPRanges: '10.0.0.0/33' } } } },
  { set: 'global.proxy.includeIPRanges=garbage', path: '/global/proxy/includeIPRanges', override: { global: { proxy: { includeIPRanges: 'garbage' } } } },
  { set: 'global.proxy.excludeIPRanges=*', path: '/global/proxy/excludeIPRanges', override: { global: { proxy: { excludeIPRanges: '*' } } } },
  { set: 'global.proxy.excludeInboundPorts=99999', path: '/global/proxy/excludeInboundPorts', override: { global: { proxy: { excludeInboundPorts: 99999 } } } },
  { set: 'global.proxy.includeOutboundPorts=80\\,0', path: '/global/proxy/includeOutboundPorts', override: { global: { proxy: { includeOutboundPorts: '80,0' } } } },
  { set: 'global.proxy.statusPort=70000', path: '/global/proxy/statusPort', override: { global: { proxy: { statusPort: 70000 } } } },
  { set: 'global.proxy.tracer=zipkin', path: '/global/proxy', override: { global: { proxy: { tracer: 'zipkin' } } } },
  { set: 'sidecarInjectorWebhook.rewriteAppHTTPProbe=maybe', path: '/sidecarInjectorWebhook/rewriteAppHTTPProbe', override: { sidecarInjectorWebhook: { rewriteAppHTTPProbe: 'maybe' } } },
  { set: 'meshConfig.defaultConfig.tracing.sampling=1', path: '/meshConfig/defaultConfig', override: { meshConfig: { defaultConfig: { tracing: { sampling: 1 } } } } },
  { set: 'global.proxy.readinessPeriodSeconds=0', path: '/global/proxy/readinessPeriodSeconds', override: { global: { proxy: { readinessPeriodSeconds: 0 } } } },
];

for (const c of refused) {
  test(`helm refuses --set ${c.set} before anything is installed, as the webhook does`, { skip }, () => {
    const result = render([c.set]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /values don't meet the specifications of the schema/);
    assert.ok(result.stderr.includes(`'${c.path}'`), result.stderr);
    assert.throws(() => valuesFromDocument(c.override, 'values'), ValuesError);
  });
}

test('enableNamespacesByDefault: every namespace not labelled istio-injection=disabled', { skip }, () => {
  const result = render(['sidecarInjectorWebhook.enableNamespacesByDefault=true'], 'templates/webhook-configurations.yaml');
  assert.equal(result.status, 0, result.stderr);
  const hooks = parseAllDocuments(result.stdout).map((d) => d.toJS()).find((d) => d?.kind === 'MutatingWebhookConfiguration').webhooks as Array<{ name: string; namespaceSelector: { matchExpressions: unknown[] } }>;
  const namespaceHook = hooks.find((h) => h.name === 'namespace.sidecar-injector.meshgate.io');
  assert.deepEqual(namespaceHook?.namespaceSelector.matchExpressions.slice(0, 2), [
    { key: 'istio-injection', operator: 'NotIn', values: ['disabled'] },
    { key: 'istio.io/rev', operator: 'DoesNotExist' },
  ]);
  assert.equal(hooks.some((h) => h.name === 'object.sidecar-injector.meshgate.io'), false, 'the namespace hook already covers unlabelled namespaces');
  const defaults = render([], 'templates/webhook-configurations.yaml');
  assert.match(defaults.stdout, /rev\.object\.sidecar-injector\.meshgate\.io/, 'a pod labelled istio.io/rev=default is injected from an unlabelled namespace');
});

// Sidecars fetch their snapshot from meshgate control with a projected token: no binding may grant mesh config (or
// anything) to every service account, and only the control plane's own ServiceAccount reads ServiceEntries.
test('no RBAC binding names system:serviceaccounts; only meshgate control reads the mesh config', { skip }, () => {
  const result = spawnSync(helm as string, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  type Obj = Record<string, any>;
  const documents = parseAllDocuments(result.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
  const bindings = documents.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding');
  assert.ok(bindings.length > 0);
  for (const binding of bindings) {
    for (const subject of binding.subjects ?? []) assert.notEqual(subject.name, 'system:serviceaccounts', `${binding.kind} ${binding.metadata.name}`);
  }
  const readsMesh = documents.filter((d) => (d.kind === 'Role' || d.kind === 'ClusterRole')
    && (d.rules ?? []).some((r: Obj) => (r.apiGroups ?? []).includes('networking.istio.io')));
  const subjectsOf = (role: Obj): string[] => bindings.filter((b) => b.roleRef.name === role.metadata.name && b.roleRef.kind === role.kind)
    .flatMap((b) => (b.subjects ?? []).map((s: Obj) => `${s.kind}/${s.name}`));
  assert.deepEqual(readsMesh.flatMap(subjectsOf), ['ServiceAccount/meshgate-control']);
});

test("the webhook container gets the chart's allocator and its settings, and an empty value drops each", { skip }, () => {
  const env = (sets: string[]): Record<string, string> => {
    const result = render(sets, 'templates/deployment.yaml');
    assert.equal(result.status, 0, result.stderr);
    const deployment = parseAllDocuments(result.stdout).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'webhook') ?? deployment.spec.template.spec.containers[0];
    return Object.fromEntries((container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value ?? '']));
  };
  const defaults = env([]);
  assert.equal(defaults['LD_PRELOAD'], '/usr/local/lib/libjemalloc.so.2');
  assert.equal(defaults['MALLOC_CONF'], 'narenas:1,tcache:false', 'one arena, no thread caches: the memory test\'s peak');
  const none = env(['webhook.ldPreload=', 'webhook.mallocConf=']);
  assert.equal(none['LD_PRELOAD'], undefined);
  assert.equal(none['MALLOC_CONF'], undefined);
});
