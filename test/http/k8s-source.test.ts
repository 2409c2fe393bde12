// The Kubernetes config source of `meshgate proxy` against a fake API server on loopback (list + watch as
// client-node speaks them). The mesh ConfigMap lives in a namespace other than istio-system here: the feed must read
// it from the namespace it is given (--istio-namespace), not from a hard-coded one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/mesh/config-store.ts';
import { kubernetesFeed } from '../../src/mesh/k8s-source.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';

const ISTIO_NAMESPACE = 'mesh-system';

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const se = (name: string, host: string): Record<string, unknown> => ({ apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { name, namespace: 'default', resourceVersion: '5' }, spec: { hosts: [host], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] } });

test('informers list and watch ServiceEntries and the mesh ConfigMap of the Istio namespace given; the last good config survives the API going away', async () => {
  const watches: ServerResponse[] = [];
  let up = true;
  const api = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (process.env['K8S_DEBUG']) console.error('API', req.method, req.url);
    if (!up) { res.writeHead(503); res.end(); return; }
    const json = (body: unknown, status = 200): void => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders(); // an API server answers a watch at once, events follow
      watches.push(res);
      if (url.pathname.endsWith('/serviceentries')) res.write(`${JSON.stringify({ type: 'ADDED', object: se('later', 'later.example') })}\n`);
      return;
    }
    if (url.pathname === `/api/v1/namespaces/${ISTIO_NAMESPACE}/configmaps/istio` || url.pathname === `/api/v1/namespaces/${ISTIO_NAMESPACE}/configmaps`) {
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: ISTIO_NAMESPACE, resourceVersion: '3' }, data: { mesh: 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n' } };
      return json(url.pathname.endsWith('/istio') ? cm : { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '3' }, items: [cm] });
    }
    if (url.pathname === '/apis/networking.istio.io/v1beta1/serviceentries') return json({ apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntryList', metadata: { resourceVersion: '5' }, items: [se('first', 'first.example')] });
    if (url.pathname === '/apis/networking.istio.io/v1beta1/virtualservices') return json({ apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualServiceList', metadata: { resourceVersion: '5' }, items: [] });
    json({ kind: 'Status', code: 404 }, 404);
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-kubeconfig-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    insecure-skip-tls-verify: true\n    server: http://127.0.0.1:${(api.address() as AddressInfo).port}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: c\n  context: {cluster: fake, user: u}\ncurrent-context: c\n`);
  const store = new ConfigStore(() => undefined, undefined, ISTIO_NAMESPACE);
  const feed = kubernetesFeed(store, process.env['K8S_DEBUG'] ? createLogger('t') : silentLogger(), ISTIO_NAMESPACE, kubeconfig);
  let changes = 0;
  try {
    await feed.start(() => { changes += 1; });
    await waitFor(() => store.snapshot().serviceEntries.length === 2, 3000);
    const snapshot = store.snapshot();
    assert.equal(snapshot.mesh.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
    assert.deepEqual(snapshot.serviceEntries.map((e) => e.spec.hosts[0]).sort(), ['first.example', 'later.example']);
    assert.ok(changes >= 2);
    up = false;
    for (const w of watches.splice(0)) w.destroy();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(store.snapshot().serviceEntries.length, 2, 'the last good config stays while the API is unreachable');
    assert.equal(store.snapshot().mesh.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  } finally {
    feed.stop();
    for (const w of watches) w.destroy();
    api.closeAllConnections();
    api.close();
  }
});
