// The chart installed with real helm on a real node, and Istio's "Control Egress Traffic" task (the seed) replayed
// with kubectl in the pod the kubelet runs: the webhook and meshgate control run as pods behind their Services
// (kube-proxy routes ClusterIPs, the node's cluster DNS names them), `samples/sleep/sleep.yaml` is applied to an
// injected namespace, and every step is `kubectl exec deploy/sleep -c sleep -- curl ...` against stand-ins for
// httpbin.org, www.google.com and edition.cnn.com served on the node (test/netns/harness/stand-in.ts). Nothing
// leaves the machine: the stand-ins are addresses on the node and the cluster DNS answers nothing else.
// The steps depend on each other (as the task's do), so they run in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates, TLS_FILES } from '../../src/admission/tls.ts';
import { eventually } from '../helpers/control-plane.ts';
import { nodeUnavailableReason, startNodeCluster, type NodeCluster } from '../helpers/node.ts';

const skip = nodeUnavailableReason();
const FIXTURES = 'test/netns/fixtures/egress';
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
/** The cluster's own ranges (up.sh's service range, node-up.sh's pod range): what the seed's includeIPRanges names. */
const CLUSTER_RANGES = '10.96.0.0/16,10.247.0.0/24';
/** The external hosts of the seed, each a stand-in on one of the node's stand-in addresses, named by the cluster DNS. */
const HOSTS = { 'httpbin.org': '10.248.0.11', 'www.google.com': '10.248.0.12', 'edition.cnn.com': '10.248.0.13' };
type Obj = Record<string, any>;
interface Curl { code: string; exit: number | null; seconds: number; body: string }

describe('the chart installed with helm on a real node, and the seed replayed with kubectl', { skip }, () => {
  let node: NodeCluster;
  let work: string;
  const standins: ChildProcess[] = [];
  const timings: Record<string, number> = {};

  const kubectl = (args: string[], input?: string, timeoutS = 30): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(join(node.bin, 'kubectl'), [`--request-timeout=${timeoutS}s`, ...args], {
      input, encoding: 'utf8', timeout: (timeoutS + 10) * 1000, env: { ...process.env, KUBECONFIG: node.kubeconfig },
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const kubectlOk = (args: string[], input?: string, timeoutS = 30): string => {
    const r = kubectl(args, input, timeoutS);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const helmOk = (args: string[], timeoutS = 60): string => {
    const r = spawnSync(join(node.bin, 'helm'), args, {
      encoding: 'utf8', timeout: (timeoutS + 10) * 1000, env: { ...process.env, KUBECONFIG: node.kubeconfig, HELM_CACHE_HOME: join(work, 'helm') , HELM_CONFIG_HOME: join(work, 'helm'), HELM_DATA_HOME: join(work, 'helm') },
    });
    if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
    return r.stdout;
  };
  /** A shell pipeline as the seed writes it, with kubectl on PATH and the cluster's kubeconfig. */
  const shell = (script: string): string => execFileSync('bash', ['-o', 'pipefail', '-c', script], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: node.kubeconfig, PATH: `${node.bin}:${process.env['PATH']}` },
  });
  /** `kubectl exec deploy/sleep -c sleep -- curl ...`: status, curl's exit code, the time curl measured, the body. */
  const sleepCurl = (url: string, extra: string[] = [], maxSeconds = 10): Curl => {
    const r = kubectl(['exec', 'deploy/sleep', '-c', 'sleep', '--', 'curl', '-sS', '-k', '--max-time', String(maxSeconds),
      '-w', '\n%{http_code} %{time_total}', ...extra, url], undefined, maxSeconds + 20);
    const lines = r.stdout.split('\n');
    const [code = '', seconds = '0'] = (lines.pop() ?? '').split(' ');
    return { code, exit: r.status, seconds: Number(seconds), body: lines.join('\n') };
  };
  const until = (what: string, url: string, ok: (r: Curl) => boolean, timeoutMs = 30_000): Promise<Curl> =>
    eventually(what, () => { const r = sleepCurl(url, [], 5); return ok(r) ? r : undefined; }, timeoutMs);
  const proxyLog = (): string => kubectl(['logs', 'deploy/sleep', '-c', 'istio-proxy']).stdout;
  const sleepPod = (): Obj => {
    const pods = (JSON.parse(kubectlOk(['get', 'pods', '-l', 'app=sleep', '-o', 'json'])) as Obj).items as Obj[];
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(live.length, 1, `one sleep pod, got ${live.map((p) => p.metadata.name).join(' ')}`);
    return live[0]!;
  };
  let webhookReadyOnItsOwn = false;
  const rolledOut = (target: string, ns: string, timeoutS = 120): void => {
    const r = kubectl(['rollout', 'status', target, '-n', ns, `--timeout=${timeoutS}s`], undefined, timeoutS + 5);
    if (r.status !== 0) throw new Error(`${target} not rolled out: ${r.stderr}\n${kubectl(['get', 'pods', '-A', '-o', 'wide']).stdout}`);
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'meshgate-node-seed-'));
    chmodSync(work, 0o755);
    let t = Date.now();
    node = startNodeCluster('10.96.0.0/16', { dnsHosts: HOSTS });
    Object.assign(timings, node.timings);
    timings['cluster up (images, control plane, node, kube-proxy, DNS)'] = Date.now() - t;
    for (const ip of Object.values(HOSTS)) assert.ok(node.standinIPs.includes(ip), `${ip} is one of the node's stand-in addresses`);

    // The stand-ins, each bound to its own address on the node (never a wildcard on the host); TLS leaves from a CA
    // of the test's (curl -k: the sleep image trusts no test CA; the sidecar passes TLS through by SNI).
    const pki = join(work, 'pki');
    const start = (ip: string, args: string[]): Promise<void> => new Promise((resolveStart, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/netns/harness/stand-in.ts', ...args], {
        stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, STAND_IN_ADDRESS: ip },
      });
      standins.push(child);
      child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolveStart(); });
      child.once('exit', (code) => reject(new Error(`the stand-in on ${ip} exited (${code})`)));
    });
    const tls = async (name: keyof typeof HOSTS): Promise<void> => {
      await ensureCertificates(join(pki, name), [name]);
      await start(HOSTS[name], ['--tls', name, join(pki, name, TLS_FILES.cert), join(pki, name, TLS_FILES.key)]);
    };
    await Promise.all([start(HOSTS['httpbin.org'], ['--http']), tls('www.google.com'), tls('edition.cnn.com')]);

    // The chart as a user installs it, with the image imported on the node.
    t = Date.now();
    helmOk(['install', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--create-namespace',
      '--set', 'global.hub=docker.io/meshgate', '--set', `global.tag=${VERSION}`, '--set', 'global.imagePullPolicy=Never',
      '--set', 'control.replicaCount=1', '--timeout', '240s'], 260);
    rolledOut('deploy/meshgate-control', 'istio-system', 180);
    // The webhook starts after its values ConfigMap exists, so it reads it from the informer's list, whose items
    // carry no `kind` (a defect this file found: the webhook stayed unready). The test below guards it.
    webhookReadyOnItsOwn = kubectl(['rollout', 'status', 'deploy/meshgate-webhook', '-n', 'istio-system', '--timeout=120s'], undefined, 130).status === 0;
    timings['helm install -> webhook and control Ready'] = Date.now() - t;
    kubectlOk(['label', 'namespace', 'default', 'istio-injection=enabled']);
    // samples/sleep/sleep.yaml with its image replaced by the one imported on the node (no registry here).
    const sample = readFileSync('samples/sleep/sleep.yaml', 'utf8');
    assert.match(sample, /image: curlimages\/curl/);
    writeFileSync(join(work, 'sleep.yaml'), sample.replace('image: curlimages/curl', 'image: meshgate.local/sleep:1'));
    t = Date.now();
    kubectlOk(['apply', '-f', join(work, 'sleep.yaml')]);
    rolledOut('deploy/sleep', 'default');
    timings['sleep applied -> rolled out'] = Date.now() - t;
  }, { timeout: 900_000 });

  after(() => {
    process.stdout.write(`# node-seed timings (ms): ${JSON.stringify(timings)}\n`);
    for (const s of standins) s.kill('SIGTERM');
    node?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    const left = spawnSync('bash', ['-c', 'source test/cluster/node-common.sh; node_leftovers'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(left.stdout, '', 'the host is left as it was found');
  });

  test('the webhook becomes Ready on a values ConfigMap that existed before it started', () => {
    assert.ok(webhookReadyOnItsOwn, 'the webhook stayed unready after helm install: "injector values rejected; no valid values loaded yet, not ready"');
  });

  test('helm install: the webhook and meshgate control run as pods on the node and are Ready', () => {
    for (const name of ['meshgate-webhook', 'meshgate-control']) {
      const d = JSON.parse(kubectlOk(['get', 'deploy', name, '-n', 'istio-system', '-o', 'json'])) as Obj;
      assert.ok(d.status.readyReplicas >= 1 && d.status.readyReplicas === d.spec.replicas, `${name}: ${JSON.stringify(d.status)}`);
    }
    const pods = (JSON.parse(kubectlOk(['get', 'pods', '-n', 'istio-system', '-o', 'json'])) as Obj).items as Obj[];
    assert.ok(pods.length >= 3);
    for (const p of pods) assert.equal(p.spec.nodeName, node.nodeName);
    // The API server reaches the webhook through its Service (kube-proxy), so the injector configuration names it.
    const mwc = JSON.parse(kubectlOk(['get', 'mutatingwebhookconfigurations', '-o', 'json'])) as Obj;
    const service = (mwc.items as Obj[]).flatMap((c) => c.webhooks as Obj[]).map((w) => w.clientConfig.service).find(Boolean);
    assert.deepEqual([service?.namespace, service?.name], ['istio-system', 'meshgate-webhook']);
  });

  test('the sample sleep pod was injected through the webhook Service and runs under the kubelet', () => {
    const pod = sleepPod();
    assert.equal(pod.status.phase, 'Running');
    assert.equal((pod.status.initContainerStatuses as Obj[]).find((c) => c.name === 'istio-init')?.state?.terminated?.exitCode, 0);
    const proxy = (pod.status.containerStatuses as Obj[]).find((c) => c.name === 'istio-proxy');
    assert.ok(proxy?.ready, JSON.stringify(pod.status.containerStatuses));
    assert.equal(pod.spec.nodeName, node.nodeName);
  });

  test("pods reach Services by name: the sidecar's container resolves meshgate-control.istio-system.svc and gets /healthz over TLS it verifies", () => {
    // As the sidecar will fetch its snapshot: its injected address and CA, the pod's resolv.conf (the node's DNS).
    const script = `const https = require('https');
const url = new URL('/healthz', process.env.MESHGATE_CONTROL_ADDRESS);
require('dns').lookup(url.hostname, (e, ip) => {
  if (e) { console.log('dns ' + e.code); return; }
  https.get(url, { ca: Buffer.from(process.env.MESHGATE_CONTROL_CA, 'base64'), timeout: 5000 }, (res) => {
    let body = ''; res.on('data', (c) => { body += c; }); res.on('end', () => console.log(ip + ' ' + res.statusCode + ' ' + body.trim()));
  }).on('error', (err) => console.log('https ' + err.code));
});`;
    const r = kubectl(['exec', 'deploy/sleep', '-c', 'istio-proxy', '--', '/usr/local/bin/node', '-e', script]);
    assert.equal(r.status, 0, r.stderr);
    const clusterIP = kubectlOk(['get', 'svc', 'meshgate-control', '-n', 'istio-system', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.equal(r.stdout.trim(), `${clusterIP} 200 ok`);
    const resolv = kubectlOk(['exec', 'deploy/sleep', '-c', 'sleep', '--', 'cat', '/etc/resolv.conf']);
    assert.match(resolv, new RegExp(`^nameserver ${node.dnsIP.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(resolv, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/m);
  });

  test('the cluster DNS answers nothing outside the cluster domain and the stand-ins (REFUSED, never forwarded)', () => {
    const r = kubectl(['exec', 'deploy/sleep', '-c', 'sleep', '--', 'curl', '-sS', '--max-time', '5', 'http://example.com/']);
    assert.equal(r.status, 6, `curl: could not resolve host: ${r.stderr}`);
    const log = readFileSync(join(node.dir, 'node', 'cluster-dns.log'), 'utf8');
    assert.match(log, / example\.com 1 -> REFUSED/);
  });

  test("kube-proxy routes Services, and the node's drop of traffic its bridge would forward off the node stays first", () => {
    const forward = execFileSync('iptables', ['-w', '5', '-S', 'FORWARD'], { encoding: 'utf8', timeout: 10_000 }).split('\n');
    assert.match(forward.find((rule) => rule.startsWith('-A FORWARD')) ?? '', /-i mgnode0 ! -o mgnode0 .*-j DROP/);
    assert.ok(forward.some((rule) => /-j KUBE-FORWARD/.test(rule)), forward.join('\n'));
    const nat = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8', timeout: 10_000 });
    const controlIP = kubectlOk(['get', 'svc', 'meshgate-control', '-n', 'istio-system', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.match(nat, new RegExp(`-d ${controlIP.replace(/\./g, '\\.')}/32 .*-j KUBE-SVC-`));
  });

  test('ALLOW_ANY: HTTP and HTTPS to the external hosts pass, and the proxy logs the request', async () => {
    const headers = sleepCurl('http://httpbin.org/headers');
    assert.equal(headers.code, '200', JSON.stringify(headers));
    assert.ok(JSON.parse(headers.body).headers.Host === 'httpbin.org');
    for (const host of ['www.google.com', 'edition.cnn.com']) {
      const r = sleepCurl(`https://${host}/`);
      assert.equal(r.code, '200', JSON.stringify(r));
      assert.match(r.body, new RegExp(`stand-in for ${host.replace(/\./g, '\\.')}`));
    }
    await eventually('the access log line', () => (/"GET \/headers HTTP\/1\.1" 200/.test(proxyLog()) ? true : undefined), 15_000);
  });

  test('REGISTRY_ONLY by editing the istio ConfigMap as the seed does: HTTPS closed (curl exit 35), HTTP 502', async () => {
    shell("kubectl get configmap istio -n istio-system -o yaml | sed 's/mode: ALLOW_ANY/mode: REGISTRY_ONLY/g' | kubectl replace -n istio-system -f -");
    await until('REGISTRY_ONLY to apply', 'https://www.google.com/', (r) => r.exit === 35);
    const http = sleepCurl('http://httpbin.org/headers');
    assert.equal(http.code, '502');
    assert.match(http.body, /httpbin\.org/);
  });

  test('ServiceEntry httpbin-ext (HTTP): /headers through with the decorator header and an access log line naming it', async () => {
    kubectlOk(['apply', '-f', join(FIXTURES, 'httpbin-ext-serviceentry.yaml')]);
    const r = await until('the ServiceEntry to apply', 'http://httpbin.org/headers', (c) => c.code === '200');
    assert.equal((JSON.parse(r.body).headers as Record<string, string>)['X-Envoy-Decorator-Operation'], 'httpbin.org:80/*');
    await eventually('the access log line', () => (/"GET \/headers HTTP\/1\.1" 200 .*outbound\|80\|\|httpbin\.org/.test(proxyLog()) ? true : undefined), 15_000);
    assert.equal(sleepCurl('https://www.google.com/').exit, 35, 'HTTPS is still closed');
  });

  test('ServiceEntry google (TLS): HTTPS to www.google.com passes with a log line carrying the SNI; edition.cnn.com stays closed', async () => {
    kubectlOk(['apply', '-f', join(FIXTURES, 'google-serviceentry.yaml')]);
    const r = await until('the ServiceEntry to apply', 'https://www.google.com/', (c) => c.code === '200');
    assert.match(r.body, /stand-in for www\.google\.com/);
    await eventually('the TCP log line', () => (/"- - -" .*outbound\|443\|\|www\.google\.com.* www\.google\.com/.test(proxyLog()) ? true : undefined), 15_000);
    assert.equal(sleepCurl('https://edition.cnn.com/').exit, 35);
  });

  test('the VirtualService timeout: /delay/5 answers 504 after about 3 s (200 after about 5 s without it)', async () => {
    const slow = sleepCurl('http://httpbin.org/delay/5', [], 15);
    assert.equal(slow.code, '200');
    assert.ok(slow.seconds > 4.5 && slow.seconds < 8, `${slow.seconds} s`);
    kubectlOk(['apply', '-f', join(FIXTURES, 'httpbin-ext-virtualservice.yaml')]);
    const r = await eventually('the route timeout to apply', () => {
      const c = sleepCurl('http://httpbin.org/delay/5', [], 15);
      return c.code === '504' ? c : undefined;
    }, 45_000);
    assert.match(r.body, /upstream request timeout/);
    assert.ok(r.seconds > 2.5 && r.seconds < 4.5, `${r.seconds} s`);
  });

  test('pod deletion with the drain: the app, shutting down on SIGTERM, still reaches httpbin.org through the draining sidecar', async () => {
    // The kubelet sends SIGTERM to every container at once. Istio's drain keeps the sidecar's outbound working for
    // terminationDrainDuration, so an app that calls out while it shuts down still gets through (a proxy that
    // stopped listening at once would leave curl with 000). The app's output is followed with `kubectl logs -f`,
    // which ends when the container does.
    const script = 'trap \'sleep 3; echo "during-shutdown $(curl -sS -o /dev/null -w %{http_code} --max-time 5 http://httpbin.org/headers)"; exit 0\' TERM; '
      + 'echo started; while true; do sleep 1; done';
    kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'drained', annotations: { 'proxy.istio.io/config': '{"terminationDrainDuration": "15s"}' } },
      spec: {
        terminationGracePeriodSeconds: 30,
        containers: [{ name: 'app', image: 'meshgate.local/sleep:1', imagePullPolicy: 'Never', command: ['sh', '-c', script] }],
      },
    }));
    kubectlOk(['wait', '--for=condition=Ready', 'pod/drained', '--timeout=90s'], undefined, 100);
    const proxy = ((JSON.parse(kubectlOk(['get', 'pod', 'drained', '-o', 'json'])) as Obj).spec.containers as Obj[]).find((c) => c.name === 'istio-proxy');
    assert.deepEqual(proxy?.args, ['--drain-seconds', '15'], "the pod's drain reaches meshgate-proxy");
    await eventually('the app to start', () => (/started/.test(kubectl(['logs', 'drained', '-c', 'app']).stdout) ? true : undefined), 20_000);
    const follow = spawn(join(node.bin, 'kubectl'), ['logs', '-f', 'drained', '-c', 'app', '--request-timeout=60s'],
      { env: { ...process.env, KUBECONFIG: node.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    follow.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    const ended = new Promise<void>((resolveEnd) => follow.once('exit', () => resolveEnd()));
    const killer = setTimeout(() => follow.kill('SIGKILL'), 60_000);
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 1000)); // the follow is attached before the deletion
    kubectlOk(['delete', 'pod', 'drained', '--wait=false']);
    await ended;
    clearTimeout(killer);
    timings['pod deletion -> app exited after its shutdown call'] = Date.now() - t;
    assert.match(output, /during-shutdown 200/, `the app's output: ${output}`);
    await eventually('the pod to be gone', () => (kubectl(['get', 'pod', 'drained']).status !== 0 ? true : undefined), 60_000);
  });

  test('cleanup: with the ServiceEntries and the VirtualService deleted, both are closed again', async () => {
    kubectlOk(['delete', 'serviceentry', 'httpbin-ext', 'google']);
    kubectlOk(['delete', 'virtualservice', 'httpbin-ext']);
    await until('HTTP closed', 'http://httpbin.org/headers', (r) => r.code === '502');
    await until('HTTPS closed', 'https://www.google.com/', (r) => r.exit === 35);
  });

  test('includeIPRanges by helm upgrade and a re-created pod: the external host is reached directly, past the sidecar', async () => {
    const t = Date.now();
    helmOk(['upgrade', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--reuse-values',
      '--set', `global.proxy.includeIPRanges=${CLUSTER_RANGES.replace(/,/g, '\\,')}`, '--timeout', '180s'], 200);
    rolledOut('deploy/meshgate-webhook', 'istio-system');
    rolledOut('deploy/meshgate-control', 'istio-system');
    const old = sleepPod().metadata.name;
    kubectlOk(['rollout', 'restart', 'deploy/sleep']);
    rolledOut('deploy/sleep', 'default');
    timings['helm upgrade + sleep re-created'] = Date.now() - t;
    const pod = sleepPod();
    assert.notEqual(pod.metadata.name, old);
    const init = (pod.spec.initContainers as Obj[]).find((c) => c.name === 'istio-init');
    assert.equal(init?.args[init.args.indexOf('-i') + 1], CLUSTER_RANGES);
    const r = sleepCurl('http://httpbin.org/headers');
    assert.equal(r.code, '200', 'REGISTRY_ONLY no longer applies: the proxy is bypassed');
    assert.equal((JSON.parse(r.body).headers as Record<string, string>)['X-Envoy-Decorator-Operation'], undefined);
    assert.doesNotMatch(proxyLog(), /httpbin\.org/);
  });

  test('a Job in the native-sidecar layout completes, and its proxy exits with it', () => {
    kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once' },
      spec: {
        backoffLimit: 0, activeDeadlineSeconds: 120,
        template: {
          metadata: { annotations: { 'sidecar.istio.io/nativeSidecar': 'true' } },
          spec: {
            restartPolicy: 'Never', terminationGracePeriodSeconds: 5,
            containers: [{ name: 'once', image: 'meshgate.local/sleep:1', imagePullPolicy: 'Never', command: ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://httpbin.org/headers'] }],
          },
        },
      },
    }));
    const t = Date.now();
    kubectlOk(['wait', '--for=condition=complete', 'job/once', '--timeout=120s'], undefined, 130);
    timings['native-sidecar Job complete'] = Date.now() - t;
    const pod = ((JSON.parse(kubectlOk(['get', 'pods', '-l', 'job-name=once', '-o', 'json'])) as Obj).items as Obj[])[0]!;
    assert.equal(pod.status.phase, 'Succeeded');
    const proxy = (pod.spec.initContainers as Obj[]).find((c) => c.name === 'istio-proxy');
    assert.equal(proxy?.restartPolicy, 'Always', 'istio-proxy is a native sidecar');
    assert.ok((pod.status.initContainerStatuses as Obj[]).find((c) => c.name === 'istio-proxy')?.state?.terminated, 'the proxy exited');
    assert.equal(kubectlOk(['logs', pod.metadata.name, '-c', 'once']).trim(), '200');
  });

  test('classic layout with holdApplicationUntilProxyStarts: the app starts after the proxy is ready, its first request goes through', () => {
    kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'held', annotations: { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'app', image: 'meshgate.local/sleep:1', imagePullPolicy: 'Never',
          command: ['sh', '-c', 'curl -sS -o /dev/null -w "%{http_code}\\n" http://httpbin.org/headers; exec sleep infinity'] }],
      },
    }));
    kubectlOk(['wait', '--for=condition=Ready', 'pod/held', '--timeout=90s'], undefined, 100);
    const pod = JSON.parse(kubectlOk(['get', 'pod', 'held', '-o', 'json'])) as Obj;
    const names = (pod.spec.containers as Obj[]).map((c) => c.name);
    assert.deepEqual(names, ['istio-proxy', 'app'], 'the proxy first');
    assert.ok((pod.spec.containers as Obj[])[0]!.lifecycle?.postStart, 'the proxy holds the app with a postStart hook');
    // Without the hold the first request meets no listener on 15001 (curl 000); with it, the proxy answers.
    assert.equal(kubectlOk(['logs', 'held', '-c', 'app']).trim(), '200');
    kubectlOk(['delete', 'pod', 'held', '--wait=false']);
  });

  test('kubectl rollout restart of the webhook while pods are being created: no creation fails', async () => {
    const restart = Date.now();
    kubectlOk(['rollout', 'restart', 'deploy/meshgate-webhook', '-n', 'istio-system']);
    const rollout = spawn(join(node.bin, 'kubectl'), ['rollout', 'status', 'deploy/meshgate-webhook', '-n', 'istio-system', '--timeout=180s'],
      { env: { ...process.env, KUBECONFIG: node.kubeconfig }, stdio: 'ignore' });
    const done = new Promise<number | null>((r) => rollout.once('exit', r));
    let finished = false;
    void done.then(() => { finished = true; });
    const failures: string[] = [];
    let created = 0;
    const pod = (i: number): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `during-${i}` },
      spec: { containers: [{ name: 'app', image: 'meshgate.local/sleep:1', imagePullPolicy: 'Never' }] } });
    // Server-side dry runs: the full admission chain, webhook included, without loading the node with pods.
    for (let i = 0; !finished && Date.now() - restart < 200_000; i++) {
      const r = await new Promise<{ code: number | null; out: string }>((resolveRun) => {
        const c = spawn(join(node.bin, 'kubectl'), ['create', '--dry-run=server', '-o', 'json', '-f', '-', '--request-timeout=30s'],
          { env: { ...process.env, KUBECONFIG: node.kubeconfig } });
        let out = '';
        c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
        c.once('exit', (code) => resolveRun({ code, out }));
        c.stdin.end(pod(i));
      });
      created++;
      if (r.code !== 0 || !/"name": "istio-proxy"/.test(r.out)) failures.push(r.out.slice(0, 300));
    }
    assert.equal(await done, 0, 'the rollout completed');
    timings['webhook rollout restart'] = Date.now() - restart;
    assert.ok(created >= 5, `only ${created} creations during the rollout`);
    assert.deepEqual(failures, [], `${failures.length} of ${created} creations failed`);
  });

  test('helm uninstall leaves no webhook configuration behind', () => {
    helmOk(['uninstall', 'meshgate', '-n', 'istio-system', '--wait', '--timeout', '120s'], 130);
    const left = (kind: string): string[] => ((JSON.parse(kubectlOk(['get', kind, '-o', 'json'])) as Obj).items as Obj[]).map((c) => c.metadata.name);
    assert.deepEqual(left('mutatingwebhookconfigurations'), []);
    assert.deepEqual(left('validatingwebhookconfigurations'), []);
  });
});
