import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { httpRoute, virtualService } from '../helpers/mesh.ts';
import { startTestWebhook, type TestWebhook } from '../helpers/webhook.ts';

// Issue 15, defect 1 over HTTPS: the 10.8 KB VirtualService with ten regex bombs held /validate 5 s and /healthz
// 4.8 s. Now it is denied at once and /healthz keeps answering while bombs are reviewed back to back.

let hook: TestWebhook;
before(async () => { hook = await startTestWebhook(); });
after(async () => { await hook.webhook.close(); });

const bomb = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid: 'bomb', kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' }, namespace: 'default', operation: 'CREATE',
    object: virtualService({ hosts: ['bomb.example.com'], http: Array.from({ length: 10 }, (_, i) => httpRoute({ match: [{ uri: { regex: `x${i}${'(?:ab|cd){1000}'.repeat(60)}` } }] })) }),
  },
});

function call(path: string, agent: Agent | false, body?: string): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${hook.url}${path}`, { method: body ? 'POST' : 'GET', ca: hook.ca, agent,
      headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

test('bombs reviewed back to back for 3 s are denied, and /healthz never stalls meanwhile', async () => {
  assert.ok(bomb.length > 10_000 && bomb.length < 12_000, `${bomb.length} bytes`);
  const agent = new Agent({ keepAlive: true, maxSockets: 2, ca: hook.ca });
  const health: number[] = [];
  let reviewing = true;
  const poller = (async () => {
    while (reviewing) { // a new connection each time, as the kubelet probes
      health.push((await call('/healthz', false)).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  let reviews = 0;
  const until = Date.now() + 3_000;
  while (Date.now() < until) {
    const res = await call('/validate', agent, bomb);
    const response = (JSON.parse(res.text) as { response: { allowed: boolean; status: { message: string } } }).response;
    assert.equal(response.allowed, false);
    assert.match(response.status.message, /spec\.http\[0\]\.match\[0\]\.uri\.regex: regex program is too large/);
    reviews += 1;
  }
  reviewing = false;
  await poller;
  agent.destroy();
  const worst = Math.max(...health);
  console.log(`${reviews} bomb reviews in 3 s; /healthz worst ${worst.toFixed(1)} ms over ${health.length}`);
  assert.ok(reviews >= 10, `${reviews} reviews`);
  // The published figure (p99 ≤ 100 ms) comes from npm run bench:webhook; here only a stall fails (shared cores).
  assert.ok(worst < 1_000, `/healthz took ${worst.toFixed(0)} ms`);
});
