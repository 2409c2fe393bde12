// meshgate control against a real kube-apiserver (test/cluster/up.sh): the process runs as `meshgate control` with a
// kubeconfig for its own ServiceAccount, bound by the chart's control RBAC (so the least-privilege rules are what is
// proven to be enough); sidecars are HTTPS clients presenting tokens from the TokenRequest API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';
import { eventually, freePort, helm, startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { curl, inNamespace, startNode, waitFor, type CurlResult, type Running } from '../netns/harness/processes.ts';
import { startSites, type Sites } from '../netns/harness/sites.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from '../netns/harness/topology.ts';

let cp: ControlPlane;
let control: ChildProcess;
let output = '';
let port: number;
let ca: string;
const CHART = ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system'];

interface Answer { status: number; etag: string | undefined; body: string; ms: number }
function fetchSnapshot(namespace: string, token: string | undefined, headers: Record<string, string> = {}, query = ''): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, ca, servername: 'localhost', agent: false, path: `/v1/snapshots/${namespace}${query}`,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Accept-Encoding': 'gzip', ...headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString();
        resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body, ms: Date.now() - started });
      });
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('no answer in 60 s')));
    req.end();
  });
}

const token = (namespace: string, sa: string, audience = 'meshgate'): string =>
  cp.kubectlOk(['create', 'token', sa, '-n', namespace, '--audience', audience, '--duration', '1h']).trim();

/** The API server's count of open WATCH requests per resource (apiserver_longrunning_requests). */
function watches(): Record<string, number> {
  // The exposition is several MB: more than spawnSync's default buffer (the shared kubectl helper's).
  const result = spawnSync(join(cp.bin, 'kubectl'), ['get', '--raw', '/metrics'], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: 60_000, env: { ...process.env, KUBECONFIG: cp.kubeconfig } });
  if (result.status !== 0) throw new Error(`kubectl get --raw /metrics: ${result.error?.message ?? result.stderr}`);
  const text = result.stdout;
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_longrunning_requests{') || !line.includes('verb="WATCH"')) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    out[resource] = (out[resource] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** A token in the API server's own format, signed by `key`: the real service-account key (expired) or another (forged). */
function signedToken(key: Parameters<typeof sign>[2], claims: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
}

const apply = (manifest: object): void => { cp.kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest)); };
const serviceEntry = (namespace: string, name: string, host: string, exportTo?: string[]): object => ({
  apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { namespace, name },
  spec: { hosts: [host], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS', ...(exportTo ? { exportTo } : {}) },
});

let baseline: Record<string, number>;
let certDir: string;
let controlKubeconfig: string;

/** `meshgate control` on 127.0.0.1:port; a restart reuses the port and the certificate directory (the same CA). */
async function startControl(): Promise<void> {
  const from = output.length;
  control = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'control', '--host', '127.0.0.1', '--port', String(port),
    '--cert-dir', certDir, '--kubeconfig', controlKubeconfig, '--istio-namespace', 'istio-system'], { stdio: ['ignore', 'pipe', 'pipe'] });
  control.stdout?.on('data', (c: Buffer) => { output += c.toString(); });
  control.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
  await eventually('meshgate control to listen', () => (output.slice(from).includes('control plane listening') ? true : undefined), 30_000)
    .catch((error: Error) => { throw new Error(`${error.message}\n${output}`); });
}

before(async () => {
  cp = startControlPlane('10.96.0.0/16');
  cp.kubectlOk(['create', 'namespace', 'istio-system']);
  for (const ns of ['team-a', 'team-b']) {
    cp.kubectlOk(['create', 'namespace', ns]);
    cp.kubectlOk(['create', 'serviceaccount', 'sleep', '-n', ns]);
  }
  // The chart's CRDs, mesh ConfigMap and control RBAC, as installed.
  cp.kubectlOk(['apply', '-f', '-'], helm(cp, [...CHART, '--show-only', 'templates/crds.yaml', '--show-only', 'templates/mesh-configmap.yaml', '--show-only', 'templates/control-rbac.yaml']));
  cp.kubectlOk(['wait', '--for=condition=Established', 'crd/serviceentries.networking.istio.io', 'crd/virtualservices.networking.istio.io', '--timeout=30s']);
  // The control plane's own identity: the chart's ServiceAccount, a token for the API server's audience.
  cp.kubectlOk(['create', 'serviceaccount', 'meshgate-control', '-n', 'istio-system']);
  const controlToken = cp.kubectlOk(['create', 'token', 'meshgate-control', '-n', 'istio-system', '--duration', '2h']).trim();
  const admin = cp.kubectlOk(['config', 'view', '--raw', '--minify', '-o', 'json']);
  const server = (JSON.parse(admin) as { clusters: Array<{ cluster: Record<string, string> }> }).clusters[0]?.cluster ?? {};
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-e2e-control-'));
  const kubeconfig = join(dir, 'control.kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'control',
    clusters: [{ name: 'e2e', cluster: server }], users: [{ name: 'control', user: { token: controlToken } }],
    contexts: [{ name: 'control', context: { cluster: 'e2e', user: 'control' } }],
  }));
  baseline = watches();
  port = freePort();
  certDir = join(dir, 'certs');
  controlKubeconfig = kubeconfig;
  await startControl();
  ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  // Ready only once every informer has listed: a snapshot request says 503 until then.
  const sleepA = token('team-a', 'sleep');
  await (async () => {
    for (let i = 0; i < 120; i += 1) {
      if ((await fetchSnapshot('team-a', sleepA)).status === 200) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`control never served a snapshot\n${output}`);
  })();
}, { timeout: 300_000 });

after(() => {
  control?.kill('SIGTERM');
  cp?.stop();
});

test('a token of the namespace: 200; of another namespace: 403; none, forged, expired or for another audience: 401', async () => {
  const a = token('team-a', 'sleep');
  const own = await fetchSnapshot('team-a', a);
  assert.equal(own.status, 200, own.body);
  assert.ok(own.etag);
  assert.equal((await fetchSnapshot('team-b', a)).status, 403);
  assert.equal((await fetchSnapshot('team-a', undefined)).status, 401);
  assert.equal((await fetchSnapshot('team-a', token('team-a', 'sleep', 'https://kubernetes.default.svc.cluster.local'))).status, 401);
  const claims = (exp: number): Record<string, unknown> => ({
    iss: 'https://kubernetes.default.svc.cluster.local', aud: ['meshgate'], sub: 'system:serviceaccount:team-a:sleep', iat: exp - 3600, nbf: exp - 3600, exp,
    'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'sleep', uid: JSON.parse(cp.kubectlOk(['get', 'sa', 'sleep', '-n', 'team-a', '-o', 'json'])).metadata.uid } },
  });
  const now = Math.floor(Date.now() / 1000);
  const forged = signedToken(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, claims(now + 3600));
  assert.equal((await fetchSnapshot('team-a', forged)).status, 401);
  // Signed with the cluster's real service-account key, but expired an hour ago.
  const expired = signedToken(createPrivateKey(readFileSync(join(cp.dir, 'pki', 'sa.key'))), claims(now - 3600));
  assert.equal((await fetchSnapshot('team-a', expired)).status, 401);
  // A token whose ServiceAccount was deleted no longer authenticates.
  cp.kubectlOk(['create', 'serviceaccount', 'gone', '-n', 'team-a']);
  const orphan = token('team-a', 'gone');
  cp.kubectlOk(['delete', 'serviceaccount', 'gone', '-n', 'team-a']);
  assert.equal((await fetchSnapshot('team-a', orphan)).status, 401);
  assert.match(output, /snapshot request refused: 401/);
  assert.match(output, /snapshot request refused: 403, another namespace/);
});

test('a long-polling sidecar receives a ServiceEntry, VirtualService and mesh ConfigMap change within 2 s', async () => {
  const a = token('team-a', 'sleep');
  let etag = (await fetchSnapshot('team-a', a)).etag as string;
  // Rendered before the clock starts: the time measured is the API server's and the control plane's, not helm's.
  const registryOnly = helm(cp, [...CHART, '--set', 'global.outboundTrafficPolicy.mode=REGISTRY_ONLY', '--show-only', 'templates/mesh-configmap.yaml']);
  const changes: Array<{ what: string; apply: () => void; seen: string }> = [
    { what: 'ServiceEntry', apply: () => apply(serviceEntry('team-a', 'api', 'api.example.com')), seen: 'api.example.com' },
    { what: 'VirtualService', apply: () => apply({ apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { namespace: 'team-a', name: 'api' },
      spec: { hosts: ['api.example.com'], http: [{ match: [{ uri: { prefix: '/e2e-distinct-prefix' } }], route: [{ destination: { host: 'api.example.com' } }] }] } }), seen: '/e2e-distinct-prefix' },
    { what: 'mesh ConfigMap', apply: () => cp.kubectlOk(['apply', '-f', '-'], registryOnly), seen: 'REGISTRY_ONLY' },
  ];
  for (const change of changes) {
    const waiting = fetchSnapshot('team-a', a, { 'If-None-Match': etag }, '?wait=30s');
    await new Promise((r) => setTimeout(r, 300));
    const applied = Date.now();
    change.apply();
    const answer = await waiting;
    const latency = Date.now() - applied;
    assert.equal(answer.status, 200, `${change.what}: ${answer.body}`);
    assert.ok(answer.body.includes(change.seen), `${change.what} not in the snapshot`);
    assert.ok(latency < 2000, `${change.what} took ${latency} ms`);
    etag = answer.etag as string;
  }
});

test('a change another namespace cannot see does not wake the sidecar; its version stays', async () => {
  const a = token('team-a', 'sleep');
  const before = await fetchSnapshot('team-a', a);
  apply(serviceEntry('team-b', 'private', 'private.example.com', ['.']));
  const answer = await fetchSnapshot('team-a', a, { 'If-None-Match': before.etag as string }, '?wait=2s');
  assert.equal(answer.status, 304);
  const b = await fetchSnapshot('team-b', token('team-b', 'sleep'));
  assert.ok(b.body.includes('private.example.com'));
});

test('a Kubernetes Service appears in the snapshot registry under its cluster names, with its cluster IP', async () => {
  const a = token('team-a', 'sleep');
  const etag = (await fetchSnapshot('team-a', a)).etag as string;
  const waiting = fetchSnapshot('team-a', a, { 'If-None-Match': etag }, '?wait=30s');
  cp.kubectlOk(['create', 'service', 'clusterip', 'reviews', '-n', 'team-a', '--tcp', '9080:9080']);
  const ip = cp.kubectlOk(['get', 'service', 'reviews', '-n', 'team-a', '-o', 'jsonpath={.spec.clusterIP}']).trim();
  const answer = await waiting;
  assert.equal(answer.status, 200);
  assert.ok(answer.body.includes('reviews.team-a.svc.cluster.local'), answer.body.slice(0, 500));
  assert.ok(answer.body.includes(ip), `cluster IP ${ip} not in the snapshot`);
});

test('the API server sees one watch per kind from meshgate control', async () => {
  const delta = await eventually('one watch per kind', () => {
    const now = watches();
    const d = Object.fromEntries(['serviceentries', 'virtualservices', 'services', 'configmaps'].map((r) => [r, (now[r] ?? 0) - (baseline[r] ?? 0)]));
    return Object.values(d).every((n) => n === 1) ? d : undefined;
  }, 20_000);
  assert.deepEqual(delta, { serviceentries: 1, virtualservices: 1, services: 1, configmaps: 1 });
});

test('the chart gives sidecars the CA that signed the control plane\'s generated certificate', () => {
  const documents = parseAllDocuments(helm(cp, [...CHART, '--show-only', 'templates/control.yaml', '--show-only', 'templates/sidecar-injector-configmap.yaml'])).map((d) => d.toJS() as Record<string, any>).filter(Boolean);
  const secret = documents.find((d) => d.kind === 'Secret') as Record<string, any>;
  assert.ok(secret, 'the generated control Secret');
  const values = JSON.parse(documents.find((d) => d.kind === 'ConfigMap')?.data.values);
  assert.equal(values.global.meshgate.controlAddress, 'https://meshgate-control.istio-system.svc:15012');
  assert.equal(values.global.meshgate.controlCaBundle, secret.data['ca.crt']);
  const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
  const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
  assert.ok(serving.verify(ca.publicKey));
  assert.ok(serving.checkHost('meshgate-control.istio-system.svc'));
});

test('the chart\'s control Deployment, Service and PDB are accepted by the API server', () => {
  const rendered = helm(cp, [...CHART, '--show-only', 'templates/control.yaml']);
  const out = cp.kubectlOk(['apply', '--dry-run=server', '-f', '-'], rendered);
  for (const kind of ['deployment.apps/meshgate-control', 'service/meshgate-control', 'poddisruptionbudget.policy/meshgate-control', 'secret/meshgate-control-tls']) {
    assert.match(out, new RegExp(`${kind.replace(/[./]/g, '\\$&')} created`), out);
  }
});

// The Rust sidecar as the injector runs it: its only configuration is the environment sidecar-wiring.ts sets (the
// control address, a `meshgate`-audience token file, the control plane's CA, the namespace); no kubeconfig, no API
// token. It runs as UID 1337 in a pod network namespace programmed by `meshgate init`, reaching meshgate control on
// the host through a Unix-socket bridge, and the app's curl goes through it to the netns stand-ins.
const PROXY_BIN = resolve(process.env['MESHGATE_PROXY_BIN'] ?? 'dataplane/target/release/meshgate-proxy');
const sidecarSkip = unavailableReason()
  ?? (existsSync(PROXY_BIN) ? undefined : `meshgate-proxy is not built (${PROXY_BIN}): cargo build --release in dataplane/`);
const CONTROL_PORT_IN_POD = 15012;
const APP_UID = 1000;

interface Sidecar { child: ChildProcess; output: () => string; stop(): Promise<void> }

/** meshgate-proxy with only `env` (plus PATH) as its environment: in `ns` as UID 1337, or on the host as root. */
function startSidecar(binary: string, ns: string | undefined, env: Record<string, string>, args: string[] = []): Sidecar {
  const argv = ns === undefined ? [binary, ...args] : ['ip', 'netns', 'exec', ns, 'setpriv', '--reuid=1337', '--regid=1337', '--clear-groups', binary, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => { text += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { text += c.toString(); });
  return {
    child,
    output: () => text,
    stop: () => new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('exit', () => { clearTimeout(force); done(); });
      child.kill('SIGTERM');
    }),
  };
}

describe('a meshgate-proxy sidecar fed by meshgate control', { skip: sidecarSkip }, () => {
  let topology: Topology;
  let sites: Sites | undefined;
  let work: string;
  let binary: string;
  let sidecar: Sidecar;
  const bridges: Running[] = [];
  const others: Sidecar[] = [];

  const app = (url: string, maxSeconds = 5): CurlResult => curl(topology.pod, APP_UID, url, ['--cacert', sites?.caBundle ?? ''], maxSeconds);
  const local = (path: string): CurlResult => curl(topology.pod, 0, `http://127.0.0.1:${path}`, [], 2);
  const config = (): Record<string, any> => JSON.parse(local('15000/config').body) as Record<string, any>;
  /** Milliseconds from now until `ok` holds for the app's curl, or undefined after `limitMs`. */
  const timeUntil = async (url: string, ok: (r: CurlResult) => boolean, limitMs: number): Promise<number | undefined> => {
    const started = Date.now();
    return (await waitFor(() => ok(app(url, 2)), limitMs)) ? Date.now() - started : undefined;
  };
  const setMode = (mode: string): void => {
    const current = cp.kubectlOk(['get', 'configmap', 'istio', '-n', 'istio-system', '-o', 'yaml']);
    cp.kubectlOk(['replace', '-n', 'istio-system', '-f', '-'], current.replace(/mode: (ALLOW_ANY|REGISTRY_ONLY)/, `mode: ${mode}`));
  };
  const sidecarEnv = (namespace: string, tokenFile: string, address: string): Record<string, string> => ({
    MESHGATE_CONTROL_ADDRESS: address,
    MESHGATE_CONTROL_TOKEN_FILE: tokenFile,
    MESHGATE_CONTROL_CA: Buffer.from(ca).toString('base64'),
    POD_NAMESPACE: namespace,
    ISTIO_META_WORKLOAD_NAME: 'sleep',
  });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'meshgate-e2e-sidecar-'));
    chmodSync(work, 0o755);
    // UID 1337 may not be able to read the checkout: the binary and the token are staged in a readable directory.
    binary = join(work, 'meshgate-proxy');
    copyFileSync(PROXY_BIN, binary);
    chmodSync(binary, 0o755);
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, token('team-a', 'sleep'), { mode: 0o644 });
    topology = createTopology();
    sites = await startSites(topology);
    const socket = join(work, 'control.sock');
    bridges.push(await startNode(undefined, undefined, ['test/helpers/unix-bridge.ts', 'unix-to-tcp', socket, `127.0.0.1:${port}`], /^ready/));
    bridges.push(await startNode(topology.pod, undefined, ['test/helpers/unix-bridge.ts', 'tcp-to-unix', `127.0.0.1:${CONTROL_PORT_IN_POD}`, socket], /^ready/));
    const init = inNamespace(topology.pod, [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'init', '-p', '15001', '-z', '15006', '-u', '1337',
      '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
    assert.equal(init.status, 0, init.stderr);
    sidecar = startSidecar(binary, topology.pod, sidecarEnv('team-a', tokenFile, `https://localhost:${CONTROL_PORT_IN_POD}`));
    const ready = await waitFor(() => local('15021/healthz/ready').status === 200, 30_000);
    assert.ok(ready, `sidecar not ready:\n${sidecar.output().slice(-3000)}`);
  }, { timeout: 180_000 });

  after(async () => {
    for (const s of [sidecar, ...others]) await s?.stop();
    for (const b of bridges.reverse()) await b.stop();
    await sites?.stop();
    if (topology) destroyTopology(topology);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('ready on its first snapshot from the control plane, and enforcing it (REGISTRY_ONLY: an unknown host gets 502)', async () => {
    const c = config();
    assert.equal(c.source, 'control');
    assert.equal(c.control.connection, 'connected');
    assert.equal(c.control.namespace, 'team-a');
    assert.equal(c.mode, 'REGISTRY_ONLY');
    assert.equal(app('http://httpbin.org/headers').status, 502);
    // Its log reaches this process through a pipe: read as the event loop gets to it.
    await eventually('the log line', () => (/snapshot applied: sha256:\S+ from control plane localhost:15012/.test(sidecar.output()) ? true : undefined), 5_000)
      .catch((error: Error) => { throw new Error(`${error.message}\n${sidecar.output()}`); });
  });

  test('a ServiceEntry, a VirtualService and the mesh ConfigMap edited with kubectl are enforced within 2 s', async () => {
    apply({ apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { namespace: 'team-a', name: 'httpbin' },
      spec: { hosts: ['httpbin.org'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', location: 'MESH_EXTERNAL' } });
    const se = await timeUntil('http://httpbin.org/headers', (r) => r.status === 200, 5_000);
    assert.ok(se !== undefined && se <= 2_000, `ServiceEntry enforced after ${se} ms`);
    apply({ apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { namespace: 'team-a', name: 'httpbin' },
      spec: { hosts: ['httpbin.org'], http: [
        { match: [{ uri: { prefix: '/teapot' } }], fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }, route: [{ destination: { host: 'httpbin.org' } }] },
        { route: [{ destination: { host: 'httpbin.org' } }] }] } });
    const vs = await timeUntil('http://httpbin.org/teapot', (r) => r.status === 418, 5_000);
    assert.ok(vs !== undefined && vs <= 2_000, `VirtualService enforced after ${vs} ms`);
    assert.equal(app('https://edition.cnn.com').exit, 35, 'no ServiceEntry: closed under REGISTRY_ONLY');
    setMode('ALLOW_ANY');
    const mode = await timeUntil('https://edition.cnn.com', (r) => r.status === 200, 5_000);
    assert.ok(mode !== undefined && mode <= 2_000, `ALLOW_ANY enforced after ${mode} ms`);
  });

  test('meshgate control killed: the sidecar keeps enforcing; restarted: it resumes without a restart of its own', async () => {
    const pid = sidecar.child.pid;
    control.kill('SIGKILL');
    await new Promise((done) => control.once('exit', done));
    await eventually('the sidecar to notice', () => (config().control.connection === 'backoff' ? true : undefined), 40_000);
    assert.equal(app('http://httpbin.org/teapot').status, 418, 'the VirtualService still in force');
    assert.equal(app('http://httpbin.org/headers').status, 200);
    assert.equal(app('https://edition.cnn.com').status, 200, 'ALLOW_ANY still in force');
    assert.equal(local('15021/healthz/ready').status, 200, 'still ready');
    // Changed while the control plane is down: seen once it is back.
    cp.kubectlOk(['delete', 'virtualservice', 'httpbin', '-n', 'team-a']);
    assert.equal(app('http://httpbin.org/teapot').status, 418);
    await startControl();
    const resumed = await timeUntil('http://httpbin.org/teapot', (r) => r.status === 200, 60_000);
    assert.ok(resumed !== undefined, `the sidecar did not resume:\n${sidecar.output().slice(-2000)}`);
    assert.equal(sidecar.child.pid, pid);
    assert.equal(sidecar.child.exitCode, null, 'never restarted');
    assert.equal(config().control.connection, 'connected');
    assert.match(sidecar.output(), /control plane localhost:15012 answers again/);
  });

  test('a token of another namespace: 403, logged by both sides, and the sidecar never becomes ready', async () => {
    const tokenFile = join(work, 'token-team-a');
    writeFileSync(tokenFile, token('team-a', 'sleep'), { mode: 0o644 });
    const [status, admin, metrics, outbound] = [freePort(), freePort(), freePort(), freePort()];
    // On the host, beside meshgate control: the namespace it asks for (team-b) is not its token's (team-a).
    const wrong = startSidecar(binary, undefined, sidecarEnv('team-b', tokenFile, `https://localhost:${port}`),
      ['--bind', '127.0.0.1', '--port', String(outbound), '--inbound-port', '0', '--admin-port', String(admin), '--status-port', String(status), '--metrics-port', String(metrics)]);
    others.push(wrong);
    await eventually('the 403 in the sidecar log', () => (/403: the token's namespace may not read/.test(wrong.output()) ? true : undefined), 20_000)
      .catch((error: Error) => { throw new Error(`${error.message}\n${wrong.output()}`); });
    for (let i = 0; i < 10; i += 1) {
      const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `http://127.0.0.1:${status}/healthz/ready`], { encoding: 'utf8' });
      assert.equal(r.stdout, '503', 'not ready with a refused token');
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.match(output, /snapshot request refused: 403, another namespace/);
    const scraped = spawnSync('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${metrics}/stats/prometheus`], { encoding: 'utf8' }).stdout;
    assert.match(scraped, /meshgate_proxy_control_fetches_total\{result="forbidden"\} [1-9]/);
  });

  // apiserver_longrunning_requests names no client, and kube-controller-manager adds its own watches on the new CRDs
  // when its discovery resyncs: so the sidecar's share is measured by stopping it. Its watches would end with it.
  test('the API server sees no watch from the sidecar: stopping it removes none, while the control plane\'s are counted', async () => {
    const kinds = ['serviceentries', 'virtualservices', 'services', 'configmaps'];
    const running = watches();
    for (const kind of kinds) assert.ok((running[kind] ?? 0) - (baseline[kind] ?? 0) >= 1, `the control plane's ${kind} watch is visible`);
    assert.equal(sidecar.child.exitCode, null, 'the sidecar is running and connected');
    assert.equal(config().control.connection, 'connected');
    await sidecar.stop();
    await new Promise((r) => setTimeout(r, 3_000));
    const stopped = watches();
    for (const kind of kinds) assert.ok((stopped[kind] ?? 0) >= (running[kind] ?? 0), `${kind}: ${running[kind]} watches with the sidecar, ${stopped[kind]} without`);
  });
});
