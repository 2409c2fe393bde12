// The admission webhook as a function, called by the real kube-apiserver, on each real runtime: faas-js-runtime
// (Knative Functions), @google-cloud/functions-framework (Cloud Run functions), and aws-lambda-ric under the AWS
// Lambda Runtime Interface Emulator. Standing in for each platform's HTTPS front: Debian's nginx with a test CA
// (Knative's ingress, Cloud Run's front end), plus for Lambda a Function-URL front that turns the request into a
// payload-2.0 invocation of the emulator. The chart's webhook.url mode registers the webhooks with url + caBundle.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates } from '../../src/admission/tls.ts';
import { eventually, freePort, helm, startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { RUNTIMES, emulatorBinary, lambdaClientEntry, startFunctionUrlFrontProcess, startRuntime, waitForPort, type FrontProcess, type RunningRuntime, type RuntimeName } from '../serverless/runtimes.ts';
import { startNginx, type NginxFront } from '../serverless/nginx.ts';

const SERVICE_CIDR = '10.96.0.0/16';
/** Set in the values the functions read (not the default `auto`), so an injected pod shows they were read. */
const VALUES_RANGES = '10.96.0.0/12';
type Obj = Record<string, any>;

let cp: ControlPlane;
let dir: string;
let certDir: string;
let caBundle: string;
let valuesFile: string;

before(async () => {
  // Built from its Go module on a clean machine (about a minute), cached under ~/.cache/meshgate-bin after that.
  emulatorBinary();
  cp = startControlPlane(SERVICE_CIDR);
  cp.kubectlOk(['create', 'namespace', 'istio-system']);
  dir = mkdtempSync(join(tmpdir(), 'meshgate-serverless-'));
  certDir = join(dir, 'certs');
  await ensureCertificates(certDir, ['localhost']);
  caBundle = readFileSync(join(certDir, 'ca.crt')).toString('base64');
  // The CRDs and the ConfigMaps from the chart; the injector ConfigMap is also the functions' values file, as the
  // chart's Knative function mode mounts it.
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', `global.proxy.includeIPRanges=${VALUES_RANGES}`,
    '--show-only', 'templates/crds.yaml', '--show-only', 'templates/mesh-configmap.yaml', '--show-only', 'templates/sidecar-injector-configmap.yaml']);
  cp.kubectlOk(['apply', '-f', '-'], rendered);
  valuesFile = join(dir, 'istio-sidecar-injector.yaml');
  writeFileSync(valuesFile, cp.kubectlOk(['get', 'configmap', '-n', 'istio-system', 'istio-sidecar-injector', '-o', 'yaml']));
  cp.kubectlOk(['wait', '--for=condition=Established', 'crd/serviceentries.networking.istio.io', 'crd/virtualservices.networking.istio.io', '--timeout=30s']);
}, { timeout: 900_000 });

after(() => { cp?.stop(); });

/** The chart's webhook configurations in webhook.url mode, pointed at the front. */
function registerWebhooks(url: string, runtime: RuntimeName, failurePolicy = 'Fail'): void {
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--show-only', 'templates/webhook-configurations.yaml',
    '--set', `webhook.url=${url}`, '--set', `webhook.caBundle=${caBundle}`, '--set', `webhook.failurePolicy=${failurePolicy}`,
    // Knative Functions serve only their root: both webhooks call it and the function routes by the review's kind.
    '--set', `webhook.urlPaths=${runtime !== 'knative'}`]);
  cp.kubectlOk(['apply', '-f', '-'], rendered);
}

function podManifest(name: string, namespace: string, annotations: Record<string, string> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, annotations },
    spec: { containers: [{ name: 'app', image: 'curlimages/curl', command: ['sleep', 'infinity'] }] } });
}

const containerNames = (pod: Obj): string[] => pod.spec.containers.map((c: Obj) => c.name);

function virtualService(name: string, namespace: string, timeout: string): string {
  return JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace },
    spec: { hosts: ['reviews.example.com'], http: [{ route: [{ destination: { host: 'reviews.example.com' } }], timeout }] } });
}

interface Stack { runtime: RunningRuntime; front?: FrontProcess | undefined; nginx: NginxFront; url: string; logs(): string; stop(): Promise<void> }

/** The runtime on loopback, for Lambda the Function-URL front before it, and nginx terminating TLS in front of all. */
async function startStack(name: RuntimeName, env: NodeJS.ProcessEnv = { MESHGATE_VALUES_FILE: valuesFile }): Promise<Stack> {
  const port = freePort();
  const runtime = startRuntime(name, {
    module: 'dist/functions.mjs', port, runtimeApiPort: name === 'lambda' ? freePort() : undefined,
    env: { MESHGATE_LOG_LEVEL: 'info', ...env },
  });
  await waitForPort(port, 30_000).catch((error: Error) => { throw new Error(`${error.message}\n${runtime.logs()}`); });
  const front = name === 'lambda' ? await startFunctionUrlFrontProcess(freePort(), port) : undefined;
  const nginxPort = freePort();
  const nginx = await startNginx({ dir: join(dir, `nginx-${name}`), port: nginxPort, upstreamPort: front ? Number(new URL(front.url).port) : port,
    cert: join(certDir, 'tls.crt'), key: join(certDir, 'tls.key') });
  return {
    runtime, front, nginx, url: `https://127.0.0.1:${nginxPort}`,
    logs: () => [runtime.logs(), front?.logs() ?? '', nginx.logs()].join('\n'),
    stop: async () => { await runtime.stop(); await front?.stop(); await nginx.stop(); },
  };
}

// aws-lambda-ric is installed apart from the project (test/serverless/install-lambda-client.sh): its install compiles
// curl and aws-lambda-cpp, which needs cmake and the autotools (scripts/install-system-deps.sh installs them; CI runs
// it first). Without them the Lambda tests skip, saying why.
function lambdaClientProblem(): string | false {
  try {
    lambdaClientEntry();
    return false;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n').pop();
    return `aws-lambda-ric could not be installed: ${stderr || String(error)}`;
  }
}

for (const name of RUNTIMES) {
  const skip = name === 'lambda' ? lambdaClientProblem() : false;
  describe(`the webhook on ${name}, called by the API server`, { skip }, () => {
    let stack: Stack;
    const namespace = `fn-${name}`;
    before(async () => {
      stack = await startStack(name);
      registerWebhooks(stack.url, name);
      cp.kubectlOk(['create', 'namespace', namespace]);
      cp.kubectlOk(['label', 'namespace', namespace, 'istio-injection=enabled']);
      // The API server picks up a changed configuration within a moment: wait until a dry run is injected.
      let last = '';
      await eventually(`a dry-run pod injected through ${name}`, () => {
        const out = cp.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], podManifest('probe', namespace));
        last = out.status === 0 ? out.stdout.slice(0, 2000) : out.stderr;
        return out.status === 0 && containerNames(JSON.parse(out.stdout) as Obj).includes('istio-proxy') ? true : undefined;
      }, 30_000).catch((error: Error) => { throw new Error(`${error.message}\nlast answer: ${last}\n${stack.logs()}`); });
    }, { timeout: 120_000 });
    after(async () => { await stack?.stop(); });

    test('a pod in a labelled namespace is created with istio-init and istio-proxy, ranges from the function\'s values (so the function answered)', () => {
      cp.kubectlOk(['apply', '-f', '-'], podManifest('app', namespace));
      const pod = JSON.parse(cp.kubectlOk(['get', 'pod', '-n', namespace, 'app', '-o', 'json'])) as Obj;
      assert.deepEqual(containerNames(pod), ['app', 'istio-proxy']);
      const init = (pod.spec.initContainers as Obj[]).find((c) => c.name === 'istio-init');
      assert.ok(init, 'istio-init is added');
      assert.equal(init.args[init.args.indexOf('-i') + 1], VALUES_RANGES);
    });

    test('a pod with a malformed capture annotation is refused with the field path', () => {
      const result = cp.kubectl(['apply', '-f', '-'], podManifest('bad-ranges', namespace, { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/99' }));
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /denied the request: .*metadata\.annotations\[traffic\.sidecar\.istio\.io\/includeOutboundIPRanges\]/);
      assert.notEqual(cp.kubectl(['get', 'pod', '-n', namespace, 'bad-ranges']).status, 0, 'the refused pod does not exist');
    });

    test('an invalid VirtualService is refused with its field path; a valid one is created', () => {
      const bad = cp.kubectl(['apply', '-f', '-'], virtualService('bad-vs', namespace, '0s'));
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /validation\.meshgate\.io.*denied the request: .*spec\.http\[0\]\.timeout/s);
      cp.kubectlOk(['apply', '-f', '-'], virtualService('good-vs', namespace, '5s'));
      assert.ok(cp.kubectlOk(['get', 'virtualservice', '-n', namespace, 'good-vs', '-o', 'name']).includes('good-vs'));
    });
  });
}

describe('range discovery in the function (MESHGATE_DISCOVER_RANGES)', () => {
  let stack: Stack;
  const namespace = 'fn-ranges';
  before(async () => {
    // includeIPRanges auto, and the API server's ServiceCIDR read once at the function's start.
    stack = await startStack('cloud-run', { MESHGATE_VALUES: 'global: {proxy: {includeIPRanges: auto}}', MESHGATE_DISCOVER_RANGES: 'true', KUBECONFIG: cp.kubeconfig });
    registerWebhooks(stack.url, 'cloud-run');
    cp.kubectlOk(['create', 'namespace', namespace]);
    cp.kubectlOk(['label', 'namespace', namespace, 'istio-injection=enabled']);
  }, { timeout: 120_000 });
  after(async () => { await stack?.stop(); });

  test('an injected pod captures the discovered service range, not *', async () => {
    const pod = await eventually('a dry-run pod injected with the discovered ranges', () => {
      const out = cp.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], podManifest('ranged', namespace));
      if (out.status !== 0) return undefined;
      const created = JSON.parse(out.stdout) as Obj;
      const capture = created.metadata.annotations?.['meshgate.io/capture-ranges'];
      return capture && (JSON.parse(capture) as Obj)['includeSource'] === 'discovery:ServiceCIDR' ? created : undefined;
    }, 30_000).catch((error: Error) => { throw new Error(`${error.message}\n${stack.logs()}`); });
    const init = (pod.spec.initContainers as Obj[]).find((c) => c.name === 'istio-init') as Obj;
    assert.equal(init.args[init.args.indexOf('-i') + 1], SERVICE_CIDR);
  });
});

describe('the function down', () => {
  let stack: Stack;
  const namespace = 'fn-down';
  before(async () => {
    stack = await startStack('cloud-run');
    cp.kubectlOk(['create', 'namespace', namespace]);
    cp.kubectlOk(['label', 'namespace', namespace, 'istio-injection=enabled']);
    // The platform's front stays up, the function behind it is gone (crashed, or a cold start that failed).
    await stack.runtime.stop();
  }, { timeout: 120_000 });
  after(async () => { await stack?.stop(); });

  test('failurePolicy Fail: the pod is refused with the API server\'s message naming the webhook', async () => {
    registerWebhooks(stack.url, 'cloud-run', 'Fail');
    const result = await eventually('the API server to refuse the pod', () => {
      const out = cp.kubectl(['create', '--dry-run=server', '-f', '-'], podManifest('refused', namespace));
      return out.status !== 0 ? out : undefined;
    }, 30_000);
    assert.match(result.stderr, /failed calling webhook "namespace\.sidecar-injector\.meshgate\.io"/);
    const real = cp.kubectl(['create', '-f', '-'], podManifest('refused', namespace));
    assert.notEqual(real.status, 0);
    assert.notEqual(cp.kubectl(['get', 'pod', '-n', namespace, 'refused']).status, 0);
  });

  test('failurePolicy Ignore: the pod is admitted without a sidecar', async () => {
    registerWebhooks(stack.url, 'cloud-run', 'Ignore');
    await eventually('the API server to ignore the failing webhook', () => {
      const out = cp.kubectl(['create', '--dry-run=server', '-f', '-'], podManifest('admitted', namespace));
      return out.status === 0 ? true : undefined;
    }, 30_000);
    cp.kubectlOk(['create', '-f', '-'], podManifest('admitted', namespace));
    const pod = JSON.parse(cp.kubectlOk(['get', 'pod', '-n', namespace, 'admitted', '-o', 'json'])) as Obj;
    assert.deepEqual(containerNames(pod), ['app']);
    assert.equal(pod.metadata.annotations?.['sidecar.istio.io/status'], undefined, 'no injection status: what finds such pods');
  });
});

test('the chart\'s Knative function mode: the function image with the mounted values, both webhooks at the route\'s root', () => {
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'serverless.enabled=true',
    '--set', 'serverless.function=true', '--set', 'serverless.functionImage=registry.example.com/meshgate-fn:1',
    '--set', 'serverless.url=https://meshgate.example.com', '--set', `serverless.caBundle=${caBundle}`]);
  const docs = rendered.split(/^---$/m);
  const knative = docs.find((d) => d.includes('kind: Service') && d.includes('serving.knative.dev/v1')) ?? '';
  assert.match(knative, /image: registry\.example\.com\/meshgate-fn:1/);
  assert.match(knative, /name: MESHGATE_VALUES_FILE\s+value: \/etc\/meshgate\/injector\/values/);
  assert.match(knative, /name: FUNC_BODY_LIMIT[^\n]*\n\s+value: "8388608"/);
  assert.match(knative, /configMap: \{name: istio-sidecar-injector\}/);
  assert.doesNotMatch(knative, /--plain-http/);
  const urls = [...rendered.matchAll(/url: (\S+)/g)].map((m) => m[1]);
  assert.ok(urls.length >= 2);
  assert.deepEqual(new Set(urls), new Set(['https://meshgate.example.com/']));
  // meshgate control stays a Deployment: it is always on, also when the webhook is serverless.
  assert.ok(!docs.some((d) => /kind: Deployment/.test(d) && !d.includes('# Source: meshgate/templates/control')), 'no webhook Deployment in Knative mode');
});

test('the chart\'s webhook.url mode renders no Deployment, Service or TLS Secret, and no caBundle when none is given', () => {
  const rendered = helm(cp, ['template', 'meshgate', 'charts/meshgate', '-n', 'istio-system', '--set', 'webhook.url=https://fn.example.com/']);
  // meshgate control's objects are always rendered (it serves the sidecars, also when the webhook is a function).
  const docs = rendered.split(/^---$/m).filter((d) => !d.includes('# Source: meshgate/templates/control'));
  assert.ok(!docs.some((d) => /kind: (Deployment|Secret|PodDisruptionBudget)\b/.test(d)), 'no webhook Deployment, Secret or PDB');
  assert.ok(!docs.some((d) => /kind: (Mutating|Validating)WebhookConfiguration/.test(d) && /caBundle/.test(d)), 'no caBundle in the webhook configurations');
  const urlsOf = (kind: string): Set<string> => new Set(docs.filter((d) => d.includes(`kind: ${kind}`)).flatMap((d) => [...d.matchAll(/url: (\S+)/g)].map((m) => m[1] as string)));
  assert.deepEqual(urlsOf('MutatingWebhookConfiguration'), new Set(['https://fn.example.com/inject']));
  assert.deepEqual(urlsOf('ValidatingWebhookConfiguration'), new Set(['https://fn.example.com/validate']));
});
