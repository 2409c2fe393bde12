// The admitted pod, run as a kubelet would run it minus the container runtime: the API server injects the sleep
// pod, then its istio-init command (args from the admitted spec) programs a fresh network namespace, and its
// istio-proxy command runs there as UID 1337, reading ServiceEntries, VirtualServices and the `istio` ConfigMap from
// this API server through client-node with the pod's service-account token. curl, as the app's UID, then follows
// Istio's egress task, with the config changed through kubectl the way the task changes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { curl, inNamespace, startNode, waitFor, type CurlResult, type Running } from '../netns/harness/processes.ts';
import { startSites, type Sites } from '../netns/harness/sites.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from '../netns/harness/topology.ts';
import { eventually, freePort, helm, startControlPlane, startWebhookProcess, type ControlPlane, type WebhookProcess } from '../helpers/control-plane.ts';

const skip = unavailableReason();
const APP_UID = 1000;
const API_PORT_IN_POD = 16443;
type Obj = Record<string, any>;

describe('the injected sleep pod, run without a container runtime', { skip }, () => {
  let cp: ControlPlane;
  let webhook: WebhookProcess;
  let topology: Topology;
  let sites: Sites | undefined;
  let work: string;
  const running: Running[] = [];
  let proxy: Running;
  let pod: Obj;

  const app = (url: string, maxSeconds = 15): CurlResult => curl(topology.pod, APP_UID, url, ['--cacert', sites?.caBundle ?? ''], maxSeconds);
  const container = (name: string): Obj => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c: Obj) => c.name === name);
  /** The task's own command for switching the policy. */
  const switchMode = (from: string, to: string): void => {
    const current = cp.kubectlOk(['get', 'configmap', 'istio', '-n', 'istio-system', '-o', 'yaml']);
    cp.kubectlOk(['replace', '-n', 'istio-system', '-f', '-'], current.replaceAll(`mode: ${from}`, `mode: ${to}`));
  };
  /** Milliseconds from now until `ok` holds for a short curl, or undefined after `limitMs`. */
  const timeUntil = async (url: string, ok: (r: CurlResult) => boolean, limitMs: number): Promise<number | undefined> => {
    const started = Date.now();
    const held = await waitFor(() => ok(app(url, 2)), limitMs);
    return held ? Date.now() - started : undefined;
  };

  before(async () => {
    cp = startControlPlane('10.96.0.0/16');
    cp.kubectlOk(['create', 'namespace', 'istio-system']);
    work = mkdtempSync(join(tmpdir(), 'meshgate-dataplane-'));
    chmodSync(work, 0o755);
    const port = freePort();
    webhook = await startWebhookProcess(['--values-configmap', 'istio-system/istio-sidecar-injector', '--kubeconfig', cp.kubeconfig], port, join(work, 'certs'));
    // Capture everything (Istio's default) so the stand-ins' range goes through the proxy.
    cp.kubectlOk(['apply', '-f', '-'], helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system',
      '--set', 'serverless.enabled=true', '--set', `serverless.url=https://127.0.0.1:${port}`, '--set', `serverless.caBundle=${webhook.caBundle}`,
      '--set', 'global.proxy.includeIPRanges=*',
      '--show-only', 'templates/crds.yaml', '--show-only', 'templates/webhook-configurations.yaml', '--show-only', 'templates/rbac.yaml',
      '--show-only', 'templates/mesh-configmap.yaml', '--show-only', 'templates/sidecar-injector-configmap.yaml']));
    cp.kubectlOk(['wait', '--for=condition=Established', 'crd/serviceentries.networking.istio.io', 'crd/virtualservices.networking.istio.io', '--timeout=30s']);
    cp.kubectlOk(['label', 'namespace', 'default', 'istio-injection=enabled']);
    cp.kubectlOk(['apply', '-f', 'samples/sleep/sleep.yaml']);
    pod = await eventually('the admitted sleep pod', () => (JSON.parse(cp.kubectlOk(['get', 'pods', '-l', 'app=sleep', '-o', 'json'])) as Obj).items[0] as Obj | undefined);

    topology = createTopology();
    sites = await startSites(topology);
    // The pod reaches the API server at 127.0.0.1:16443 in its namespace, bridged to the host's loopback port.
    const apiServer = new URL((parseYaml(readFileSync(cp.kubeconfig, 'utf8')) as Obj).clusters[0].cluster.server as string);
    const socket = join(work, 'apiserver.sock');
    running.push(await startNode(undefined, undefined, ['test/helpers/unix-bridge.ts', 'unix-to-tcp', socket, `127.0.0.1:${apiServer.port}`], /^ready/));
    running.push(await startNode(topology.pod, undefined, ['test/helpers/unix-bridge.ts', 'tcp-to-unix', `127.0.0.1:${API_PORT_IN_POD}`, socket], /^ready/));

    // The pod's service-account credentials, as a kubelet would mount them, in a kubeconfig the proxy reads.
    const token = cp.kubectlOk(['create', 'token', pod.spec.serviceAccountName, '--duration=1h']).trim();
    const admin = parseYaml(readFileSync(cp.kubeconfig, 'utf8')) as Obj;
    const podKubeconfig = join(work, 'pod-kubeconfig');
    writeFileSync(podKubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'pod',
      clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${API_PORT_IN_POD}`, 'certificate-authority-data': admin.clusters[0].cluster['certificate-authority-data'] } }],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'pod', context: { cluster: 'c', user: 'sa' } }],
    }), { mode: 0o644 });

    // istio-init: the admitted command (the image's entrypoint is `meshgate`), as root in the pod's namespace.
    const init = inNamespace(topology.pod, [process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...container('istio-init').args]);
    assert.equal(init.status, 0, init.stderr);
    // istio-proxy: the admitted command as its securityContext's UID, with its env resolved as the kubelet would.
    const proxySpec = container('istio-proxy');
    assert.equal(proxySpec.securityContext.runAsUser, 1337);
    const fieldValues: Record<string, string> = {
      'metadata.name': pod.metadata.name, 'metadata.namespace': pod.metadata.namespace,
      'status.podIP': topology.podIPv4, 'spec.serviceAccountName': pod.spec.serviceAccountName,
    };
    const env: Record<string, string> = { KUBECONFIG: podKubeconfig };
    for (const entry of proxySpec.env as Obj[]) env[entry.name] = entry.value ?? fieldValues[entry.valueFrom.fieldRef.fieldPath];
    delete env['TMPDIR'];
    proxy = await startNode(topology.pod, proxySpec.securityContext.runAsUser, ['src/cli/main.ts', ...proxySpec.args], undefined, 20_000, env);
    running.push(proxy);
    const ready = await waitFor(() => curl(topology.pod, 0, 'http://127.0.0.1:15021/healthz/ready', [], 2).status === 200, 30_000);
    assert.ok(ready, `proxy not ready: ${proxy.stderr.join('').slice(-2000)} ${proxy.lines.slice(-10).join('\n')}`);
  }, { timeout: 240_000 });

  after(async () => {
    for (const r of running.reverse()) await r.stop();
    await sites?.stop();
    if (topology) destroyTopology(topology);
    await webhook?.stop();
    cp?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the admitted spec carries the capture and proxy settings the injector computed', () => {
    const args = container('istio-init').args as string[];
    assert.equal(args[args.indexOf('-i') + 1], '*');
    assert.deepEqual(container('istio-proxy').args, ['proxy']);
  });

  test('ALLOW_ANY (the chart default): HTTP and HTTPS to unknown hosts pass', () => {
    assert.equal(app('http://httpbin.org/headers').status, 200);
    assert.equal(app('https://www.google.com').status, 200);
  });

  test('editing the ConfigMap to REGISTRY_ONLY blocks within 2 s: HTTPS exit 35, HTTP 502', async () => {
    switchMode('ALLOW_ANY', 'REGISTRY_ONLY');
    const ms = await timeUntil('https://www.google.com', (r) => r.exit === 35, 5_000);
    assert.ok(ms !== undefined && ms <= 2_000, `blocked after ${ms} ms`);
    assert.equal(app('http://httpbin.org/headers').status, 502);
  });

  test('ServiceEntries applied with kubectl open httpbin.org (with the decorator header and a log line) and www.google.com', async () => {
    cp.kubectlOk(['apply', '-f', 'test/fixtures/egress/httpbin-ext.yaml', '-f', 'test/fixtures/egress/google.yaml']);
    assert.ok(await timeUntil('http://httpbin.org/headers', (r) => r.status === 200, 5_000) !== undefined);
    const headers = JSON.parse(app('http://httpbin.org/headers').body).headers as Record<string, string>;
    assert.equal(headers['X-Envoy-Decorator-Operation'], 'httpbin.org:80/*');
    assert.ok(await timeUntil('https://www.google.com', (r) => r.status === 200, 5_000) !== undefined);
    assert.equal(app('https://edition.cnn.com').exit, 35);
    // The access log is written without blocking the request path: give it a moment to reach stdout.
    assert.ok(await waitFor(() => proxy.lines.some((line) => /"GET \/headers HTTP\/1\.1" 200 .*outbound\|80\|\|httpbin\.org/.test(line)), 2_000),
      proxy.lines.slice(-5).join('\n'));
  });

  test('the VirtualService timeout of 3s turns /delay/5 into a 504 after about 3 s', async () => {
    cp.kubectlOk(['apply', '-f', 'test/fixtures/egress/httpbin-timeout.yaml']);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const result = app('http://httpbin.org/delay/5');
    assert.equal(result.status, 504);
    assert.ok(result.seconds > 2.5 && result.seconds < 4.5, `${result.seconds} s`);
  });

  test('editing the ConfigMap back to ALLOW_ANY opens unknown hosts within 2 s', async () => {
    switchMode('REGISTRY_ONLY', 'ALLOW_ANY');
    const ms = await timeUntil('https://edition.cnn.com', (r) => r.status === 200, 5_000);
    assert.ok(ms !== undefined && ms <= 2_000, `opened after ${ms} ms`);
  });
});
