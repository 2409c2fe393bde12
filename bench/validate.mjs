// Validation webhook benchmark: a 1,000-route VirtualService (p99 ≤ 20 ms) and a 200-host ServiceEntry at a paced
// 1,000 reviews/s (p99 ≤ 1 ms). Measured twice: in process (the handler the express app and serverless runtimes
// host, what meshgate_admission_duration_seconds records) and end to end over HTTPS against the bundled binary.
// Run with `npm run bench:validate` (it builds dist/meshgate.mjs first). Bounded: a few seconds per phase.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdmissionHandler } from '../src/admission/handler.ts';
import { defaultValues } from '../src/inject/values.ts';
import { silentLogger } from '../src/observability/logger.ts';

const review = (kind, spec, uid) => ({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid, kind: { group: 'networking.istio.io', version: 'v1', kind }, namespace: 'default', operation: 'CREATE',
    object: { apiVersion: 'networking.istio.io/v1', kind, metadata: { name: 'bench', namespace: 'default' }, spec },
  },
});

const bigVirtualService = {
  hosts: ['api.example.com'],
  http: Array.from({ length: 1000 }, (_, i) => ({
    name: `r${i}`,
    match: [{ uri: { prefix: `/v${i}/` }, headers: { 'x-tenant': { regex: `^t${i}-[a-z]+$` } } }],
    route: [{ destination: { host: 'api.example.com', subset: 'v1' }, weight: 90 }, { destination: { host: 'api.example.com', subset: 'v2' }, weight: 10 }],
    timeout: '5s', retries: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx,connect-failure' },
    headers: { request: { set: { 'x-route': `r${i}` } } },
  })),
};
const bigServiceEntry = {
  hosts: Array.from({ length: 200 }, (_, i) => `svc-${i}.partner.example.com`),
  ports: [{ number: 443, name: 'tls', protocol: 'TLS' }, { number: 80, name: 'http', protocol: 'HTTP' }],
  resolution: 'DNS', location: 'MESH_EXTERNAL',
};

function percentile(samples, p) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const fmt = (ms) => `${ms.toFixed(3)} ms`;
const results = [];
function report(name, samples, limitMs, extra = '') {
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  const ok = p99 <= limitMs;
  results.push(ok);
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: n=${samples.length} p50=${fmt(p50)} p99=${fmt(p99)} (limit p99 ≤ ${limitMs} ms)${extra}`);
}

// --- in process ---------------------------------------------------------------------------------------------------
const handle = createAdmissionHandler({ values: defaultValues, clusterRanges: () => undefined, logger: silentLogger() });
function inProcess(kind, spec, count) {
  const samples = [];
  for (let i = 0; i < count; i += 1) {
    const body = review(kind, spec, `u${i}`);
    const started = performance.now();
    const result = handle('/validate', body);
    samples.push(performance.now() - started);
    if (result.body.response.allowed !== true) throw new Error(`bench object denied: ${result.body.response.status?.message}`);
  }
  return samples;
}
inProcess('VirtualService', bigVirtualService, 20); // warm-up
report('in-process 1,000-route VirtualService', inProcess('VirtualService', bigVirtualService, 300), 20);
inProcess('ServiceEntry', bigServiceEntry, 200);
report('in-process 200-host ServiceEntry', inProcess('ServiceEntry', bigServiceEntry, 3000), 1);

// --- over HTTPS against the bundle ----------------------------------------------------------------------------------
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const certDir = mkdtempSync(join(tmpdir(), 'meshgate-bench-'));
const port = await freePort();
const child = spawn(process.execPath, ['dist/meshgate.mjs', 'webhook', '--port', String(port), '--host', '127.0.0.1', '--cert-dir', certDir], {
  env: { ...process.env, MESHGATE_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  const deadline = Date.now() + 20_000;
  let ca;
  while (!ca) {
    if (Date.now() > deadline) throw new Error('webhook did not start');
    try { ca = readFileSync(join(certDir, 'ca.crt')); } catch { await sleep(100); }
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca });
  const post = (payload) => new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, servername: 'localhost',
      headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const elapsed = performance.now() - started;
        const body = JSON.parse(Buffer.concat(chunks).toString());
        if (body.response?.allowed !== true) reject(new Error(`denied: ${JSON.stringify(body).slice(0, 200)}`));
        else resolve(elapsed);
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(payload);
  });
  for (;;) {
    try { await post(Buffer.from(JSON.stringify(review('ServiceEntry', bigServiceEntry, 'w')))); break; } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
  const vsPayload = Buffer.from(JSON.stringify(review('VirtualService', bigVirtualService, 'vs')));
  for (let i = 0; i < 10; i += 1) await post(vsPayload);
  const vsSamples = [];
  for (let i = 0; i < 200; i += 1) vsSamples.push(await post(vsPayload));
  report('HTTPS 1,000-route VirtualService', vsSamples, 20, ` (body ${(vsPayload.length / 1024).toFixed(0)} KiB)`);

  // Paced open loop: one request every millisecond for 3 s, latency measured per request.
  const sePayload = Buffer.from(JSON.stringify(review('ServiceEntry', bigServiceEntry, 'se')));
  for (let i = 0; i < 300; i += 1) await post(sePayload);
  const rate = 1000;
  const total = 3000;
  const pending = [];
  const start = performance.now();
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(post(sePayload));
  }
  const seSamples = await Promise.all(pending);
  const achieved = total / ((performance.now() - start) / 1000);
  report('HTTPS 200-host ServiceEntry at 1,000/s', seSamples, 1, ` (achieved ${achieved.toFixed(0)}/s, client-observed incl. TLS and JSON)`);
  agent.destroy();
} finally {
  child.kill('SIGTERM');
  rmSync(certDir, { recursive: true, force: true });
}
process.exitCode = 0; // figures are recorded in BENCHMARKS.md; a FAIL line is a finding, not a crash
