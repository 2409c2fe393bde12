// A stand-in for what meshgate's injector does not do yet: mount the pod's API credentials into istio-proxy.
// The ServiceAccount admission plugin adds the `kube-api-access-*` volume mount to the containers a pod has when
// it runs, which is before the mutating webhooks: the injected istio-proxy gets none, and meshgate's proxy (which
// reads ServiceEntries and the istio ConfigMap from the API server) finds no in-cluster config under a real kubelet.
// This webhook runs after meshgate's (configurations are called in name order) and copies that mount to istio-proxy,
// so the rest of the node test can run. See the `todo` test in test/e2e/node.test.ts.
// It runs as a process of its own (the test's kubectl calls block the test's event loop):
//   node --import tsx test/helpers/node-token-mount.ts CERTDIR PORT
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Obj = Record<string, any>;
export const TOKEN_MOUNT_WEBHOOK = 'zz-node-test-api-credentials';
/** A namespace with this label gets meshgate's injection alone (to see what the injector itself mounts). */
export const NO_STAND_IN_LABEL = 'node-test.meshgate.local/no-credentials-stand-in';

function patchFor(pod: Obj): Obj[] {
  const containers = (pod.spec?.containers ?? []) as Obj[];
  const mount = containers.flatMap((c) => (c.volumeMounts ?? []) as Obj[]).find((m) => String(m.name).startsWith('kube-api-access-'));
  const index = containers.findIndex((c) => c.name === 'istio-proxy');
  // Nothing to do when istio-proxy already mounts something there (an injector that wires credentials itself).
  if (!mount || index < 0 || (containers[index]!.volumeMounts as Obj[] | undefined)?.some((m) => m.name === mount.name || m.mountPath === mount.mountPath)) return [];
  return containers[index]!.volumeMounts
    ? [{ op: 'add', path: `/spec/containers/${index}/volumeMounts/-`, value: mount }]
    : [{ op: 'add', path: `/spec/containers/${index}/volumeMounts`, value: [mount] }];
}

/** Serves on 127.0.0.1:`port` with the serving cert in `certDir` (tls.crt/tls.key) and returns the server. */
async function serve(certDir: string, port: number): Promise<Server> {
  const server = createServer({ cert: readFileSync(join(certDir, 'tls.crt')), key: readFileSync(join(certDir, 'tls.key')) }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; if (body.length > 4_000_000) req.destroy(); });
    req.on('end', () => {
      const review = JSON.parse(body) as Obj;
      const patch = patchFor(review.request.object as Obj);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: true,
          ...(patch.length ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}) },
      }));
    });
  });
  await new Promise<void>((resolveListen) => server.listen(port, '127.0.0.1', resolveListen));
  return server;
}

export function tokenMountWebhookConfiguration(port: number, caBundle: string): string {
  return JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
    metadata: { name: TOKEN_MOUNT_WEBHOOK },
    webhooks: [{
      name: 'api-credentials.node-test.meshgate.local', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail',
      // meshgate's injector is reinvoked after this webhook and renders istio-proxy anew: be called again after it.
      reinvocationPolicy: 'IfNeeded',
      clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' }, matchExpressions: [{ key: NO_STAND_IN_LABEL, operator: 'DoesNotExist' }] },
    }],
  });
}

/** The webhook as a child process; resolves once it listens (10 s at most). */
export function startTokenMountWebhook(certDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), certDir, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the token-mount webhook did not start in 10 s')); }, 10_000);
    child.stdout!.once('data', () => { clearTimeout(timer); resolveStart(child); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the token-mount webhook exited (${code})`)); });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serve(process.argv[2]!, Number(process.argv[3]));
  process.stdout.write('listening\n');
  // Orphaned (the test process was killed): exit rather than keep admitting pods.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000);
}
