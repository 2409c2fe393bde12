// bench:control's simulated sidecars: each its own keep-alive HTTPS connection, long-polling its namespace's
// snapshot with If-None-Match and wait=30s, as a sidecar does. Bodies are read and dropped (only the version
// matters here). Reports, on request, when each sidecar received its first version newer than a given moment.
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { namespaceName, NAMESPACES } from './control-fixtures.ts';

const [port, caFile, first, count] = [Number(process.argv[2]), process.argv[3] as string, Number(process.argv[4]), Number(process.argv[5])];
const ca = readFileSync(caFile, 'utf8');

interface Sidecar { namespace: string; agent: Agent; version: string; received: bigint; errors: number }
const sidecars: Sidecar[] = [];

function poll(s: Sidecar): void {
  const req = request({
    host: '127.0.0.1', port, ca, servername: 'localhost', agent: s.agent, path: `/v1/snapshots/${s.namespace}?wait=30s`,
    headers: { Authorization: `Bearer bench:${s.namespace}`, 'Accept-Encoding': 'gzip', ...(s.version ? { 'If-None-Match': `"${s.version}"` } : {}) },
  }, (res) => {
    res.resume();
    res.on('end', () => {
      if (res.statusCode === 200) {
        s.version = String(res.headers.etag).replace(/"/g, '');
        s.received = process.hrtime.bigint();
      } else if (res.statusCode !== 304) s.errors += 1;
      setImmediate(() => poll(s));
    });
  });
  req.on('error', () => { s.errors += 1; setTimeout(() => poll(s), 500); });
  req.end();
}

// Connect in batches: 5,000 TLS handshakes at once would only measure the accept queue.
for (let i = 0; i < count; i += 1) {
  const s: Sidecar = { namespace: namespaceName((first + i) % NAMESPACES), agent: new Agent({ keepAlive: true, maxSockets: 1 }), version: '', received: 0n, errors: 0 };
  sidecars.push(s);
  poll(s);
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
}

process.on('message', async (message: { type: string; since?: string; timeoutMs?: number; namespace?: string }) => {
  if (message.type === 'synced') {
    process.send?.({ type: 'synced', synced: sidecars.filter((s) => s.version !== '').length, errors: sidecars.reduce((n, s) => n + s.errors, 0) });
  } else if (message.type === 'collect') {
    const since = BigInt(message.since ?? '0');
    const deadline = Date.now() + (message.timeoutMs ?? 10_000);
    // A namespace-local change: only that namespace's sidecars are expected to move.
    const expected = message.namespace ? sidecars.filter((s) => s.namespace === message.namespace) : sidecars;
    while (Date.now() < deadline && expected.some((s) => s.received < since)) await new Promise((r) => setTimeout(r, 20));
    const latenciesMs = expected.filter((s) => s.received >= since).map((s) => Number(s.received - since) / 1e6);
    // Sidecars of other namespaces that received something: they should not have (a change they cannot see).
    const spurious = message.namespace ? sidecars.filter((s) => s.namespace !== message.namespace && s.received >= since).length : 0;
    process.send?.({ type: 'collected', latenciesMs, missing: expected.length - latenciesMs.length, spurious });
  }
});
process.send?.({ type: 'started' });
