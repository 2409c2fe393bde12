// Issue 15, item 5: the chart's hardening, checked by the real API server. The webhook runs as a local process
// reached by URL; the chart's configurations carry the matchConditions, so what they skip never reaches it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, helm, startControlPlane, startWebhookProcess, type ControlPlane, type WebhookProcess } from '../helpers/control-plane.ts';

let cp: ControlPlane;
let webhook: WebhookProcess;

before(async () => {
  cp = startControlPlane('10.96.0.0/16');
  cp.kubectlOk(['create', 'namespace', 'istio-system']);
  const port = freePort();
  webhook = await startWebhookProcess([], port, join(mkdtempSync(join(tmpdir(), 'meshgate-e2e-chart-')), 'certs'));
  cp.kubectlOk(['apply', '-f', '-'], helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system',
    '--set', 'serverless.enabled=true', '--set', `serverless.url=https://127.0.0.1:${port}`, '--set', `serverless.caBundle=${webhook.caBundle}`,
    '--show-only', 'templates/webhook-configurations.yaml']));
}, { timeout: 240_000 });

after(async () => {
  await webhook?.stop();
  cp?.stop();
});

function injectionCalls(): number {
  // /metrics over the process's own TLS, read with curl and the generated CA (no trust store change).
  const text = execFileSync('curl', ['-s', '--cacert', join(webhook.certDir, 'ca.crt'), `https://127.0.0.1:${webhook.port}/metrics`], { encoding: 'utf8' });
  return Number(/^sidecar_injection_requests_total (\d+)/m.exec(text)?.[1] ?? 0);
}

const pod = (name: string, spec: Record<string, unknown> = {}, annotations: Record<string, string> = {}): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', annotations },
  spec: { containers: [{ name: 'app', image: 'busybox' }], ...spec },
});

test('matchConditions: hostNetwork and already-injected pods are skipped by the API server, a plain pod is reviewed', () => {
  cp.kubectlOk(['create', 'namespace', 'shop']);
  cp.kubectlOk(['label', 'namespace', 'shop', 'istio-injection=enabled']);
  const before = injectionCalls();
  cp.kubectlOk(['apply', '--dry-run=server', '-f', '-'], pod('host', { hostNetwork: true }));
  cp.kubectlOk(['apply', '--dry-run=server', '-f', '-'], pod('done', {}, { 'sidecar.istio.io/status': '{}' }));
  assert.equal(injectionCalls(), before, 'the webhook was called for a pod the matchConditions skip');
  const out = cp.kubectlOk(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], pod('plain'));
  assert.equal(injectionCalls(), before + 1);
  assert.ok((JSON.parse(out) as { spec: { containers: Array<{ name: string }> } }).spec.containers.some((c) => c.name === 'istio-proxy'));
});

test('the hardened chart (priority class, spread, NetworkPolicy, preStop) is accepted by the API server (server-side dry run)', () => {
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'crds.install=false',
    '--set', 'webhook.priorityClassName=system-cluster-critical', '--set', 'webhook.networkPolicy.apiServerSources[0].ipBlock.cidr=10.0.0.10/32']);
  const result = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], rendered);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /networkpolicy\.networking\.k8s\.io\/meshgate-webhook created \(server dry run\)/);
  assert.match(result.stdout, /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/meshgate-validator (created|configured) \(server dry run\)/);
  assert.match(rendered, /priorityClassName: system-cluster-critical/);
  assert.match(rendered, /sleep: \{seconds: 10\}/);
});
