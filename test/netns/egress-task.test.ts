// Istio's "Control Egress Traffic" task, step by step, with real curl in a pod namespace whose traffic
// `meshgate init` captures and `meshgate proxy --config-dir` controls (as UID 1337: it compiles the directory and
// runs the data plane meshgate-proxy on the snapshot), against stand-ins for httpbin.org, www.google.com and
// edition.cnn.com. The steps depend on each other, so they run in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { curl, inNamespace, waitFor, type CurlResult, type Running } from './harness/processes.ts';
import { meshConfigDir, PROXY_UID, sidecarReady, startSidecarProxy } from './harness/sidecar.ts';
import { startSites, type Sites } from './harness/sites.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from './harness/topology.ts';

const skip = unavailableReason();
const APP_UID = 1000;
const FIXTURES = 'test/netns/fixtures/egress';
const MESHGATE = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
/** The injector's init arguments (src/inject/containers.ts initArgs) with the given include ranges. */
const injectedInit = (include: string): string[] => ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', include, '-x', '', '-b', '*', '-d', '15090,15021,15020'];
/** Config changes apply within 2 s; poll a little longer before calling it a failure. */
const RELOAD_MS = 4_000;

describe("Istio's egress task through meshgate init + meshgate proxy", { skip }, () => {
  let topology: Topology;
  let sites: Sites | undefined;
  let proxy: Running | undefined;
  let configDir: string;

  // Files are replaced by rename, as kubectl-mounted ConfigMaps are, so the proxy never reads half a file.
  const put = (fixture: string, as: string): void => {
    copyFileSync(join(FIXTURES, fixture), join(configDir, `.${as}.tmp`));
    chmodSync(join(configDir, `.${as}.tmp`), 0o644);
    renameSync(join(configDir, `.${as}.tmp`), join(configDir, as));
  };
  const remove = (as: string): void => rmSync(join(configDir, as), { force: true });
  const app = (url: string, extra: string[] = [], maxSeconds = 15): CurlResult => curl(topology.pod, APP_UID, url, ['--cacert', sites?.caBundle ?? '', ...extra], maxSeconds);
  const eventually = (url: string, ok: (r: CurlResult) => boolean): Promise<boolean> => waitFor(() => ok(app(url, [], 3)), RELOAD_MS);
  const logLines = (pattern: RegExp): string[] => (proxy?.lines ?? []).filter((line) => pattern.test(line));

  before(async () => {
    topology = createTopology();
    configDir = meshConfigDir();
    sites = await startSites(topology);
    const init = inNamespace(topology.pod, [...MESHGATE, 'init', ...injectedInit('*')]);
    assert.equal(init.status, 0, init.stderr);
    proxy = await startSidecarProxy(topology.pod, configDir);
    assert.ok(await sidecarReady(topology.pod), `proxy not ready: ${proxy.stderr.join('').slice(-2000)}`);
  });
  after(async () => {
    await proxy?.stop();
    await sites?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
    if (topology) destroyTopology(topology);
  });

  test('ALLOW_ANY: HTTP and HTTPS to unknown hosts pass (200)', () => {
    assert.equal(app('http://httpbin.org/headers').status, 200);
    assert.equal(app('https://www.google.com').status, 200);
    assert.equal(app('https://edition.cnn.com').status, 200);
  });

  test('REGISTRY_ONLY, by editing the mesh config: HTTPS is closed (curl exit 35), HTTP gets 502', async () => {
    put('mesh-registry-only.yaml', 'mesh.yaml');
    assert.ok(await eventually('https://www.google.com', (r) => r.exit === 35), 'https not closed within the reload time');
    const http = app('http://httpbin.org/headers');
    assert.equal(http.status, 502);
    assert.match(http.body, /httpbin\.org/, 'the body names the refused host');
  });

  test('ServiceEntry httpbin-ext lets /headers through with an access log line', async () => {
    put('httpbin-ext-serviceentry.yaml', 'httpbin-ext-serviceentry.yaml');
    assert.ok(await eventually('http://httpbin.org/headers', (r) => r.status === 200));
    const result = app('http://httpbin.org/headers');
    assert.equal(result.status, 200);
    assert.ok(await waitFor(() => logLines(/"GET \/headers HTTP\/1\.1" 200 .*outbound\|80\|\|httpbin\.org/).length > 0, 2_000), proxy?.lines.slice(-5).join('\n'));
    assert.equal(app('https://www.google.com').exit, 35, 'HTTPS is still closed');
  });

  // Istio's task shows the header in httpbin's echo (Envoy's route decorator for a ServiceEntry without VirtualService).
  test('the forwarded request carries X-Envoy-Decorator-Operation: httpbin.org:80/*', () => {
    const headers = JSON.parse(app('http://httpbin.org/headers').body).headers as Record<string, string>;
    assert.equal(headers['X-Envoy-Decorator-Operation'], 'httpbin.org:80/*');
  });

  test('ServiceEntry google lets HTTPS through, with a TCP log line carrying the SNI; cnn stays closed', async () => {
    put('google-serviceentry.yaml', 'google-serviceentry.yaml');
    assert.ok(await eventually('https://www.google.com', (r) => r.status === 200));
    assert.ok(await waitFor(() => logLines(/"- - -" .*outbound\|443\|\|www\.google\.com.* www\.google\.com/).length > 0, 2_000), proxy?.lines.slice(-5).join('\n'));
    assert.equal(app('https://edition.cnn.com').exit, 35);
  });

  test('Prometheus on :15090 counts the requests, connections and denies with Istio\'s names; /explain on :15000 names the rule', () => {
    const metrics = curl(topology.pod, 0, 'http://127.0.0.1:15090/stats/prometheus', [], 5);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^istio_requests_total\{[^}]*destination_service="httpbin\.org"[^}]*response_code="200"[^}]*\} [1-9]/m);
    assert.match(metrics.body, /^istio_requests_total\{[^}]*response_code="502"[^}]*\} [1-9]/m);
    assert.match(metrics.body, /^istio_tcp_connections_opened_total\{[^}]*destination_service="www\.google\.com"[^}]*\} [1-9]/m);
    assert.match(metrics.body, /^meshgate_proxy_denied_total\{[^}]*\} [1-9]/m);
    const explain = (host: string, port: number): Record<string, { verdict: string; cluster: string | null; reason: string }> =>
      JSON.parse(curl(topology.pod, 0, `http://127.0.0.1:15000/explain?host=${host}&port=${port}`, [], 5).body);
    const google = explain('www.google.com', 443).tls!;
    assert.deepEqual([google.verdict, google.cluster], ['allow', 'outbound|443||www.google.com']);
    assert.equal(explain('edition.cnn.com', 443).tls!.verdict, 'deny');
    assert.equal(explain('httpbin.org', 80).http!.verdict, 'allow');
  });

  // Istio names the destination of refused and passed-through requests after the catch-all cluster.
  test('refused and passed-through HTTP requests are counted as BlackHoleCluster and PassthroughCluster', () => {
    const metrics = curl(topology.pod, 0, 'http://127.0.0.1:15090/stats/prometheus', [], 5);
    assert.match(metrics.body, /^istio_requests_total\{[^}]*destination_service_name="BlackHoleCluster"[^}]*response_code="502"[^}]*\} [1-9]/m);
    // The first step's ALLOW_ANY requests to httpbin.org went through before any ServiceEntry named it.
    assert.match(metrics.body, /^istio_requests_total\{[^}]*destination_service_name="PassthroughCluster"[^}]*response_code="200"[^}]*\} [1-9]/m);
    assert.doesNotMatch(metrics.body, /^istio_requests_total\{[^}]*destination_service="unknown"/m);
  });

  test('TLS without SNI is closed under REGISTRY_ONLY, even to an allowed host\'s address', () => {
    const result = app(`https://${topology.servers.google.ipv4}/`, ['-k']);
    assert.equal(result.exit, 35, `the handshake is closed: ${result.error}`);
    assert.equal(result.status, 0);
  });

  test('/delay/5 answers 200 after about 5 s', () => {
    const result = app('http://httpbin.org/delay/5');
    assert.equal(result.status, 200);
    assert.ok(result.seconds > 4.5 && result.seconds < 7, `${result.seconds} s`);
  });

  test('with the VirtualService timeout of 3s, /delay/5 answers 504 after about 3 s', async () => {
    put('httpbin-ext-virtualservice.yaml', 'httpbin-ext-virtualservice.yaml');
    // The new route applies within 2 s: wait for a short request to be served, then measure.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const result = app('http://httpbin.org/delay/5');
    assert.equal(result.status, 504);
    assert.match(result.body, /upstream request timeout/);
    assert.ok(result.seconds > 2.5 && result.seconds < 4.5, `${result.seconds} s`);
  });

  test('DNS failure for an allowed host gives 503', async () => {
    put('unresolvable-serviceentry.yaml', 'unresolvable-serviceentry.yaml');
    const url = 'http://nowhere.meshgate.test/';
    const resolve = ['--resolve', `nowhere.meshgate.test:80:${topology.servers.httpbin.ipv4}`];
    assert.ok(await waitFor(() => app(url, resolve, 5).status === 503, RELOAD_MS), app(url, resolve, 5).body);
  });

  test('deleting the ServiceEntries and the VirtualService blocks both again', async () => {
    for (const file of ['httpbin-ext-serviceentry.yaml', 'google-serviceentry.yaml', 'httpbin-ext-virtualservice.yaml', 'unresolvable-serviceentry.yaml']) remove(file);
    assert.ok(await eventually('http://httpbin.org/headers', (r) => r.status === 502));
    assert.ok(await eventually('https://www.google.com', (r) => r.exit === 35));
  });

  test('init with include ranges that leave the external range out: direct access, no log line', async () => {
    const init = inNamespace(topology.pod, [...MESHGATE, 'init', ...injectedInit('10.96.0.0/12')]);
    assert.equal(init.status, 0, init.stderr);
    // A path of its own: lines of earlier steps' requests may still be on their way to the log.
    const result = app('http://httpbin.org/headers?bypassed=1');
    assert.equal(result.status, 200, 'REGISTRY_ONLY no longer applies: the proxy is bypassed');
    assert.equal(await waitFor(() => logLines(/bypassed=1/).length > 0, 1_500), false, 'the proxy saw the request');
  });
});
