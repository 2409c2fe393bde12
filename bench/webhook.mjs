// npm run bench:webhook — the injection webhook over HTTPS, measured in one run, side by side with nginx (one
// worker) answering a static AdmissionReview over HTTPS: the ceiling of "TLS + HTTP + a small JSON answer" here.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fmt, have, keepAliveAgent, percentile, post, rssMb, startAndWait, wrk } from './lib.mjs';

const bundle = resolve('dist/meshgate.mjs');
const work = mkdtempSync(join(tmpdir(), 'meshgate-bench-'));
const certDir = join(work, 'certs');
const port = 19443;
const nginxPort = 19444;
const url = `https://127.0.0.1:${port}/inject`;

/** A realistic ~2 KB pod as a ReplicaSet creates it. */
function realisticPod() {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      generateName: 'reviews-v2-5b64f47978-', namespace: 'shop',
      labels: { app: 'reviews', version: 'v2', 'pod-template-hash': '5b64f47978', 'app.kubernetes.io/part-of': 'shop' },
      annotations: { 'kubectl.kubernetes.io/default-container': 'reviews', 'prometheus.io/scrape': 'true' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-v2-5b64f47978', uid: 'a3b1c2d4-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      serviceAccountName: 'bookinfo-reviews',
      containers: [{
        name: 'reviews', image: 'docker.io/istio/examples-bookinfo-reviews-v2:1.20.2', imagePullPolicy: 'IfNotPresent',
        ports: [{ containerPort: 9080, protocol: 'TCP' }],
        env: [{ name: 'LOG_DIR', value: '/tmp/logs' }, { name: 'JAVA_OPTS', value: '-Xms128m -Xmx256m' }],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'wlp-output', mountPath: '/opt/ibm/wlp/output' }],
        securityContext: { runAsUser: 1000 },
        readinessProbe: { httpGet: { path: '/health', port: 9080 }, periodSeconds: 5 },
      }],
      volumes: [{ name: 'wlp-output', emptyDir: {} }, { name: 'tmp', emptyDir: {} }],
      dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30,
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
  };
}

function pathologicalPod() {
  const env = Array.from({ length: 1500 }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` }));
  const pod = realisticPod();
  pod.spec.containers = Array.from({ length: 50 }, (_, i) => ({ name: `c${i}`, image: 'busybox', env: i === 0 ? env : [] }));
  return pod;
}

const review = (pod) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: 'bench-0001', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'shop', operation: 'CREATE', object: pod },
});

const body = review(realisticPod());
const bodyFile = join(work, 'review.json');
writeFileSync(bodyFile, body);
const lua = join(work, 'post.lua');
writeFileSync(lua, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal f = io.open("${bodyFile}")\nwrk.body = f:read("*a")\nf:close()\n`);

const webhookArgs = [bundle, 'webhook', '--port', String(port), '--host', '127.0.0.1', '--cert-dir', certDir];
const env = { ...process.env, MESHGATE_LOG_LEVEL: 'warn' };
let ca;
const answered = async () => (await post(url, body, undefined, ca)).status === 200;

// First start generates the certificates (not part of the cold start we report).
{
  const child = spawn(process.execPath, webhookArgs, { stdio: 'ignore', env });
  for (let i = 0; i < 200; i += 1) {
    await new Promise((r) => setTimeout(r, 25));
    try { ca = readFileSync(join(certDir, 'ca.crt'), 'utf8'); if (await answered()) break; } catch { /* starting */ }
  }
  child.kill('SIGKILL');
}

// Cold start: exec of the bundle to the first answered review, median of 7.
const coldStarts = [];
for (let i = 0; i < 7; i += 1) {
  const started = process.hrtime.bigint();
  const child = await startAndWait(process.execPath, webhookArgs, answered, { env });
  coldStarts.push(Number(process.hrtime.bigint() - started) / 1e6);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}
coldStarts.sort((a, b) => a - b);
const bareNode = [];
for (let i = 0; i < 5; i += 1) {
  const started = process.hrtime.bigint();
  await new Promise((r) => spawn(process.execPath, ['-e', '0']).once('exit', r));
  bareNode.push(Number(process.hrtime.bigint() - started) / 1e6);
}
bareNode.sort((a, b) => a - b);

const server = await startAndWait(process.execPath, webhookArgs, answered, { env });
const agent = keepAliveAgent(ca, 8);
for (let i = 0; i < 2000; i += 1) await post(url, body, agent, ca); // warm up the JIT
await new Promise((r) => setTimeout(r, 500));
const idleRss = rssMb(server.pid);

// Saturation with wrk (C, one thread), and the same against nginx for the ratio.
let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssMb(server.pid)); }, 100);
const saturated = have('wrk') ? await wrk(url, { connections: 32, seconds: 5, script: lua }) : { rps: NaN, p50: NaN, p99: NaN, non2xx: 0 };
clearInterval(sampler);

// p50/p99 at a fixed 1,000 reviews/s for 5 s (open loop: requests are sent on schedule, not after answers).
async function fixedRate(rate, seconds, payload) {
  const latencies = [];
  const pending = [];
  const interval = 1000 / rate;
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i += 1) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(url, payload, agent, ca).then((r) => { if (r.status === 200) latencies.push(r.ms); }));
  }
  await Promise.all(pending);
  return latencies.sort((a, b) => a - b);
}
const atRate = await fixedRate(1000, 5, body);

const patho = review(pathologicalPod());
const pathoLatencies = [];
for (let i = 0; i < 200; i += 1) pathoLatencies.push((await post(url, patho, agent, ca)).ms);
pathoLatencies.sort((a, b) => a - b);
server.kill('SIGTERM');

// nginx: the same TLS and a static answer, one worker.
let nginx = { rps: NaN };
if (have('nginx') && have('wrk')) {
  const conf = join(work, 'nginx.conf');
  writeFileSync(join(work, 'answer.json'), JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'bench-0001', allowed: true } }));
  writeFileSync(conf, `worker_processes 1; daemon off; pid ${work}/nginx.pid; error_log ${work}/nginx.err warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${work}; client_max_body_size 8m;
  server { listen 127.0.0.1:${nginxPort} ssl; ssl_certificate ${certDir}/tls.crt; ssl_certificate_key ${certDir}/tls.key;
    location /inject { default_type application/json; alias ${work}/answer.json; error_page 405 =200 $uri; } } }\n`);
  const proc = spawn('nginx', ['-c', conf, '-p', work], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  nginx = await wrk(`https://127.0.0.1:${nginxPort}/inject`, { connections: 32, seconds: 5, script: lua });
  proc.kill('SIGTERM');
}

// Bare node:https parsing the request and answering a review of the same size (~3.8 KB, as meshgate's patch makes
// it): the ceiling for one Node process here, with nothing of meshgate in it.
let bare = { rps: NaN };
if (have('wrk')) {
  const script = `const https=require('https');const fs=require('fs');const pad='x'.repeat(3500);
https.createServer({cert:fs.readFileSync('${certDir}/tls.crt'),key:fs.readFileSync('${certDir}/tls.key')},(q,r)=>{const c=[];q.on('data',d=>c.push(d));q.on('end',()=>{const j=JSON.parse(Buffer.concat(c).toString());const o=JSON.stringify({apiVersion:'admission.k8s.io/v1',kind:'AdmissionReview',response:{uid:j.request.uid,allowed:true,patchType:'JSONPatch',patch:pad}});r.writeHead(200,{'content-type':'application/json','content-length':Buffer.byteLength(o)});r.end(o)})}).listen(${nginxPort + 1},'127.0.0.1')`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  bare = await wrk(`https://127.0.0.1:${nginxPort + 1}/inject`, { connections: 32, seconds: 5, script: lua });
  proc.kill('SIGTERM');
}

console.log('\nmeshgate injection webhook (HTTPS, keep-alive, 2 KB pod; one Node 24 process; 2 cores shared with the load generator)\n');
console.log('measure                               meshgate   bare node:https   nginx static   ratios (×bare, ×nginx)   target');
console.log(`reviews/s at saturation (wrk -c32)    ${fmt(saturated.rps, 0).padStart(8)}   ${fmt(bare.rps, 0).padStart(8)}          ${fmt(nginx.rps, 0).padStart(8)}       ${fmt(saturated.rps / bare.rps)}, ${fmt(saturated.rps / nginx.rps)}               ≥ 15000`);
console.log(`p50 / p99 at 1,000 reviews/s (ms)     ${fmt(percentile(atRate, 50), 3)} / ${fmt(percentile(atRate, 99), 3)}                          p99 ≤ 1`);
console.log(`pathological pod p50 / p99 (ms)       ${fmt(percentile(pathoLatencies, 50), 2)} / ${fmt(percentile(pathoLatencies, 99), 2)}                           ≤ 5`);
console.log(`cold start, exec to first review (ms) ${fmt(percentile(coldStarts, 50), 0).padStart(8)}      bare node -e 0: ${fmt(percentile(bareNode, 50), 0)} ms        ≤ 100`);
console.log(`RSS idle / under load (MB)            ${fmt(idleRss, 1)} / ${fmt(peakRss, 1)}                          idle ≤ 55`);
console.log(`answered at 1,000/s: ${atRate.length} of 5000; non-2xx under wrk: ${saturated.non2xx}`);

// Under attack and churn (issue 15): defects 1-3 (before/after when BENCH_BEFORE_BUNDLE names an older bundle) and
// 1,000 reviews/s across 2 replicas (BENCH_REPLICA_SECONDS, default 60).
{
  const { hostileFigures, twoReplicas } = await import('./webhook-hostile.mjs');
  const beforeBundle = process.env.BENCH_BEFORE_BUNDLE;
  const now = await hostileFigures(bundle);
  const then = beforeBundle ? await hostileFigures(beforeBundle) : undefined;
  const replicas = await twoReplicas(bundle, Number(process.env.BENCH_REPLICA_SECONDS ?? 60));
  const row = (label, pick, digits = 1) => console.log(`${label.padEnd(58)} ${(then ? fmt(pick(then), digits) : '-').padStart(9)}   ${fmt(pick(now), digits).padStart(9)}`);
  console.log('\nunder attack (one process each; 2 cores shared with the load generators and other work)        before       after');
  row('regex bomb: /validate p50 (ms)', (f) => f.regex.reviewP50);
  row('regex bomb: CPU per review (ms)', (f) => f.regex.cpuPerReview);
  row('regex bomb: /healthz p99 / max while reviewed (ms)', (f) => f.regex.healthP99);
  row('  (max)', (f) => f.regex.healthMax);
  row('regex bomb: RSS after (MB)', (f) => f.regex.rssAfter, 0);
  row('worst allowed object (1,000 regexes, ~30,000 units): reviews', (f) => f.worst?.reviews, 0);
  row('  /validate p50 (ms)', (f) => f.worst?.reviewP50);
  row('  CPU per review (ms)', (f) => f.worst?.cpuPerReview);
  row('  /healthz probes while reviewed', (f) => f.worst?.probes, 0);
  row('  /healthz p99 while reviewed (ms)', (f) => f.worst?.healthP99);
  row('  (max)', (f) => f.worst?.healthMax);
  row('  RSS right after (MB)', (f) => f.worst?.rssAfter, 0);
  row('  RSS after idle (MB; sampled until < 120 or 60 s)', (f) => f.worst?.rssIdle, 0);
  row('  seconds to settle', (f) => f.worst?.settleSeconds, 0);
  row('the same, 16 side by side: reviews / failed', (f) => f.worstParallel?.reviews, 0);
  row('  failed', (f) => f.worstParallel?.failed, 0);
  row('  /validate p50 (ms)', (f) => f.worstParallel?.reviewP50);
  row('  /healthz p99 while reviewed (ms)', (f) => f.worstParallel?.healthP99);
  row('  (max)', (f) => f.worstParallel?.healthMax);
  row('  RSS right after (MB)', (f) => f.worstParallel?.rssAfter, 0);
  row('  RSS after idle (MB; sampled until < 120 or 60 s)', (f) => f.worstParallel?.rssIdle, 0);
  row('  seconds to settle', (f) => f.worstParallel?.settleSeconds, 0);
  for (const [label, key] of [['1.1 MB pods of 60,000 labels, 4 at once (/inject)', 'largePods'],
    ['2.7 MB VirtualServices of 30,000 routes, 4 at once (over the 48 MB worker heap: 503)', 'manyRoutes'], ['5.4 MB VirtualServices of 60,000 shadowed routes, 4 at once', 'shadowedRoutes']]) {
    row(`${label}: reviews`, (f) => f[key]?.reviews, 0);
    row('  answered 200 / refused 503', (f) => (f[key] ? f[key].reviews - f[key].failed : undefined), 0);
    row('  (refused 503)', (f) => f[key]?.refused, 0);
    row('  review p50 (ms)', (f) => f[key]?.reviewP50);
    row('  /healthz p99 while reviewed (ms)', (f) => f[key]?.healthP99);
    row('  (max)', (f) => f[key]?.healthMax);
    row('  peak RSS (MB)', (f) => f[key]?.rssPeak, 0);
  }
  row('flood 2,000 idle TCP + 2,000 slowloris: pooled review p99 (ms)', (f) => f.flood.p99);
  row('  pooled review max (ms)', (f) => f.flood.max);
  row('  sockets held at peak', (f) => f.flood.peakSockets, 0);
  row('  sockets held after 12 s', (f) => f.flood.heldAfter, 0);
  row('200 clients + 2,000 hostile: peak RSS (MB)', (f) => f.memory.peak, 0);
  row('  RSS after idle (MB; sampled until < 120 or 60 s)', (f) => f.memory.settled, 0);
  row('  seconds to settle', (f) => f.memory.settleSeconds, 0);
  row('  reviews answered / failed', (f) => f.memory.ok, 0);
  row('  failed', (f) => f.memory.failed, 0);
  if (replicas) {
    console.log(`\n2 replicas behind haproxy (TCP), ${replicas.total} reviews at ${fmt(replicas.achieved, 0)}/s: success ${fmt(replicas.success * 100, 3)} %, ` +
      `p50 ${fmt(replicas.p50)} / p99 ${fmt(replicas.p99)} / p99.9 ${fmt(replicas.p999)} ms; peak RSS ${fmt(replicas.peak1, 0)} / ${fmt(replicas.peak2, 0)} MB; failed ${replicas.failed}`);
  } else console.log('\n2 replicas: haproxy not installed (scripts/install-system-deps.sh installs it)');
}
