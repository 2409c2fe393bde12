// bench:control — 1) the compile: every namespace's snapshot of 1,000 ServiceEntries and 1,000 VirtualServices
// across 100 namespaces (plus 200 Services), cold; 2) the delivery: 5,000 simulated sidecars (two client
// processes, one keep-alive HTTPS connection each, 50 per namespace) long-polling one control plane process on
// loopback; a change every namespace sees, five times: how long until each sidecar has it, control-plane CPU per
// change and RSS. Targets (issue 12): compile ≤ 1 s, p99 ≤ 2 s, RSS ≤ 250 MB.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates } from '../src/admission/tls.ts';
import { ClusterState } from '../src/control/cluster-state.ts';
import { defaultCompiler } from '../src/control/compile.ts';
import { SnapshotCache } from '../src/control/snapshots.ts';
import { benchObjects, namespaceName, NAMESPACES } from './control-fixtures.ts';

const SIDECARS = Number(process.env.BENCH_SIDECARS ?? 5000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 5);
const compilerName = 'compileSnapshot (src/snapshot)';

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);

function compileAll(): { ms: number; bytes: number } {
  const state = new ClusterState('cluster.local');
  for (const { kind, object } of benchObjects()) state.upsert(kind, object);
  const cache = new SnapshotCache(state, defaultCompiler);
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < NAMESPACES; i += 1) bytes += cache.get(namespaceName(i)).body.length;
  return { ms: performance.now() - started, bytes };
}

function once<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }): void => { if (message.type === type) { child.off('message', onMessage); resolve(message as T); } };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`${type}: child exited ${code}`)));
  });
}

// 1. Compile.
const compiles = [compileAll(), compileAll(), compileAll()];
const compileMs = median(compiles.map((c) => c.ms));
console.log(`compiler: ${compilerName}`);
console.log(`compile, 100 namespaces (1,000 SE + 1,000 VS + 200 Services): median ${compileMs.toFixed(0)} ms of 3 cold runs (${compiles.map((c) => c.ms.toFixed(0)).join(', ')}), ${(compiles[0]!.bytes / NAMESPACES / 1024).toFixed(0)} KiB JSON per namespace; target ≤ 1000 ms → ${(compileMs / 1000).toFixed(2)}× the budget`);

// 2. Delivery.
const certDir = join(mkdtempSync(join(tmpdir(), 'meshgate-bench-control-')), 'certs');
await ensureCertificates(certDir, ['localhost']);
const server = fork('bench/control-server.ts', [certDir], { execArgv: ['--import', 'tsx'] });
const { port } = await once<{ port: number }>(server, 'ready');
const halves = [Math.ceil(SIDECARS / 2), Math.floor(SIDECARS / 2)];
const clients = halves.map((count, i) => fork('bench/control-clients.ts', [String(port), join(certDir, 'ca.crt'), String(i * halves[0]!), String(count)], { execArgv: ['--import', 'tsx'] }));
await Promise.all(clients.map((c) => once(c, 'started')));
const stats = async (): Promise<{ rssMb: number; cpuMs: number; waiters: number }> => { server.send({ type: 'stats' }); return once(server, 'stats'); };
for (let i = 0; i < 600; i += 1) {
  const synced = await Promise.all(clients.map(async (c) => { c.send({ type: 'synced' }); return once<{ synced: number }>(c, 'synced'); }));
  const waiting = (await stats()).waiters;
  if (synced.reduce((n, s) => n + s.synced, 0) === SIDECARS && waiting >= SIDECARS * 0.99) break;
  await new Promise((r) => setTimeout(r, 500));
}
const idle = await stats();
console.log(`${SIDECARS} sidecars connected and waiting: control RSS ${idle.rssMb.toFixed(0)} MB, ${idle.waiters} waiters`);

const rows: string[] = [];
let maxRss = idle.rssMb;
const allP99: number[] = [];
const cpuPerChange: number[] = [];
for (let n = 1; n <= CHANGES; n += 1) {
  await new Promise((r) => setTimeout(r, 1000));
  server.send({ type: 'change', n });
  const changed = await once<{ at: string; cpuBefore: number }>(server, 'changed');
  const collected = await Promise.all(clients.map(async (c) => { c.send({ type: 'collect', since: changed.at, timeoutMs: 15_000 }); return once<{ latenciesMs: number[]; missing: number }>(c, 'collected'); }));
  const after = await stats();
  maxRss = Math.max(maxRss, after.rssMb);
  const latencies = collected.flatMap((c) => c.latenciesMs).sort((a, b) => a - b);
  const missing = collected.reduce((m, c) => m + c.missing, 0);
  const cpu = after.cpuMs - changed.cpuBefore;
  allP99.push(percentile(latencies, 99));
  cpuPerChange.push(cpu);
  rows.push(`| ${n} | ${latencies.length} | ${missing} | ${percentile(latencies, 50).toFixed(0)} | ${percentile(latencies, 99).toFixed(0)} | ${(latencies.at(-1) ?? NaN).toFixed(0)} | ${cpu.toFixed(0)} | ${after.rssMb.toFixed(0)} |`);
}
console.log('\n| change | sidecars updated | missing | p50 ms | p99 ms | max ms | control CPU ms | control RSS MB |\n|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
const p99 = Math.max(...allP99);
console.log(`\nworst p99 ${p99.toFixed(0)} ms vs target 2000 ms → ${(p99 / 2000).toFixed(2)}× the budget; max RSS ${maxRss.toFixed(0)} MB vs 250 MB → ${(maxRss / 250).toFixed(2)}×; control CPU per change median ${median(cpuPerChange).toFixed(0)} ms (${(median(cpuPerChange) / SIDECARS * 1000).toFixed(0)} µs per sidecar)`);
for (const child of [...clients, server]) child.kill('SIGKILL');
process.exit(0);
