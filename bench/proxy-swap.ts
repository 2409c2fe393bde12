// bench:proxy:swap: a snapshot swap with 1,000 VirtualServices (and 1,000 ServiceEntries) under load, in one run
// side by side with the same load and no swap. meshgate-proxy runs as the sidecar (UID 1337, the pod's iptables
// REDIRECT, REGISTRY_ONLY) in the netns harness; wrk drives HTTP/1.1 keep-alive through it while the snapshot file is
// replaced (temporary file + rename, as the control plane writes it) every SWAP_EVERY_MS, a bounded number of times.
// The proxy itself logs each reload's duration (read + parse + compile + swap, `snapshot applied: ... in X ms`);
// failures are counted at the client (wrk's non-2xx responses and socket errors). Root only; run it under
// `flock /tmp/meshgate-suite.lock` (the harness's namespaces have fixed names). Nothing leaves the machine.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace } from '../test/netns/harness/processes.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from '../test/netns/harness/topology.ts';
import { ready, startIn, stop, stopAll } from './netns-processes.ts';
import { meshgateConfig, upstreamNginx } from './proxy-configs.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const SWAP_EVERY_MS = 300;
const VIRTUAL_SERVICES = 1000;
const TARGET_MS = 10;
const APP_UID = 1000;
const PROXY_UID = 1337;
const RUST_PROXY = 'dataplane/target/release/meshgate-proxy';

interface WrkResult { rps: number; failed: number; text: string }

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { rps, failed: non2xx + socketErrors, text: out };
}

/** wrk as the app (UID 1000, so iptables sends it to the sidecar), in the background; resolves with its report. */
function wrk(ns: string, url: string, seconds: number): Promise<WrkResult> {
  const child = spawn('ip', ['netns', 'exec', ns, 'setpriv', `--reuid=${APP_UID}`, `--regid=${APP_UID}`, '--clear-groups',
    'wrk', '-t1', '-c32', `-d${seconds}s`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
  return new Promise((resolve) => child.once('exit', () => { clearTimeout(killer); resolve(parseWrk(out)); }));
}


/** Reload durations the proxy logged, in order (the first is the initial load). */
function reloads(log: string): number[] {
  return [...readFileSync(log, 'utf8').matchAll(/snapshot applied: .* in ([\d.]+) ms/g)].map((m) => Number(m[1]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const skip = unavailableReason();
  const missing = ['wrk', 'nginx'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (!existsSync(RUST_PROXY)) missing.push(`${RUST_PROXY} (cargo build --release in dataplane/)`);
  if (skip || missing.length > 0) {
    console.error(`bench:proxy:swap skipped: ${skip ?? `missing ${missing.join(', ')} (scripts/install-system-deps.sh)`}`);
    process.exit(1);
  }
  const t: Topology = createTopology();
  const dir = mkdtempSync(join(tmpdir(), 'mg-bench-swap-'));
  chmodSync(dir, 0o755);
  try {
    startIn(t.servers.httpbin.ns, ['nginx', '-c', upstreamNginx(join(dir, 'up-http'))]);
    await ready(t.pod, 'http://httpbin.org/');
    const init = inNamespace(t.pod, [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'init', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
    if (init.status !== 0) throw new Error(init.stderr);

    // Two snapshots of the same 1,000-VirtualService config that differ in their version, so each swap is a full
    // load of a different document.
    const config = join(dir, 'config');
    meshgateConfig(config, 'test/netns/fixtures/egress', VIRTUAL_SERVICES);
    const compiled = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'compile', '--config-dir', config], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (compiled.status !== 0) throw new Error(`meshgate compile: ${compiled.stderr}`);
    const doc = JSON.parse(compiled.stdout) as { version: string; virtualServices: unknown[] };
    const documents = [compiled.stdout, JSON.stringify({ ...doc, version: `${doc.version}-b` })];
    const snapshotFile = join(dir, 'snapshot.json');
    const install = (text: string, i: number): void => {
      const tmp = `${snapshotFile}.${i}.tmp`;
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, snapshotFile);
    };
    install(documents[0] as string, 0);

    const log = join(dir, 'meshgate-proxy.log');
    const proxy = startIn(t.pod, [RUST_PROXY, '--snapshot', snapshotFile], PROXY_UID, log);
    chmodSync(log, 0o644);
    await ready(t.pod, 'http://127.0.0.1:15021/healthz/ready');
    await ready(t.pod, 'http://httpbin.org/');

    const steady = await wrk(t.pod, 'http://httpbin.org/', SECONDS);
    const loadedBefore = reloads(log).length;
    const underSwaps = wrk(t.pod, 'http://httpbin.org/', SECONDS);
    // Bounded: one swap per SWAP_EVERY_MS for the run's length, less a second so the last one lands under load.
    const swaps = Math.floor(((SECONDS - 1) * 1000) / SWAP_EVERY_MS);
    await sleep(500);
    for (let i = 1; i <= swaps; i++) {
      install(documents[i % 2] as string, i);
      await sleep(SWAP_EVERY_MS);
    }
    const swapped = await underSwaps;
    await sleep(500);
    await stop(proxy);
    const times = reloads(log).slice(loadedBefore);
    const sorted = [...times].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)] ?? NaN;
    const max = sorted[sorted.length - 1] ?? NaN;

    console.log(`bench:proxy:swap, ${SECONDS} s per run, wrk -t1 -c32 HTTP/1.1 keep-alive through meshgate-proxy (default threads), netns`);
    console.log(`snapshot: ${doc.virtualServices.length} VirtualServices, ${(compiled.stdout.length / 1024 / 1024).toFixed(1)} MB of JSON`);
    console.log(`no swap      ${steady.rps.toFixed(0).padStart(8)} rps  failed ${steady.failed}`);
    console.log(`under swaps  ${swapped.rps.toFixed(0).padStart(8)} rps  failed ${swapped.failed}  x${(swapped.rps / steady.rps).toFixed(2)} of no swap`);
    console.log(`swaps: ${swaps} written, ${times.length} applied; read+compile+swap p50 ${p50.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
    const targets = [
      [`swap <= ${TARGET_MS} ms`, max <= TARGET_MS, `max ${max.toFixed(2)} ms, p50 ${p50.toFixed(2)} ms`],
      ['zero failed requests during the swaps', swapped.failed === 0 && swapped.rps > 0, `${swapped.failed} failed`],
      ['every swap applied', times.length === swaps, `${times.length} of ${swaps}`],
    ] as const;
    for (const [name, met, figure] of targets) console.log(`target ${name}: ${met ? 'met' : 'NOT met'} (${figure})`);
    if (!(swapped.rps > 0)) console.log(swapped.text);
  } finally {
    await stopAll();
    destroyTopology(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
