// Validation webhook benchmark: a 1,000-route VirtualService (p99 ≤ 20 ms) and a 200-host ServiceEntry at a paced
// 1,000 reviews/s (p99 ≤ 1 ms). Measured twice: in process (the handler the express app and serverless runtimes
// host, what meshgate_admission_duration_seconds records) and end to end over HTTPS against the bundled binary.
// Run with `npm run bench:validate` (it builds dist/meshgate.mjs first). Bounded: a few seconds per phase.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdmissionHandler } from '../src/admission/handler.ts';
import { defaultValues } from '../src/inject/values.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { fmt, keepAliveAgent, percentile, post, startAndWait } from './lib.mjs';

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

const results = [];
function report(name, samples, limitMs, extra = '') {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const ok = p99 <= limitMs;
  results.push(ok);
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: n=${samples.length} p50=${fmt(p50, 3)} ms p99=${fmt(p99, 3)} ms (limit p99 ≤ ${limitMs} ms)${extra}`);
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
const work = mkdtempSync(join(tmpdir(), 'meshgate-bench-validate-'));
const certDir = join(work, 'certs');
const port = 19453;
const url = `https://127.0.0.1:${port}/validate`;
let agent;
const child = await startAndWait(process.execPath, [resolve('dist/meshgate.mjs'), 'webhook', '--port', String(port), '--host', '127.0.0.1', '--cert-dir', certDir], async () => {
  agent ??= keepAliveAgent((await import('node:fs')).readFileSync(join(certDir, 'ca.crt')));
  return (await post(url, JSON.stringify(review('ServiceEntry', bigServiceEntry, 'w')), agent)).status === 200;
}, { timeoutMs: 20_000, env: { ...process.env, MESHGATE_LOG_LEVEL: 'silent' } });
try {
  const timed = async (body) => {
    const { status, ms } = await post(url, body, agent);
    if (status !== 200) throw new Error(`HTTP ${status}`);
    return ms;
  };
  const vsBody = JSON.stringify(review('VirtualService', bigVirtualService, 'vs'));
  for (let i = 0; i < 10; i += 1) await timed(vsBody);
  const vsSamples = [];
  for (let i = 0; i < 200; i += 1) vsSamples.push(await timed(vsBody));
  report('HTTPS 1,000-route VirtualService', vsSamples, 20, ` (body ${(vsBody.length / 1024).toFixed(0)} KiB)`);

  // Paced open loop: one request every millisecond for 3 s, latency measured per request.
  const seBody = JSON.stringify(review('ServiceEntry', bigServiceEntry, 'se'));
  for (let i = 0; i < 300; i += 1) await timed(seBody);
  const rate = 1000;
  const total = 3000;
  const pending = [];
  const start = performance.now();
  for (let i = 0; i < total; i += 1) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(timed(seBody));
  }
  const seSamples = await Promise.all(pending);
  const achieved = total / ((performance.now() - start) / 1000);
  report('HTTPS 200-host ServiceEntry at 1,000/s', seSamples, 1, ` (achieved ${achieved.toFixed(0)}/s, client-observed incl. TLS and JSON)`);
} finally {
  agent?.destroy();
  child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
// Figures are recorded in BENCHMARKS.md; a FAIL line is a finding to read, not a crash.
