import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { review, samplePod } from '../helpers/pods.ts';

// Issue 15, defect 3: no connection limit, handshake-less connections held 120 s, unfinished headers 10-40 s.
// 2,000 idle TCP and 2,000 slowloris TLS connections against a real webhook process (its own fd limit raised):
// reviews on the API server's pooled keep-alive connection keep being answered (p99 printed; the bench publishes
// it), and every hostile connection is cut within the handshake and header timeouts (5 s, checked every second).

const HOSTILE = 2000;
const certDir = mkdtempSync(join(tmpdir(), 'meshgate-flood-'));
let server: ChildProcess;
let port = 0;
let ca = '';
const children: ChildProcess[] = [];

before(async () => {
  // ulimit: 4,000 client sockets in this process, up to 1,000 (+ listener, files) in the webhook's.
  server = spawn('bash', ['-c', `ulimit -n 16384 && exec "${process.execPath}" --import tsx src/cli/main.ts webhook --port 0 --host 127.0.0.1 --cert-dir ${certDir}`],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MESHGATE_LOG_LEVEL: 'info' } });
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`webhook did not start: ${out}`)), 20_000);
    server.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  server.kill('SIGKILL');
});

let agent: Agent;
const body = JSON.stringify(review(samplePod()));
function get(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, servername: 'localhost' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}

function reviewMs(): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/inject', method: 'POST', agent, servername: 'localhost',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('review timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

test(`${HOSTILE} idle TCP + ${HOSTILE} slowloris TLS connections: pooled reviews keep being answered, hostile ones cut within the timeouts`, async () => {
  // The API server's pooled connection, opened before the flood.
  assert.equal((await reviewMs()).status, 200);
  const flood = spawn('bash', ['-c', `ulimit -n 16384 && exec "${process.execPath}" test/helpers/hostile-clients.mjs`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PORT: String(port), IDLE: String(HOSTILE), SLOW: String(HOSTILE), CA: ca, LIFETIME_MS: '20000' },
  });
  children.push(flood);
  let floodOut = '';
  flood.stdout?.on('data', (d: Buffer) => { floodOut += d.toString(); });
  await new Promise<void>((resolve) => { const t = setInterval(() => { if (floodOut.includes('open')) { clearInterval(t); resolve(); } }, 50); });
  try {
    // The first 2 s are the accept burst: ~1,000 RSA-2048 TLS handshakes (~1 ms of CPU each) share the event loop
    // with the reviews; after it the held connections cost the reviews nothing.
    const burst: number[] = [];
    const held: number[] = [];
    const started = Date.now();
    while (Date.now() - started < 8_000) { // bounded: 8 s, past both timeouts
      const { ms, status } = await reviewMs();
      assert.equal(status, 200);
      (Date.now() - started < 2_000 ? burst : held).push(ms);
      await new Promise((r) => setTimeout(r, 50));
    }
    held.sort((a, b) => a - b);
    const p99 = held[Math.floor(held.length * 0.99)] ?? Infinity;
    const burstMax = Math.max(...burst);
    console.log(`pooled reviews: accept burst max ${burstMax.toFixed(1)} ms (${burst.length}); held p99 ${p99.toFixed(1)} ms (${held.length})`);
    // Latency is a measurement (npm run bench:webhook publishes it, ≤ 100 ms on a quiet machine); here, with other
    // suites sharing two cores, only a stall is a failure. The defect check is the count below.
    assert.ok(p99 <= 1_000, `pooled review p99 ${p99.toFixed(1)} ms while the connections are held`);
    assert.ok(burstMax <= 2_000, `pooled review max ${burstMax.toFixed(1)} ms during the accept burst`);
    // Past the 5 s limits (plus the 1 s checking interval) every hostile connection is gone.
    // The server's own count (a client cannot tell: connections the kernel never handed to the webhook because its
    // accept queue overflowed stay "open" on the client side without the webhook holding anything).
    const heldByServer = async (): Promise<number> => Number(/^meshgate_webhook_open_connections (\d+)/m.exec(await get('/metrics'))?.[1] ?? NaN);
    let holding = await heldByServer();
    for (let i = 0; i < 20 && holding > 1; i += 1) { await new Promise((r) => setTimeout(r, 500)); holding = await heldByServer(); }
    const dropped = /^meshgate_webhook_connections_dropped_total (\d+)/m.exec(await get('/metrics'))?.[1];
    console.log(`after the timeouts the webhook holds ${holding} connection(s); ${dropped} dropped at the limit; client saw ${floodOut.match(/closed \d+/g)?.at(-1)}`);
    assert.equal(holding, 1, 'only the pooled connection is left');
    // And a new client gets in again.
    const fresh = new Agent({ keepAlive: false, ca });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: fresh, servername: 'localhost' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  } finally {
    flood.kill('SIGKILL');
  }
});
