// Rewritten application probes end to end in a pod network namespace: the injector's istio-init arguments applied by
// `meshgate init` (every destination and every inbound port captured, 15020 excluded), the Rust meshgate-proxy as
// UID 1337 with ISTIO_KUBE_APP_PROBERS, the app on the pod IP, and kubelet's GET coming from outside the pod (the
// router namespace) to :15020/app-health/... The proxy's own connections are not captured (UID 1337): a probe whose
// host is outside the pod reaches it, where the app user's connection is captured and refused (REGISTRY_ONLY).
// Root only; needs the data plane built (cargo build).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { curl, inNamespace, startNode, waitFor, type Running } from './harness/processes.ts';
import { startSites, type Sites } from './harness/sites.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from './harness/topology.ts';
import { initArgs } from '../../src/inject/containers.ts';
import { resolveCapture } from '../../src/inject/capture.ts';
import { defaultValues } from '../../src/inject/values.ts';

/** The newest build of the data plane (test:dataplane builds debug; a release build may be older). */
const BINARY = ['release', 'debug'].map((p) => resolve(`dataplane/target/${p}/meshgate-proxy`)).filter((p) => existsSync(p))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
const skip = unavailableReason() ?? (BINARY ? undefined : 'meshgate-proxy is not built (npm run test:dataplane or cargo build in dataplane/)');
const APP_UID = 1000;
const PROXY_UID = 1337;
const MESHGATE = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
const SNAPSHOT = JSON.stringify({
  apiVersion: 'meshgate.io/snapshot/v1', kind: 'ProxySnapshot', version: 'sha256:00',
  mesh: { outboundTrafficPolicy: 'REGISTRY_ONLY', accessLogFile: '', accessLogEncoding: 'TEXT', accessLogFormat: '', terminationDrainDurationMs: 0 },
  listeners: [], hosts: { exact: {}, wildcard: [] }, clusters: {}, virtualServices: [], virtualServiceHosts: { exact: {}, wildcard: [] }, problems: [],
});

describe('application probes through the status port, in a pod namespace', { skip }, () => {
  let topology: Topology;
  let dir = '';
  let proxy: ChildProcess | undefined;
  let app: Running | undefined;
  let sites: Sites | undefined;
  const proxyErr: string[] = [];

  before(async () => {
    topology = createTopology();
    sites = await startSites(topology);
    // What UID 1337 runs is staged where it can read it, whatever the checkout's permissions.
    dir = mkdtempSync(join(tmpdir(), 'mg-probe-'));
    chmodSync(dir, 0o755);
    copyFileSync(BINARY as string, join(dir, 'meshgate-proxy'));
    chmodSync(join(dir, 'meshgate-proxy'), 0o755);
    writeFileSync(join(dir, 'snapshot.json'), SNAPSHOT, { mode: 0o644 });
    // The injector's own istio-init arguments for a default pod.
    const capture = resolveCapture({}, defaultValues(), undefined);
    assert.ok(capture.ok);
    const applied = inNamespace(topology.pod, [...MESHGATE, ...initArgs(capture.settings)]);
    assert.equal(applied.status, 0, applied.stderr);
    app = await startNode(topology.pod, APP_UID, ['test/netns/harness/marker-listener.ts', '8080', 'app'], /^ready/);
    const probers = JSON.stringify({
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' }, timeoutSeconds: 2 },
      '/app-health/web/livez': { tcpSocket: { port: 8080 }, timeoutSeconds: 1 },
      '/app-health/ext/readyz': { httpGet: { host: topology.servers.httpbin.ipv4, path: '/headers', port: 80 }, timeoutSeconds: 2 },
    });
    proxy = spawn('ip', ['netns', 'exec', topology.pod, 'setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups',
      join(dir, 'meshgate-proxy'), '--snapshot', join(dir, 'snapshot.json'), '--workers', '1'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ISTIO_KUBE_APP_PROBERS: probers, MESHGATE_APP_PROBE_PORT: '15020', INSTANCE_IP: topology.podIPv4 },
    });
    proxy.stderr?.setEncoding('utf8').on('data', (chunk: string) => proxyErr.push(chunk));
    const listening = await waitFor(() => proxyErr.join('').includes('application probes: 3 on :15020'), 10_000);
    assert.ok(listening, `meshgate-proxy did not start: ${proxyErr.join('').slice(-2000)}`);
  });
  after(async () => {
    await app?.stop();
    await sites?.stop();
    proxy?.kill('SIGKILL');
    if (topology) destroyTopology(topology);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const kubelet = (path: string): number => curl(topology.router, 0, `http://${topology.podIPv4}:15020${path}`, ['-A', 'kube-probe/1.36'], 10).status;

  test('kubelet\'s GET from outside the pod gets the app\'s answer, for the HTTP and the TCP probe', () => {
    assert.equal(kubelet('/app-health/web/readyz'), 200);
    assert.equal(kubelet('/app-health/web/livez'), 200);
    assert.equal(kubelet('/app-health/other/readyz'), 404);
  });

  test('the proxy\'s own connections are not captured: a probe to a host outside the pod reaches it, the app\'s is refused', () => {
    const captured = curl(topology.pod, APP_UID, `http://${topology.servers.httpbin.ipv4}/headers`, [], 5);
    assert.equal(captured.status, 502, 'the app user\'s connection is captured and refused under REGISTRY_ONLY');
    assert.equal(kubelet('/app-health/ext/readyz'), 200);
  });

  test('when the app stops, the probes fail with 500 within their timeout', async () => {
    await app?.stop();
    const started = Date.now();
    assert.equal(kubelet('/app-health/web/readyz'), 500);
    assert.equal(kubelet('/app-health/web/livez'), 500);
    assert.ok(Date.now() - started < 8_000);
  });
});
