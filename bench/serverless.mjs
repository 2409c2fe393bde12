// npm run bench:serverless — meshgate's function module on each real runtime (faas-js-runtime, functions-framework,
// aws-lambda-ric under the Lambda Runtime Interface Emulator behind the Function-URL front), side by side with an
// empty function on the same runtime (what the runtime itself costs) and with `meshgate webhook --plain-http`.
// Plain HTTP on loopback: a platform's front terminates TLS before the function, so TLS is no part of its cold start.
//   cold start: process spawn → first AdmissionReview answered 200 (the review is re-sent every 2 ms until then),
//               10 starts each, median and max;
//   warm: p50/p99 at a fixed 100 reviews/s for 10 s (open loop, keep-alive), then the RSS of the runtime's processes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fmt, percentile, rssMb } from './lib.mjs';
import { RUNTIMES, emulatorBinary, startFunctionUrlFrontProcess, startRuntime, stopProcess } from '../test/serverless/runtimes.ts';

const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 10);
const WARM_RATE = 100;
const WARM_SECONDS = 10;
const START_TIMEOUT_MS = 20_000;
const work = mkdtempSync(join(tmpdir(), 'meshgate-bench-serverless-'));

// The empty function: the same three exports, a fixed AdmissionReview answer, nothing of meshgate.
const emptyModule = join(work, 'empty.mjs');
writeFileSync(emptyModule, `const answer = (uid) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
export const handle = (context, body) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: answer(body?.request?.uid) });
export const admission = (req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(answer(req.body?.request?.uid))); };
export const handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer(JSON.parse(event.body).request.uid)) });
`);

const pod = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { generateName: 'reviews-v2-5b64f47978-', namespace: 'shop', labels: { app: 'reviews', version: 'v2' } },
  spec: { containers: [{ name: 'reviews', image: 'docker.io/istio/examples-bookinfo-reviews-v2:1.20.2', ports: [{ containerPort: 9080 }],
    resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
};
const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: 'bench-0001', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'shop', operation: 'CREATE', object: pod } });

function post(url, agent) {
  return new Promise((resolvePost) => {
    const started = process.hrtime.bigint();
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolvePost({ ok: res.statusCode === 200 && text.includes('bench-0001'), ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', () => resolvePost({ ok: false, ms: NaN }));
    req.setTimeout(5000, () => req.destroy());
    req.end(body);
  });
}

let nextPort = 21000;
const ports = () => { nextPort += 4; return nextPort; };

/** Spawns a runtime (fresh ports) and resolves with it and the milliseconds until its first review answered. */
async function coldStart(subject) {
  const started = process.hrtime.bigint();
  const running = subject.start(ports());
  const url = subject.reviewUrl(running);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (running.process.exitCode !== null) throw new Error(`${running.name} exited: ${running.logs()}`);
    if ((await post(url)).ok) return { running, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    await new Promise((r) => setTimeout(r, 2));
  }
  await running.stop();
  throw new Error(`${running.name}: no review answered within ${START_TIMEOUT_MS} ms\n${running.logs()}`);
}

async function warm(running, url) {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  for (let i = 0; i < 200; i += 1) await post(url, agent);
  const latencies = [];
  const pending = [];
  const start = performance.now();
  for (let i = 0; i < WARM_RATE * WARM_SECONDS; i += 1) {
    const wait = start + (i * 1000) / WARM_RATE - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(url, agent).then((r) => { if (r.ok) latencies.push(r.ms); }));
  }
  await Promise.all(pending);
  agent.destroy();
  const alive = running.pids().filter((pid) => existsSync(`/proc/${pid}/status`));
  const rss = alive.reduce((sum, pid) => sum + rssMb(pid), 0);
  if (running.process.exitCode !== null) throw new Error(`${running.name} exited during the warm run:\n${running.logs()}`);
  return { latencies: latencies.sort((a, b) => a - b), rss };
}

/** `meshgate webhook` itself, plain HTTP (as behind Knative's route). */
function startWebhook(port) {
  const child = spawn(process.execPath, [resolve('dist/meshgate.mjs'), 'webhook', '--plain-http', '--host', '127.0.0.1', '--port', String(port), '--cert-dir', join(work, 'certs')],
    { stdio: 'ignore', env: { ...process.env, MESHGATE_LOG_LEVEL: 'warn' } });
  return { name: 'webhook', url: `http://127.0.0.1:${port}`, injectPath: '/inject', process: child, pids: () => [child.pid], logs: () => '', stop: () => stopProcess(child) };
}

// Lambda: the emulator always on LAMBDA_PORT, behind one Function-URL front that stays up across its cold starts
// (a Function URL is always there; only the sandbox starts cold).
const LAMBDA_PORT = 20990;
emulatorBinary(); // built or found before any clock starts
const lambdaFront = await startFunctionUrlFrontProcess(20995, LAMBDA_PORT);
const direct = (running) => running.url + running.injectPath;
const runtimeSubject = (name, label, module, env = {}) => ({
  label: `${name}: ${label}`,
  start: (port) => startRuntime(name, { module, port: name === 'lambda' ? LAMBDA_PORT : port, runtimeApiPort: port + 1, env: { MESHGATE_LOG_LEVEL: 'warn', ...env } }),
  reviewUrl: name === 'lambda' ? () => `${lambdaFront.url}/inject` : direct,
});
const subjects = [
  ...RUNTIMES.flatMap((name) => [runtimeSubject(name, 'meshgate', 'dist/functions.mjs'), runtimeSubject(name, 'empty function', emptyModule)]),
  { label: 'meshgate webhook --plain-http', start: startWebhook, reviewUrl: direct },
];

const rows = [];
let current;
try {
  for (const subject of subjects) {
    const times = [];
    let last;
    for (let i = 0; i < COLD_STARTS; i += 1) {
      const { running, ms } = await coldStart(subject);
      current = running;
      times.push(ms);
      if (i < COLD_STARTS - 1) await running.stop(); else last = running;
    }
    times.sort((a, b) => a - b);
    const { latencies, rss } = await warm(last, subject.reviewUrl(last));
    await last.stop();
    current = undefined;
    rows.push({ label: subject.label, median: percentile(times, 50), max: times[times.length - 1], p50: percentile(latencies, 50), p99: percentile(latencies, 99), answered: latencies.length, rss });
    process.stderr.write(`${subject.label}: done\n`);
  }
} finally {
  // Whatever failed, no runtime, emulator or front is left behind holding a port.
  await current?.stop();
  await lambdaFront.stop();
}

console.log(`\nmeshgate as a function: cold start = process spawn → first AdmissionReview answered (${COLD_STARTS} starts); warm at ${WARM_RATE} reviews/s for ${WARM_SECONDS} s`);
console.log('(plain HTTP on loopback; 2 cores shared with the load generator and whatever else runs)\n');
console.log('runtime / function                 cold median   cold max   ×empty   warm p50   warm p99   answered   RSS MB   target');
const empty = Object.fromEntries(rows.filter((r) => r.label.endsWith('empty function')).map((r) => [r.label.split(':')[0], r]));
for (const r of rows) {
  const base = empty[r.label.split(':')[0]];
  const ratio = base && base !== r ? fmt(r.median / base.median) : '';
  const target = r.label.endsWith(': meshgate') ? (r.median <= 300 ? 'cold ≤ 300 ms: met' : 'cold ≤ 300 ms: MISSED') : '';
  console.log(`${r.label.padEnd(34)} ${fmt(r.median, 0).padStart(8)} ms ${fmt(r.max, 0).padStart(7)} ms ${ratio.padStart(8)} ${fmt(r.p50, 2).padStart(7)} ms ${fmt(r.p99, 2).padStart(7)} ms ${String(r.answered).padStart(10)} ${fmt(r.rss, 1).padStart(8)}   ${target}`);
}
