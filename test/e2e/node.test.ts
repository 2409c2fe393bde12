// The injected pod under a real kubelet: containerd + runc run what the webhook admitted. istio-init programs the
// pod's own network namespace, istio-proxy runs as UID 1337 with a read-only root filesystem, and curl in the app
// container reaches a stand-in host through the sidecar under ALLOW_ANY and is refused under REGISTRY_ONLY.
// istio-proxy is the Rust meshgate-proxy, fed by a `meshgate control` this test runs on the node host (reached from
// the pod at the bridge address) with the pod's projected `meshgate`-audience token: it holds no API credentials.
// Nothing leaves the machine: the stand-in is an address on the node, names come from hostAliases.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort, helm, startWebhookProcess, type WebhookProcess } from '../helpers/control-plane.ts';
import { containerPid, nodeUnavailableReason, startNodeCluster, type NodeCluster } from '../helpers/node.ts';

const skip = nodeUnavailableReason();

/** A CA and a serving certificate for `ip` (openssl), where `meshgate control --cert-dir` reads them; the CA, base64. */
function controlCertificates(dir: string, ip: string): string {
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 }); };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=meshgate-control-e2e-ca', '-days', '1',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=meshgate-control']);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=IP:${ip}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  openssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '1', '-extfile', 'ext.cnf']);
  return readFileSync(join(dir, 'ca.crt')).toString('base64');
}
const STANDIN = `const [ip, log] = process.argv.slice(1);
require('http').createServer((req, res) => { require('fs').appendFileSync(log, req.method + ' ' + req.headers.host + req.url + '\\n'); res.end('stand-in\\n'); })
  .listen(80, ip, () => console.log('listening'));
// Orphaned (the test process was killed): exit rather than hold the port.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000);`;
type Obj = Record<string, any>;

describe('a real node: the injected pod under kubelet and containerd', { skip }, () => {
  let node: NodeCluster;
  let webhook: WebhookProcess;
  let control: ChildProcess | undefined;
  let controlOutput = '';
  let standin: ChildProcess | undefined;
  let standinLog: string;
  let work: string;
  let pod: Obj;
  const standinRequests = (): string[] => readFileSync(standinLog, 'utf8').split('\n').filter(Boolean);
  const timings: Record<string, number> = {};

  const exec = (container: string, command: string[], timeoutS = 20): { status: number | null; stdout: string; stderr: string } =>
    node.kubectl(['exec', '-n', 'mesh', pod.metadata.name, '-c', container, `--request-timeout=${timeoutS}s`, '--', ...command]);
  /** curl in the app container: the HTTP status, or 000 with curl's exit code when no response came. */
  const appCurl = (url: string): { code: string; exit: number | null } => {
    const r = exec('sleep', ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', url]);
    return { code: r.stdout.trim(), exit: r.status };
  };
  const setMode = (mode: string): void => {
    const current = node.kubectlOk(['get', 'configmap', 'istio', '-n', 'istio-system', '-o', 'yaml']);
    node.kubectlOk(['replace', '-n', 'istio-system', '-f', '-'], current.replace(/mode: (ALLOW_ANY|REGISTRY_ONLY)/, `mode: ${mode}`));
  };

  before(async () => {
    node = startNodeCluster();
    Object.assign(timings, node.timings);
    work = mkdtempSync(join(tmpdir(), 'meshgate-node-'));
    chmodSync(work, 0o755);
    // The stand-in external host, on the node's stand-in address (pods route 10.248.0.0/24 to the node). A process
    // of its own that logs each request to a file: the test's kubectl calls block this process's event loop.
    standinLog = join(work, 'standin.log');
    writeFileSync(standinLog, '');
    standin = spawn(process.execPath, ['-e', STANDIN, node.standinIP, standinLog], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolveStart, reject) => {
      standin!.stdout!.once('data', () => resolveStart());
      standin!.once('exit', (code) => reject(new Error(`the stand-in exited (${code})`)));
    });
    node.kubectlOk(['create', 'namespace', 'istio-system']);
    // meshgate control on the node host, at the address pods reach it by; its certificate (made here with openssl)
    // names that IP, and the injector values carry its CA, as the chart's controlCaBundle does.
    const controlCerts = join(work, 'control-certs');
    const controlCa = controlCertificates(controlCerts, node.nodeIP);
    const controlPort = freePort();
    const port = freePort();
    webhook = await startWebhookProcess(['--values-configmap', 'istio-system/istio-sidecar-injector', '--kubeconfig', node.kubeconfig], port, join(work, 'certs'));
    node.kubectlOk(['apply', '-f', '-'], helm(node, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system',
      '--set', 'serverless.enabled=true', '--set', `serverless.url=https://127.0.0.1:${port}`, '--set', `serverless.caBundle=${webhook.caBundle}`,
      '--set', 'global.proxy.includeIPRanges=*',
      '--set', `global.meshgate.controlAddress=https://${node.nodeIP}:${controlPort}`, '--set', `global.meshgate.controlCaBundle=${controlCa}`,
      '--show-only', 'templates/crds.yaml', '--show-only', 'templates/webhook-configurations.yaml', '--show-only', 'templates/rbac.yaml',
      '--show-only', 'templates/mesh-configmap.yaml', '--show-only', 'templates/sidecar-injector-configmap.yaml']));
    // Started once the CRDs and the mesh ConfigMap exist, so its informers list at once.
    control = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'control', '--host', node.nodeIP, '--port', String(controlPort),
      '--cert-dir', controlCerts, '--kubeconfig', node.kubeconfig, '--istio-namespace', 'istio-system'], { stdio: ['ignore', 'pipe', 'pipe'] });
    control.stdout?.on('data', (c: Buffer) => { controlOutput += c.toString(); });
    control.stderr?.on('data', (c: Buffer) => { controlOutput += c.toString(); });
    await eventually('meshgate control to listen', () => (controlOutput.includes('control plane listening') ? true : undefined), 30_000)
      .catch((error: Error) => { throw new Error(`${error.message}\n${controlOutput}`); });
    node.kubectlOk(['create', 'namespace', 'mesh']);
    node.kubectlOk(['label', 'namespace', 'mesh', 'istio-injection=enabled']);
    node.kubectlOk(['create', 'serviceaccount', 'sleep', '-n', 'mesh']);
    const started = Date.now();
    node.kubectlOk(['apply', '-n', 'mesh', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'sleep', labels: { app: 'sleep' } },
      spec: {
        serviceAccountName: 'sleep',
        terminationGracePeriodSeconds: 1,
        hostAliases: [{ ip: node.standinIP, hostnames: ['httpbin.org', 'edition.cnn.com'] }],
        containers: [{ name: 'sleep', image: 'meshgate.local/sleep:1', imagePullPolicy: 'Never', command: ['/bin/sleep', 'infinity'],
          securityContext: { runAsUser: 100, runAsGroup: 101 } }],
      },
    }));
    pod = await eventually('the sleep pod to run', () => {
      const p = JSON.parse(node.kubectlOk(['get', 'pod', 'sleep', '-n', 'mesh', '-o', 'json'])) as Obj;
      return p.status?.phase === 'Running' && (p.status.containerStatuses as Obj[]).every((c) => c.ready) ? p : undefined;
    }, 120_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${node.kubectl(['describe', 'pod', 'sleep', '-n', 'mesh']).stdout}\n${node.kubectl(['logs', 'sleep', '-n', 'mesh', '-c', 'istio-proxy']).stdout}\n${controlOutput.slice(-2000)}`);
    });
    timings['pod Running and ready'] = Date.now() - started;
  }, { timeout: 420_000 });

  after(async () => {
    process.stdout.write(`# node timings (ms): ${JSON.stringify(timings)}\n`);
    await webhook?.stop();
    control?.kill('SIGKILL');
    standin?.kill('SIGKILL');
    node?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const kubectlPod = (args: string[]): string => node.kubectlOk([...args, '-n', 'mesh']);

  test('the node is Ready and named without DNS: its InternalIP is the bridge address', () => {
    const n = JSON.parse(node.kubectlOk(['get', 'node', node.nodeName, '-o', 'json'])) as Obj;
    assert.equal((n.status.conditions as Obj[]).find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual((n.status.addresses as Obj[]).find((a) => a.type === 'InternalIP')?.address, node.nodeIP);
  });

  test('the webhook injected istio-init and istio-proxy, and the kubelet ran them', () => {
    assert.equal(pod.metadata.namespace, 'mesh');
    const init = (pod.status.initContainerStatuses as Obj[]).find((c) => c.name === 'istio-init');
    assert.equal(init?.state?.terminated?.exitCode, 0, JSON.stringify(init));
    assert.ok((pod.status.containerStatuses as Obj[]).some((c) => c.name === 'istio-proxy' && c.ready));
    assert.equal(pod.spec.nodeName, node.nodeName);
  });

  // The sidecar fetches its snapshot from meshgate control: it gets the projected meshgate-audience token and never
  // the API token the ServiceAccount admission plugin mounts into the app container.
  test('the injected istio-proxy holds no API token: only the meshgate-audience token, and the control address', () => {
    const proxy = (pod.spec.containers as Obj[]).find((c) => c.name === 'istio-proxy') as Obj;
    const app = (pod.spec.containers as Obj[]).find((c) => c.name === 'sleep') as Obj;
    assert.ok((app.volumeMounts as Obj[]).some((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount'), 'the app has its API token');
    // Kubernetes re-runs its ServiceAccount plugin after the webhook; the injector's empty volume at the token path
    // keeps the API token out of istio-proxy (the admitted pod shows the plugin added nothing there).
    assert.deepEqual((proxy.volumeMounts as Obj[]).filter((m) => m.mountPath.startsWith('/var/run/secrets')).map((m) => `${m.name} ${m.mountPath}`),
      ['meshgate-no-api-token /var/run/secrets/kubernetes.io/serviceaccount', 'meshgate-token /var/run/secrets/meshgate']);
    assert.deepEqual(proxy.command, ['/usr/local/bin/meshgate-proxy']);
    const r = exec('istio-proxy', ['/usr/local/bin/node', '-e',
      "const fs=require('fs');console.log(JSON.stringify({cmd:fs.readFileSync('/proc/1/cmdline','utf8').split('\\0')[0],api:fs.existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'),aud:JSON.parse(Buffer.from(fs.readFileSync('/var/run/secrets/meshgate/token','utf8').split('.')[1],'base64url')).aud}))"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { cmd: '/usr/local/bin/meshgate-proxy', api: false, aud: ['meshgate'] });
    const config = JSON.parse(exec('istio-proxy', ['/usr/local/bin/node', '-e',
      "require('http').get('http://127.0.0.1:15000/config',(r)=>{let b='';r.on('data',(c)=>b+=c);r.on('end',()=>console.log(b))})"]).stdout) as Obj;
    assert.equal(config.source, 'control');
    assert.equal(config.control.connection, 'connected');
  });

  test("istio-init programmed the pod's own network namespace, not the node's", () => {
    const pid = containerPid(node, pod.metadata.uid, 'sleep');
    const inPod = execFileSync('nsenter', ['-t', String(pid), '-n', 'iptables-save', '-t', 'nat'], { encoding: 'utf8', timeout: 10_000 });
    assert.match(inPod, /^:ISTIO_OUTPUT /m);
    assert.match(inPod, /-A OUTPUT .*-j ISTIO_OUTPUT/);
    assert.match(inPod, /--uid-owner 1337/);
    const onNode = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8', timeout: 10_000 });
    assert.doesNotMatch(onNode, /ISTIO_OUTPUT/);
  });

  test('the pod has no route off the node, and the node drops whatever its bridge would forward', () => {
    const pid = containerPid(node, pod.metadata.uid, 'sleep');
    const routes = execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', '-4', 'route'], { encoding: 'utf8', timeout: 10_000 });
    assert.doesNotMatch(routes, /^default/m, routes);
    assert.match(routes, /^10\.248\.0\.0\/24 via 10\.247\.0\.1/m, routes);
    const forward = execFileSync('iptables', ['-w', '5', '-S', 'FORWARD'], { encoding: 'utf8', timeout: 10_000 }).split('\n');
    assert.match(forward.find((rule) => rule.startsWith('-A FORWARD')) ?? '', /-i mgnode0 ! -o mgnode0 .*-j DROP/);
  });

  test('a second node-up.sh refuses while this node runs, and names the command that cleans up', () => {
    const second = spawnSync('bash', ['test/cluster/node-up.sh', node.dir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(second.status, 1);
    assert.match(second.stderr, /leftovers of another node run/);
    assert.match(second.stderr, new RegExp(`node-down\\.sh ${node.dir}`));
    assert.equal(JSON.parse(node.kubectlOk(['get', 'pod', 'sleep', '-n', 'mesh', '-o', 'json'])).status.phase, 'Running');
  });

  test('istio-proxy runs as UID 1337 with a read-only root filesystem (kubectl exec through the kubelet)', () => {
    const r = exec('istio-proxy', ['/usr/local/bin/node', '-e',
      "const fs=require('fs');let w;try{fs.writeFileSync('/probe','x');w='writable'}catch(e){w=e.code}console.log(process.getuid()+' '+w)"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1337 EROFS');
  });

  test('ALLOW_ANY: curl from the app container reaches the stand-in through the sidecar', async () => {
    const before = standinRequests().length;
    const r = appCurl('http://httpbin.org/get');
    assert.equal(r.code, '200', JSON.stringify(r));
    assert.equal(standinRequests().at(-1), 'GET httpbin.org/get');
    assert.equal(standinRequests().length, before + 1);
    // The proxy saw it: its access log (written in batches) names the request; read with kubectl logs via the kubelet.
    await eventually('the access log line', () => (/"GET \/get HTTP\/1\.1" 200/.test(kubectlPod(['logs', 'sleep', '-c', 'istio-proxy'])) ? true : undefined), 10_000);
  });

  test('REGISTRY_ONLY (the istio ConfigMap edited): the same curl is refused and never reaches the stand-in', async () => {
    setMode('REGISTRY_ONLY');
    try {
      await eventually('REGISTRY_ONLY to take effect', () => (appCurl('http://edition.cnn.com/').code === '502' ? true : undefined), 30_000);
      const before = standinRequests().length;
      assert.equal(appCurl('http://httpbin.org/get').code, '502');
      assert.equal(standinRequests().length, before);
    } finally {
      setMode('ALLOW_ANY');
    }
  });
});
