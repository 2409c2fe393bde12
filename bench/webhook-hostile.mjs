// The webhook under attack and churn (issue 15), measured against a bundle: a regex compile bomb, a connection
// flood, memory under 200 clients plus hostile connections, and 1,000 reviews/s across 2 replicas behind haproxy.
// bench/webhook.mjs runs it for the current bundle and, given BENCH_BEFORE_BUNDLE, for an older one side by side.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { cpuSeconds, have, keepAliveAgent, percentile, rssMb } from './lib.mjs';
import { chartWebhookEnv } from '../test/helpers/chart-webhook-env.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** One HTTPS exchange; never rejects: { status, ms } or { error, ms }. */
function exchange(port, path, { body, agent, ca, timeoutMs = 30_000 } = {}) {
  const started = performance.now();
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', agent: agent ?? false, ca, servername: 'localhost',
      headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode, ms: performance.now() - started }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done({ error: e.code ?? e.message, ms: performance.now() - started }));
    req.end(body);
  });
}

async function startReplica(bundle, port, certDir) {
  const child = spawn('bash', ['-c', `ulimit -n 16384 && exec "${process.execPath}" "${bundle}" webhook --port ${port} --host 127.0.0.1 --cert-dir "${certDir}"`],
    { stdio: 'ignore', env: { ...process.env, MESHGATE_LOG_LEVEL: 'warn', ...chartWebhookEnv() } }); // as the chart runs it
  for (let i = 0; i < 300; i += 1) {
    await sleep(50);
    let ca;
    try { ca = readFileSync(join(certDir, 'ca.crt'), 'utf8'); } catch { continue; }
    if ((await exchange(port, '/readyz', { ca, timeoutMs: 1000 })).status === 200) return { child, ca, pid: child.pid };
  }
  child.kill('SIGKILL');
  throw new Error(`${bundle} did not become ready on ${port}`);
}

async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

const socketCount = (pid) => readdirSync(`/proc/${pid}/fd`).filter((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:'); } catch { return false; } }).length;

function hostileClients(port, ca, idle, slow, lifetimeMs) {
  return spawn('bash', ['-c', `ulimit -n 16384 && exec "${process.execPath}" test/helpers/hostile-clients.mjs`],
    { stdio: 'ignore', env: { ...process.env, PORT: String(port), IDLE: String(idle), SLOW: String(slow), CA: ca, LIFETIME_MS: String(lifetimeMs) } });
}

const podReview = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'bench', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'shop', operation: 'CREATE',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } } });

/**
 * The bomb: a 10.8 KB VirtualService with ten distinct `x1(?:ab|cd){1000}`-style regexes, distinct in every
 * review (`n`) as an attacker would send them, so no cache of compiled regexes answers it.
 */
const bombReview = (n) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'bomb', kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' }, namespace: 'default', operation: 'CREATE',
  object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'bomb', namespace: 'default' }, spec: { hosts: ['bomb.example.com'],
    http: Array.from({ length: 10 }, (_, i) => ({ match: [{ uri: { regex: `x${n}_${i}${'(?:ab|cd){1000}'.repeat(60)}` } }], route: [{ destination: { host: 'a.example.com' } }] })) } } } });

/**
 * The worst object the per-object limits admit (src/validate/regex.ts): 11 regexes of ~2,000 estimated instructions
 * and 989 small ones, distinct in every review (`n`), so each review parses ~30,000 units and 1,000 patterns afresh.
 */
const worstReview = (n) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'worst', kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' }, namespace: 'default', operation: 'CREATE',
  object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'worst', namespace: 'default' }, spec: { hosts: ['worst.example.com'],
    http: Array.from({ length: 1000 }, (_, i) => ({ match: [{ uri: { regex: i < 11 ? `/s${n}r${i}[a-z]{1,999}` : `/s${n}r${i}/[a-z]+` } }], route: [{ destination: { host: 'a.example.com' } }] })) } } } });

/**
 * Reviews back to back on `parallel` keep-alive connections (each sends its next when answered) for
 * BENCH_REGEX_SECONDS (default 6; the last ones may run over) while /healthz is polled every 20 ms on a new
 * connection each time, as the kubelet probes. `body(n)` makes the n-th review. RSS is read right after the load,
 * then every second until under 120 MB or 60 s (the webhook's idle collection and the validation worker's stop are
 * both at 10 s idle; the allocator returns the worker's memory some seconds later).
 */
async function reviewsWhileProbed(bundle, work, body, parallel = 1, path = '/validate') {
  const port = await freePort();
  const { child, ca, pid } = await startReplica(bundle, port, join(work, 'certs'));
  const rssBefore = rssMb(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => { try { rssPeak = Math.max(rssPeak, rssMb(pid)); } catch { /* exited */ } }, 100);
  const health = [];
  let polling = true;
  const poller = (async () => { while (polling) { health.push((await exchange(port, '/healthz', { ca })).ms); await sleep(20); } })();
  const agent = keepAliveAgent(ca, parallel);
  const reviews = [];
  const cpu0 = cpuSeconds(pid);
  const until = Date.now() + Number(process.env.BENCH_REGEX_SECONDS ?? 6) * 1000;
  let sent = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (Date.now() < until && sent < 20_000) reviews.push(await exchange(port, path, { body: body(sent++), agent, ca }));
  }));
  const cpuPerReview = ((cpuSeconds(pid) - cpu0) * 1000) / reviews.length;
  polling = false;
  await poller;
  clearInterval(sampler);
  const rssAfter = rssMb(pid);
  agent.destroy();
  const idleStart = Date.now();
  let rssIdle = rssMb(pid);
  while (Date.now() - idleStart < 60_000 && rssIdle >= 120) { await sleep(1000); rssIdle = rssMb(pid); }
  const settleSeconds = (Date.now() - idleStart) / 1000;
  await stop(child);
  const sortedHealth = health.sort((a, b) => a - b);
  const sortedReviews = reviews.map((r) => r.ms).sort((a, b) => a - b);
  const failed = reviews.filter((r) => r.status !== 200).length;
  const refused = reviews.filter((r) => r.status === 503).length;
  return { reviews: reviews.length, failed, reviewP50: percentile(sortedReviews, 50), cpuPerReview, probes: health.length,
    healthP99: percentile(sortedHealth, 99), healthMax: sortedHealth.at(-1), rssBefore, rssPeak, rssAfter, rssIdle, settleSeconds, refused };
}

/** Defect 1: the bombs, back to back. */
export const regexBomb = (bundle, work) => reviewsWhileProbed(bundle, work, bombReview);
/** The worst object the limits allow, back to back (CPU per review and /healthz at the per-object caps). */
export const regexWorst = (bundle, work) => reviewsWhileProbed(bundle, work, worstReview);
/** The same, 16 reviews side by side (an attacker, or a GitOps sync applying many objects at once). */
export const regexWorstParallel = (bundle, work) => reviewsWhileProbed(bundle, work, worstReview, 16);

/** A 1.1 MB pod with 60,000 labels (40 ms of JSON.parse, 25 ms of injection), distinct in every review. */
const labelledPodReview = (n) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: `labels${n}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'shop', operation: 'CREATE',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: 'shop', labels: Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`l${i}`, `v${n}-${i}`])) },
    spec: { containers: [{ name: 'web', image: 'nginx' }] } } } });
/** A 2.7 MB VirtualService of 30,000 routes: about the largest the API server's 3 MiB request cap lets through, past what etcd stores by default (1.5 MiB). */
const manyRoutesReview = (n) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: `routes${n}`, kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' }, namespace: 'default', operation: 'CREATE',
  object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'routes', namespace: 'default' }, spec: { hosts: ['routes.example.com'],
    http: Array.from({ length: 30_000 }, (_, i) => ({ match: [{ uri: { prefix: `/r${n}/${i}/` } }], route: [{ destination: { host: 'a.example.com' } }] })) } } } });
/** A hostile 5.4 MB VirtualService of 60,000 routes each shadowed by an earlier one (a warning apiece): past any heap budget. */
const shadowedRoutesReview = (n) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: `shadowed${n}`, kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' }, namespace: 'default', operation: 'CREATE',
  object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'shadowed', namespace: 'default' }, spec: { hosts: ['shadowed.example.com'],
    http: Array.from({ length: 60_000 }, (_, i) => ({ match: [{ uri: { prefix: `/s${n}/${i}` } }], route: [{ destination: { host: 'a.example.com' } }] })) } } } });

/** Large bodies, 4 side by side: each body is built once per distinct n (8 of them), as building them costs seconds. */
const cycled = (make) => { const made = Array.from({ length: 8 }, (_, n) => make(n)); return (n) => made[n % made.length]; };
export const largePods = (bundle, work) => reviewsWhileProbed(bundle, work, cycled(labelledPodReview), 4, '/inject');
export const manyRoutes = (bundle, work) => reviewsWhileProbed(bundle, work, cycled(manyRoutesReview), 4);
export const shadowedRoutes = (bundle, work) => reviewsWhileProbed(bundle, work, cycled(shadowedRoutesReview), 4);

/** Defect 3: 2,000 idle TCP + 2,000 slowloris TLS connections; reviews on a pooled connection; sockets held after 12 s. */
export async function connectionFlood(bundle, work) {
  const port = await freePort();
  const { child, ca, pid } = await startReplica(bundle, port, join(work, 'certs'));
  const agent = keepAliveAgent(ca, 1);
  await exchange(port, '/inject', { body: podReview, agent, ca });
  const flood = hostileClients(port, ca, 2000, 2000, 20_000);
  await sleep(300);
  const latencies = [];
  let failed = 0;
  const until = Date.now() + 12_000;
  let peakSockets = 0;
  while (Date.now() < until) {
    const r = await exchange(port, '/inject', { body: podReview, agent, ca, timeoutMs: 10_000 });
    if (r.status === 200) latencies.push(r.ms); else failed += 1;
    peakSockets = Math.max(peakSockets, socketCount(pid));
    await sleep(50);
  }
  const heldAfter = socketCount(pid);
  const rss = rssMb(pid);
  flood.kill('SIGKILL');
  agent.destroy();
  await stop(child);
  latencies.sort((a, b) => a - b);
  return { p99: percentile(latencies, 99), max: latencies.at(-1), failed, peakSockets, heldAfter, rss };
}

/** Defect 2: 200 concurrent clients (one in ten sends a 100 KB pod) + 2,000 hostile connections for 15 s, then idle. */
export async function memory(bundle, work) {
  const port = await freePort();
  const { child, ca, pid } = await startReplica(bundle, port, join(work, 'certs'));
  let peak = rssMb(pid);
  const sampler = setInterval(() => { try { peak = Math.max(peak, rssMb(pid)); } catch { /* exited */ } }, 100);
  const flood = hostileClients(port, ca, 0, 2000, 15_000);
  const agent = keepAliveAgent(ca, 200);
  const large = podReview.replace('"labels":{"app":"web"}', `"labels":{"app":"web"},"annotations":{"blob":"${'x'.repeat(100_000)}"}`);
  let ok = 0;
  let failed = 0;
  const until = Date.now() + 15_000;
  await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    for (let n = 0; Date.now() < until; n += 1) {
      const r = await exchange(port, '/inject', { body: (n + i) % 10 === 0 ? large : podReview, agent, ca, timeoutMs: 10_000 });
      if (r.status === 200) ok += 1; else failed += 1;
    }
  }));
  agent.destroy();
  flood.kill('SIGKILL');
  const loadPeak = peak;
  const idleStart = Date.now();
  let settled = rssMb(pid);
  while (Date.now() - idleStart < 60_000 && settled >= 120) { await sleep(1000); settled = rssMb(pid); }
  clearInterval(sampler);
  await stop(child);
  return { ok, failed, peak: loadPeak, settled, settleSeconds: (Date.now() - idleStart) / 1000 };
}

/** 1,000 reviews/s for `seconds` across 2 replicas behind haproxy (TCP mode, as kube-proxy balances the Service). */
export async function twoReplicas(bundle, seconds = 60, rate = 1000) {
  if (!have('haproxy')) return undefined;
  const work = mkdtempSync(join(tmpdir(), 'meshgate-bench-2r-'));
  const certDir = join(work, 'certs');
  const [front, p1, p2] = [await freePort(), await freePort(), await freePort()];
  const r1 = await startReplica(bundle, p1, certDir);
  const r2 = await startReplica(bundle, p2, certDir);
  const cfg = join(work, 'haproxy.cfg');
  writeFileSync(cfg, `global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 120s\n  timeout server 120s\n` +
    `listen svc\n  bind 127.0.0.1:${front}\n  balance roundrobin\n  server r1 127.0.0.1:${p1}\n  server r2 127.0.0.1:${p2}\n`);
  const haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
  await sleep(500);
  const agent = keepAliveAgent(r1.ca, 64);
  const latencies = [];
  let failed = 0;
  let peak1 = 0;
  let peak2 = 0;
  const sampler = setInterval(() => { peak1 = Math.max(peak1, rssMb(r1.pid)); peak2 = Math.max(peak2, rssMb(r2.pid)); }, 250);
  const pending = [];
  const start = performance.now();
  const total = rate * seconds;
  for (let i = 0; i < total; i += 1) { // open loop: sent on schedule, not after answers
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(exchange(front, '/inject', { body: podReview, agent, ca: r1.ca, timeoutMs: 10_000 }).then((r) => { if (r.status === 200) latencies.push(r.ms); else failed += 1; }));
  }
  await Promise.all(pending);
  clearInterval(sampler);
  const achieved = total / ((performance.now() - start) / 1000);
  agent.destroy();
  haproxy.kill('SIGTERM');
  await stop(r1.child);
  await stop(r2.child);
  latencies.sort((a, b) => a - b);
  return { total, achieved, success: latencies.length / total, p50: percentile(latencies, 50), p99: percentile(latencies, 99), p999: percentile(latencies, 99.9), peak1, peak2, failed };
}

export async function hostileFigures(bundle) {
  const work = mkdtempSync(join(tmpdir(), 'meshgate-bench-hostile-'));
  const path = resolve(bundle);
  return { regex: await regexBomb(path, work), worst: await regexWorst(path, work), worstParallel: await regexWorstParallel(path, work),
    largePods: await largePods(path, work), manyRoutes: await manyRoutes(path, work), shadowedRoutes: await shadowedRoutes(path, work),
    flood: await connectionFlood(path, work), memory: await memory(path, work) };
}
