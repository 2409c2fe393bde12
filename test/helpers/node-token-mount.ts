// A stand-in for what meshgate's injector does not do yet: mount the pod's API credentials into istio-proxy.
// The ServiceAccount admission plugin adds the `kube-api-access-*` volume mount to the containers a pod has when
// it runs, which is before the mutating webhooks: the injected istio-proxy gets none, and meshgate's proxy (which
// reads ServiceEntries and the istio ConfigMap from the API server) finds no in-cluster config under a real kubelet.
// This webhook runs after meshgate's (configurations are called in name order) and copies that mount to istio-proxy,
// so the rest of the node test can run. See the `todo` test in test/e2e/node.test.ts.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';

type Obj = Record<string, any>;
export const TOKEN_MOUNT_WEBHOOK = 'zz-node-test-api-credentials';

function patchFor(pod: Obj): Obj[] {
  const containers = (pod.spec?.containers ?? []) as Obj[];
  const mount = containers.flatMap((c) => (c.volumeMounts ?? []) as Obj[]).find((m) => String(m.name).startsWith('kube-api-access-'));
  const index = containers.findIndex((c) => c.name === 'istio-proxy');
  if (!mount || index < 0 || (containers[index]!.volumeMounts as Obj[] | undefined)?.some((m) => m.name === mount.name)) return [];
  return containers[index]!.volumeMounts
    ? [{ op: 'add', path: `/spec/containers/${index}/volumeMounts/-`, value: mount }]
    : [{ op: 'add', path: `/spec/containers/${index}/volumeMounts`, value: [mount] }];
}

/** Serves on 127.0.0.1:`port` with the serving cert in `certDir` (tls.crt/tls.key) and returns the server. */
export async function startTokenMountWebhook(certDir: string, port: number): Promise<Server> {
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
      clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } },
    }],
  });
}
