// bench:control — 1) the compile: every namespace's snapshot of 1,000 ServiceEntries and 1,000 VirtualServices
// across 100 namespaces (plus 200 Services), from scratch with compileSnapshot and with the control plane's
// incremental compiler, cold and after a change every namespace sees, side by side; 2) the delivery: 5,000 simulated sidecars (two client
// processes, one keep-alive HTTPS connection each, 50 per namespace) long-polling one control plane process on
// loopback; a change every namespace sees, five times: how long until each sidecar has it, control-plane CPU per
// change and RSS. Targets (issue 12): compile ≤ 1 s, p99 ≤ 2 s, RSS ≤ 250 MB.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates } from '../src/admission/tls.ts';
import { ClusterState } from '../src/control/cluster-state.ts';
import { createSnapshotCompiler, type SnapshotCompiler } from '../src/control/compile.ts';
import { compileSnapshotWithText } from '../src/snapshot/compile.ts';
import { SnapshotCache } from '../src/control/snapshots.ts';
import { benchObjects, changeObject, namespaceName, NAMESPACES } from './control-fixtures.ts';

const SIDECARS = Number(process.env.BENCH_SIDECARS ?? 5000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 5);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

/** compileSnapshot from scratch for every namespace: the compiler before src/snapshot/incremental.ts, for the ratio. */
const fromScratch = (): SnapshotCompiler => (input) => {
  const { snapshot, text } = compileSnapshotWithText(input);
  return { body: text, version: snapshot.version };
};

/**
 * Every namespace's snapshot, cold (a new compiler: nothing compiled yet); then, with `change`, one more
 * ServiceEntry exported to everyone and every namespace again (what a change every namespace sees costs). Wall and
 * CPU time, and the compiler's share of the CPU.
 */
function compileAll(makeCompiler: () => SnapshotCompiler, change = false): { ms: number; cpu: number; compilerCpu: number; bytes: number } {
  const state = new ClusterState('cluster.local');
  for (const { kind, object } of benchObjects()) state.upsert(kind, object);
  let compilerCpu = 0;
  const compile = makeCompiler();
  const cache = new SnapshotCache(state, (input) => { const t = cpuMs(); const out = compile(input); compilerCpu += cpuMs() - t; return out; });
  if (change) {
    for (let i = 0; i < NAMESPACES; i += 1) cache.get(namespaceName(i));
    state.upsert('ServiceEntry', changeObject(1));
    compilerCpu = 0;
  }
  const started = performance.now();
  const cpuStart = cpuMs();
  let bytes = 0;
  for (let i = 0; i < NAMESPACES; i += 1) bytes += cache.get(namespaceName(i)).size;
  return { ms: performance.now() - started, cpu: cpuMs() - cpuStart, compilerCpu, bytes };
}

function once<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${type}: child exited ${code}`));
    const onMessage = (message: { type: string }): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

// 1. Compile: median of 3 runs each, side by side.
const runs = (f: () => ReturnType<typeof compileAll>): Array<ReturnType<typeof compileAll>> => [f(), f(), f()];
const summary = (label: string, list: Array<ReturnType<typeof compileAll>>): { cpu: number; line: string } => {
  const cpu = median(list.map((c) => c.cpu));
  const share = median(list.map((c) => c.compilerCpu / c.cpu));
  return { cpu, line: `| ${label} | ${median(list.map((c) => c.ms)).toFixed(0)} (${list.map((c) => c.ms.toFixed(0)).join(', ')}) | ${cpu.toFixed(0)} | ${(share * 100).toFixed(0)} % | ${(cpu / 1000).toFixed(2)}× |` };
};
const scratch = summary('compileSnapshot from scratch, cold', runs(() => compileAll(fromScratch)));
const cold = summary('incremental, cold', runs(() => compileAll(createSnapshotCompiler)));
const warm = summary('incremental, after a change every namespace sees', runs(() => compileAll(createSnapshotCompiler, true)));
console.log(`compile, 100 namespaces (1,000 SE + 1,000 VS + 200 Services; ~505 SE + ~505 VS + 200 Services visible per namespace; ${(compileAll(createSnapshotCompiler).bytes / NAMESPACES / 1024).toFixed(0)} KiB JSON per namespace), median of 3; the compiler's share is the rest but views and gzip:\n`);
console.log('| compiler | wall ms | CPU ms | compiler share of CPU | CPU vs the 1,000 ms target |\n|---|---|---|---|---|');
for (const row of [scratch, cold, warm]) console.log(row.line);
console.log(`\nincremental vs from scratch, CPU: cold ${(scratch.cpu / cold.cpu).toFixed(1)}× less, after a change ${(scratch.cpu / warm.cpu).toFixed(1)}× less\n`);

// 2. Delivery.
const certDir = join(mkdtempSync(join(tmpdir(), 'meshgate-bench-control-')), 'certs');
await ensureCertificates(certDir, ['localhost']);
// BENCH_CONTROL_NODE_ARGS adds Node flags to the control process (e.g. "--max-semi-space-size=2").
const server = fork('bench/control-server.ts', [certDir], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_CONTROL_NODE_ARGS ?? '').split(' ').filter(Boolean)] });
const { port } = await once<{ port: number }>(server, 'ready');
const halves = [Math.ceil(SIDECARS / 2), Math.floor(SIDECARS / 2)];
const clients = halves.map((count, i) => fork('bench/control-clients.ts', [String(port), join(certDir, 'ca.crt'), String(i * halves[0]!), String(count)], { execArgv: ['--import', 'tsx'] }));
await Promise.all(clients.map((c) => once(c, 'started')));
const stats = async (): Promise<{ rssMb: number; cpuMs: number; waiters: number; loopBlockMs: number; memory: string }> => { server.send({ type: 'stats' }); return once(server, 'stats'); };
for (let i = 0; i < 600; i += 1) {
  const synced = await Promise.all(clients.map(async (c) => { c.send({ type: 'synced' }); return once<{ synced: number }>(c, 'synced'); }));
  const waiting = (await stats()).waiters;
  if (synced.reduce((n, s) => n + s.synced, 0) === SIDECARS && waiting >= SIDECARS * 0.99) break;
  await new Promise((r) => setTimeout(r, 500));
}
const idle = await stats();
console.log(`${SIDECARS} sidecars connected and waiting: control RSS ${idle.rssMb.toFixed(0)} MB (${idle.memory}), ${idle.waiters} waiters`);

let maxRss = idle.rssMb;
interface Round { latencies: number[]; missing: number; spurious: number; cpu: number; rss: number; loopBlockMs: number }
const round = async (n: number, namespace?: string): Promise<Round> => {
  await new Promise((r) => setTimeout(r, 1000));
  server.send({ type: 'change', n, namespace });
  const changed = await once<{ at: string; cpuBefore: number }>(server, 'changed');
  const collected = await Promise.all(clients.map(async (c) => { c.send({ type: 'collect', since: changed.at, timeoutMs: 30_000, namespace }); return once<{ latenciesMs: number[]; missing: number; spurious: number }>(c, 'collected'); }));
  const after = await stats();
  maxRss = Math.max(maxRss, after.rssMb);
  return {
    latencies: collected.flatMap((c) => c.latenciesMs).sort((a, b) => a - b),
    missing: collected.reduce((m, c) => m + c.missing, 0), spurious: collected.reduce((m, c) => m + c.spurious, 0),
    cpu: after.cpuMs - changed.cpuBefore, rss: after.rssMb, loopBlockMs: after.loopBlockMs,
  };
};
const row = (label: string, r: Round): string => `| ${label} | ${r.latencies.length} | ${r.missing} | ${r.spurious} | ${percentile(r.latencies, 50).toFixed(0)} | ${percentile(r.latencies, 99).toFixed(0)} | ${(r.latencies.at(-1) ?? NaN).toFixed(0)} | ${r.cpu.toFixed(0)} | ${r.loopBlockMs.toFixed(0)} | ${r.rss.toFixed(0)} |`;
const global: Round[] = [];
const local: Round[] = [];
for (let n = 1; n <= CHANGES; n += 1) global.push(await round(n));
for (let n = 1; n <= CHANGES; n += 1) local.push(await round(n, namespaceName(n * 7 % NAMESPACES)));
console.log(`control memory after the changes: ${(await stats()).memory}`);
console.log('\n| change | sidecars updated | missing | woken needlessly | p50 ms | p99 ms | max ms | control CPU ms | longest event-loop block ms | control RSS MB |\n|---|---|---|---|---|---|---|---|---|---|');
global.forEach((r, i) => console.log(row(`${i + 1}: SE exported to * (all 100 namespaces recompiled)`, r)));
local.forEach((r, i) => console.log(row(`${i + 1}: SE exported to . (one namespace)`, r)));
const worst = (rs: Round[]): number => Math.max(...rs.map((r) => percentile(r.latencies, 99)));
console.log(`\nworst p99: change seen by all ${worst(global).toFixed(0)} ms (${(worst(global) / 2000).toFixed(2)}× the 2,000 ms target), namespace-local ${worst(local).toFixed(0)} ms (${(worst(local) / 2000).toFixed(2)}×)`);
console.log(`control RSS max ${maxRss.toFixed(0)} MB (${(maxRss / 250).toFixed(2)}× the 250 MB target); CPU per change median: all namespaces ${median(global.map((r) => r.cpu)).toFixed(0)} ms, one namespace ${median(local.map((r) => r.cpu)).toFixed(0)} ms`);
for (const child of [...clients, server]) child.kill('SIGKILL');
process.exit(0);
