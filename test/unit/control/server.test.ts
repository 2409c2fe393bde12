// The delivery and authentication rules over real HTTPS on loopback: the feed and the TokenReview are stand-ins
// (the e2e suite runs the same paths against a real kube-apiserver).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { passThrough } from '../../../src/control/compile.ts';
import { startControl, type RunningControl } from '../../../src/control/control.ts';
import type { InformerEvents } from '../../../src/control/informers.ts';
import { silentLogger } from '../../../src/observability/logger.ts';

let control: RunningControl;
let events: InformerEvents;
let ca: string;
let synced = true;
const tokens: Record<string, string> = { 'tok-a': 'system:serviceaccount:team-a:sleep', 'tok-b': 'system:serviceaccount:team-b:sleep' };

const se = (namespace: string, name: string, hosts: string[], exportTo?: string[]): unknown => ({
  apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { namespace, name, resourceVersion: String(Math.random()) },
  spec: { hosts, ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], ...(exportTo ? { exportTo } : {}) },
});

before(async () => {
  const certDir = join(mkdtempSync(join(tmpdir(), 'meshgate-control-')), 'certs');
  control = await startControl({
    port: 0, host: '127.0.0.1', certDir, dnsNames: ['localhost'], clusterDomain: 'cluster.local', compile: passThrough,
    review: async (token) => (tokens[token] ? { authenticated: true, username: tokens[token], audiences: ['meshgate'] } : { authenticated: false, error: 'invalid bearer token' }),
    auth: { audience: 'meshgate', maxEntries: 100, maxTrustMs: 60_000, refusalTtlMs: 1000, maxInFlight: 8 },
    maxWaiters: 3, debounceMs: 10, logger: silentLogger(),
    startFeed: async (e) => { events = e; return { synced: () => synced, stop: () => undefined }; },
  });
  ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  events.upsert('ServiceEntry', se('team-a', 'api', ['api.example.com']));
});

after(() => control.close());

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: control.port, path, ca, servername: 'localhost', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}
const auth = (token: string, extra: Record<string, string> = {}): Record<string, string> => ({ Authorization: `Bearer ${token}`, ...extra });
const json = (a: Answer): { serviceEntries: Array<{ metadata: { name: string } }> } => JSON.parse((a.headers['content-encoding'] === 'gzip' ? gunzipSync(a.body) : a.body).toString());

test('no token or a forged one: 401; another namespace: 403; own namespace: 200 with an ETag', async () => {
  assert.equal((await get('/v1/snapshots/team-a')).status, 401);
  const forged = await get('/v1/snapshots/team-a', auth('forged'));
  assert.equal(forged.status, 401);
  assert.equal(forged.headers['www-authenticate'], 'Bearer realm="meshgate"');
  assert.match(forged.body.toString(), /invalid bearer token/);
  const other = await get('/v1/snapshots/team-a', auth('tok-b'));
  assert.equal(other.status, 403);
  assert.match(other.body.toString(), /team-b\/sleep may read namespace team-b only/);
  const own = await get('/v1/snapshots/team-a', auth('tok-a'));
  assert.equal(own.status, 200);
  assert.match(String(own.headers.etag), /^"[\w-]{32}"$/);
  assert.deepEqual(json(own).serviceEntries.map((e) => e.metadata.name), ['api']);
  const metrics = await (await get('/metrics')).body.toString();
  assert.match(metrics, /meshgate_control_auth_failures_total\{reason="missing"\} 1/);
  assert.match(metrics, /meshgate_control_auth_failures_total\{reason="unauthenticated"\} 1/);
  assert.match(metrics, /meshgate_control_auth_failures_total\{reason="namespace"\} 1/);
});

test('bad input: 400 with a reason for a bad wait or namespace, 405 for other methods, 404 elsewhere', async () => {
  const badWait = await get('/v1/snapshots/team-a?wait=forever', auth('tok-a'));
  assert.equal(badWait.status, 400);
  assert.match(badWait.body.toString(), /wait must be a duration/);
  assert.equal((await get('/v1/snapshots/Not_A_Namespace', auth('tok-a'))).status, 400);
  assert.equal((await get('/v1/snapshots/%E0%A4%A', auth('tok-a'))).status, 400);
  assert.equal((await get('/v2/other')).status, 404);
});

test('the held version without wait: 304 at once; with wait, a change elsewhere does not wake, a visible one does', async () => {
  const first = await get('/v1/snapshots/team-a', auth('tok-a'));
  const etag = String(first.headers.etag);
  assert.equal((await get('/v1/snapshots/team-a', auth('tok-a', { 'If-None-Match': etag }))).status, 304);
  const started = Date.now();
  const waiting = get('/v1/snapshots/team-a?wait=20s', auth('tok-a', { 'If-None-Match': etag }));
  await new Promise((r) => setTimeout(r, 100));
  events.upsert('ServiceEntry', se('team-b', 'private', ['b.example.com'], ['.'])); // not visible from team-a
  await control.settled();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(control.server.waiters.size, 1, 'a change team-a cannot see leaves its sidecar waiting');
  events.upsert('ServiceEntry', se('team-a', 'new', ['new.example.com']));
  const answer = await waiting;
  assert.equal(answer.status, 200);
  assert.notEqual(answer.headers.etag, etag);
  assert.deepEqual(json(answer).serviceEntries.map((e) => e.metadata.name), ['api', 'new']);
  assert.ok(Date.now() - started < 2000, `woken in ${Date.now() - started} ms`);
});

test('a waiter is woken even when another request compiled the new version before the refresh did', async () => {
  const etag = String((await get('/v1/snapshots/team-a', auth('tok-a'))).headers.etag);
  const started = Date.now();
  const waiting = get('/v1/snapshots/team-a?wait=5s', auth('tok-a', { 'If-None-Match': etag }));
  await new Promise((r) => setTimeout(r, 100));
  events.upsert('ServiceEntry', se('team-a', 'raced', ['raced.example.com']));
  // At once, before the debounced refresh: this request compiles team-a's new version itself.
  const eager = await get('/v1/snapshots/team-a', auth('tok-a'));
  assert.notEqual(eager.headers.etag, etag);
  const answer = await waiting;
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.etag, eager.headers.etag);
  assert.ok(Date.now() - started < 2000, `woken after ${Date.now() - started} ms`);
});

test('an unchanged wait ends in 304 at the deadline; an update that changes only resourceVersion is no change', async () => {
  const etag = String((await get('/v1/snapshots/team-a', auth('tok-a'))).headers.etag);
  events.upsert('ServiceEntry', se('team-a', 'api', ['api.example.com']));
  const answer = await get('/v1/snapshots/team-a?wait=300ms', auth('tok-a', { 'If-None-Match': etag }));
  assert.equal(answer.status, 304);
  assert.equal(answer.headers.etag, etag);
});

test('large snapshots are gzipped for clients that accept it, never for those that do not', async () => {
  for (let i = 0; i < 400; i += 1) events.upsert('ServiceEntry', se('team-a', `bulk-${i}`, [`bulk-${i}.example.com`]));
  await control.settled();
  const zipped = await get('/v1/snapshots/team-a', auth('tok-a', { 'Accept-Encoding': 'gzip, deflate' }));
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  const plain = await get('/v1/snapshots/team-a', auth('tok-a', { 'Accept-Encoding': 'gzip;q=0, identity' }));
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.ok(zipped.body.length < plain.body.length / 2, `${zipped.body.length} vs ${plain.body.length}`);
  assert.ok(plain.body.length > 3 * 16 * 1024, 'the plain body is written in several 16 KB pieces');
  assert.deepEqual(json(zipped), json(plain));
  assert.equal(zipped.headers.etag, plain.headers.etag);
});

test('waiters are bounded: past the limit a request gets 503 and Retry-After, never queued; a client that leaves frees its place', async () => {
  const etag = String((await get('/v1/snapshots/team-a', auth('tok-a'))).headers.etag);
  const held = [0, 1, 2].map(() => get('/v1/snapshots/team-a?wait=1s', auth('tok-a', { 'If-None-Match': etag })));
  await new Promise((r) => setTimeout(r, 150));
  const refused = await get('/v1/snapshots/team-a?wait=1s', auth('tok-a', { 'If-None-Match': etag }));
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  assert.deepEqual((await Promise.all(held)).map((a) => a.status), [304, 304, 304]);
  assert.equal(control.server.waiters.size, 0);
});

test('before every informer has listed, snapshots are 503 (a partial config is never served) and readiness is false', async () => {
  synced = false;
  try {
    assert.equal((await get('/readyz')).status, 503);
    const answer = await get('/v1/snapshots/team-a', auth('tok-a'));
    assert.equal(answer.status, 503);
  } finally {
    synced = true;
  }
  assert.equal((await get('/readyz')).status, 200);
});

test('drain (SIGTERM): waiting sidecars are answered at once with 304 and Connection: close, readiness turns false', async () => {
  const etag = String((await get('/v1/snapshots/team-a', auth('tok-a'))).headers.etag);
  const started = Date.now();
  const waiting = get('/v1/snapshots/team-a?wait=20s', auth('tok-a', { 'If-None-Match': etag }));
  await new Promise((r) => setTimeout(r, 150));
  control.drain();
  const answer = await waiting;
  assert.equal(answer.status, 304);
  assert.equal(answer.headers.connection, 'close');
  assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
});
