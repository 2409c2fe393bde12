import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../helpers/ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { review, samplePod } from '../helpers/pods.ts';

// Issue 15, defect 4: on SIGTERM the webhook stopped listening at once and cut keep-alive connections with reviews
// on them, so every rollout failed pod creations. There is no kubelet here yet, so the rollout is played with real
// parts: `meshgate webhook` processes behind haproxy in TCP mode (what kube-proxy does for the Service: L4, per
// connection, existing connections kept), haproxy health-checking /readyz every 500 ms as the endpoints controller
// follows readiness. A RollingUpdate (maxSurge 1, maxUnavailable 0) of 2 replicas: start a third, SIGTERM the first,
// start its replacement, SIGTERM the second, while a client sends 500 reviews/s over keep-alive connections.

const haveHaproxy = spawnSync('haproxy', ['-v']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'meshgate-rollout-'));
const certDir = join(work, 'certs');
const children = new Set<ChildProcess>();
after(() => { for (const c of children) c.kill('SIGKILL'); });

function startReplica(port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'webhook', '--port', String(port), '--host', '127.0.0.1', '--cert-dir', certDir],
    { stdio: 'ignore', env: { ...process.env, MESHGATE_LOG_LEVEL: 'warn' } });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function waitReady(port: number, ca: () => string): Promise<void> {
  for (let i = 0; i < 200; i += 1) { // bounded: 20 s
    const ok = await new Promise<boolean>((resolve) => {
      try {
        const req = request({ host: '127.0.0.1', port, path: '/readyz', ca: ca(), servername: 'localhost', agent: false }, (res) => { res.resume(); resolve(res.statusCode === 200); });
        req.on('error', () => resolve(false));
        req.end();
      } catch { resolve(false); }
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`replica on ${port} never became ready`);
}

test('a rolling restart of 2 replicas under 500 reviews/s fails no review', { skip: haveHaproxy ? false : 'haproxy is not installed (scripts/install-system-deps.sh installs it)' }, async () => {
  const [front, p1, p2, p3] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  let ca = '';
  const readCa = (): string => (ca ||= readFileSync(join(certDir, 'ca.crt'), 'utf8'));
  const r1 = startReplica(p1 as number);
  await waitReady(p1 as number, () => { try { return readCa(); } catch { return ''; } }); // the first start writes the certificates
  const r2 = startReplica(p2 as number);
  await waitReady(p2 as number, readCa);

  const cfg = join(work, 'haproxy.cfg');
  writeFileSync(cfg, `global
  maxconn 4096
defaults
  mode tcp
  timeout connect 1s
  timeout client 120s
  timeout server 120s
backend webhook
  balance roundrobin
  option httpchk GET /readyz
  default-server check check-ssl verify none inter 500 fall 1 rise 1
  server r1 127.0.0.1:${p1}
  server r2 127.0.0.1:${p2}
  server r3 127.0.0.1:${p3}
frontend svc
  bind 127.0.0.1:${front}
  default_backend webhook
`);
  const haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
  children.add(haproxy);
  await new Promise((r) => setTimeout(r, 1500)); // first health checks

  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: readCa() });
  const body = JSON.stringify(review(samplePod()));
  const failures: string[] = [];
  let sent = 0;
  let answered = 0;
  const one = (): Promise<void> => new Promise((resolve) => {
    sent += 1;
    const req = request({ host: '127.0.0.1', port: front, path: '/inject', method: 'POST', agent, servername: 'localhost',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode === 200) answered += 1; else failures.push(`HTTP ${res.statusCode}`); resolve(); });
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => { failures.push(e.code ?? e.message); resolve(); });
    req.end(body);
  });
  // 500 reviews/s, open loop (10 every 20 ms), until stopped.
  const inFlight = new Set<Promise<void>>();
  let loading = true;
  const load = (async () => {
    while (loading) {
      for (let i = 0; i < 10; i += 1) { const p = one(); inFlight.add(p); void p.then(() => inFlight.delete(p)); }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const exited = (c: ChildProcess): Promise<number | null> => new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
  await new Promise((r) => setTimeout(r, 1000));
  const r3 = startReplica(p3 as number); // surge
  await waitReady(p3 as number, readCa);
  await new Promise((r) => setTimeout(r, 1000));
  r1.kill('SIGTERM');
  assert.equal(await exited(r1), 0);
  startReplica(p1 as number); // r1's replacement
  await waitReady(p1 as number, readCa);
  await new Promise((r) => setTimeout(r, 1000));
  r2.kill('SIGTERM');
  assert.equal(await exited(r2), 0);
  await new Promise((r) => setTimeout(r, 1000));
  loading = false;
  await load;
  await Promise.all(inFlight);
  agent.destroy();
  console.log(`rollout: ${sent} reviews sent, ${answered} answered, ${failures.length} failed`);
  assert.ok(sent > 5_000, `${sent} reviews sent`);
  assert.deepEqual(failures, []);
  void r3;
});
