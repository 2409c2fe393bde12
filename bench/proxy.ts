// bench:proxy: one run, side by side, in network namespaces (the netns harness): wrk against the upstream directly,
// through nginx and haproxy (one worker each, reverse proxies to the same upstream), and through the meshgate data
// plane meshgate-proxy (iptables REDIRECT, REGISTRY_ONLY, matching ServiceEntry, access log and metrics on, 100
// ServiceEntries and 100 VirtualServices loaded; one worker thread, then the default thread count). Short runs: the
// machine has two cores. Root only. BENCH_SECONDS sets the length of each run (default 5).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates, TLS_FILES } from '../src/admission/tls.ts';
import { curl, inNamespace } from '../test/netns/harness/processes.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from '../test/netns/harness/topology.ts';
import { ready, startIn, stop, stopAll } from './netns-processes.ts';
import { meshgateConfig, proxyHaproxy, proxyNginx, upstreamNginx } from './proxy-configs.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 32;
const APP_UID = 1000;
const PROXY_UID = 1337;
// While tuning: BENCH_ONLY=meshgate skips the reference runs (the ratios then print as n/a).
const ONLY_MESHGATE = process.env.BENCH_ONLY === 'meshgate';

interface Wrk { rps: number; p50us: number; p99us: number }

function micros(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1e6);
}

function wrk(ns: string, uid: number, url: string, connections: number, seconds: number): Wrk {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups',
    'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], { encoding: 'utf8', timeout: (seconds + 20) * 1000 });
  const out = r.stdout ?? '';
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: .*/.exec(out)?.[0];
  if (errors || !(rps > 0)) throw new Error(`wrk ${url} as ${uid}: ${errors ?? ''}\n${out}${r.stderr}`);
  return { rps, p50us: micros(/ 50%\s+(\S+)/.exec(out)?.[1] ?? ''), p99us: micros(/ 99%\s+(\S+)/.exec(out)?.[1] ?? '') };
}

function cpuTimes(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // utime, stime, in USER_HZ (100)
}
function rssMB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}



const RUST_PROXY = 'dataplane/target/release/meshgate-proxy';

interface SidecarRun {
  tput: Wrk; one: Wrk; tlsMesh: Wrk; cpuUser: number; cpuUsed: number;
  rssLoaded: number; rssAfter: number; rssPeak: number; logLines: number; metrics: string;
}

/** One sidecar as UID 1337 behind the pod's iptables: throughput (with its CPU), one-connection latency, TLS. */
async function sidecar(t: Topology, dir: string, name: string, argv: string[], throughputOnly = false): Promise<SidecarRun> {
  const log = join(dir, `${name}.log`);
  const proxy = startIn(t.pod, argv, PROXY_UID, log);
  chmodSync(log, 0o644);
  try {
    await ready(t.pod, 'http://127.0.0.1:15021/healthz/ready');
    await ready(t.pod, 'http://httpbin.org/');
    const pid = proxy.pid as number;
    const rssLoaded = rssMB(pid, 'VmRSS');
    const cpuBefore = cpuTimes(pid);
    const tput = wrk(t.pod, APP_UID, 'http://httpbin.org/', CONNECTIONS, SECONDS);
    const cpuAfter = cpuTimes(pid);
    const cpuUser = cpuAfter.user - cpuBefore.user;
    const cpuUsed = cpuUser + cpuAfter.system - cpuBefore.system;
    const skipped = { rps: NaN, p50us: NaN, p99us: NaN };
    const one = throughputOnly ? skipped : wrk(t.pod, APP_UID, 'http://httpbin.org/', 1, Math.max(3, SECONDS - 2));
    const tlsMesh = throughputOnly ? skipped : wrk(t.pod, APP_UID, 'https://www.google.com/', CONNECTIONS, SECONDS);
    const rssAfter = rssMB(pid, 'VmRSS');
    const rssPeak = rssMB(pid, 'VmHWM');
    const logLines = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('outbound|80||httpbin.org')).length;
    const metrics = curl(t.pod, 0, 'http://127.0.0.1:15090/stats/prometheus').body;
    return { tput, one, tlsMesh, cpuUser, cpuUsed, rssLoaded, rssAfter, rssPeak, logLines, metrics };
  } finally {
    await stop(proxy);
  }
}

/** The issue's targets for meshgate-proxy (one worker thread), as ratios of this run. */
function reportRust(r: SidecarRun, defaultThreads: Wrk, results: Record<string, { tput: Wrk; one: Wrk }>, tlsDirect: Wrk): void {
  const nginx = results.nginx;
  const direct = results.direct;
  const cores = r.cpuUsed / SECONDS;
  const perK = cores / (r.tput.rps / 1000);
  const added = r.one.p50us - (direct?.one.p50us ?? NaN);
  const nginxAdded = (nginx?.one.p50us ?? NaN) - (direct?.one.p50us ?? NaN);
  console.log(`meshgate-proxy (Rust, 1 worker thread): ${r.tput.rps.toFixed(0)} rps; default threads: ${defaultThreads.rps.toFixed(0)} rps`);
  console.log(`meshgate-proxy TLS passthrough: ${r.tlsMesh.rps.toFixed(0)} rps  x${(r.tlsMesh.rps / tlsDirect.rps).toFixed(2)} direct`);
  console.log(`meshgate-proxy CPU: ${cores.toFixed(2)} cores at ${r.tput.rps.toFixed(0)} rps = ${perK.toFixed(3)} vCPU per 1,000 rps (saturated, not paced)`);
  console.log(`meshgate-proxy RSS: ${r.rssLoaded.toFixed(1)} MB loaded, ${r.rssAfter.toFixed(1)} MB after the runs, peak ${r.rssPeak.toFixed(1)} MB`);
  console.log(`meshgate-proxy access log lines for httpbin.org: ${r.logLines}; istio_requests_total present: ${/istio_requests_total/.test(r.metrics)}`);
  const targets = [
    ['throughput >= 1.0x nginx (floor 0.8x)', r.tput.rps / (nginx?.tput.rps ?? Infinity) >= 1.0, `x${(r.tput.rps / (nginx?.tput.rps ?? NaN)).toFixed(2)}`],
    [`added p50 <= nginx's added p50 + 10 us`, added <= nginxAdded + 10, `${added.toFixed(0)} us vs nginx ${nginxAdded.toFixed(0)} us`],
    ['p99 <= direct p99 + 150 us', r.one.p99us - (direct?.one.p99us ?? NaN) <= 150, `+${(r.one.p99us - (direct?.one.p99us ?? NaN)).toFixed(0)} us`],
    ['TLS passthrough >= 0.8x direct', r.tlsMesh.rps / tlsDirect.rps >= 0.8, `x${(r.tlsMesh.rps / tlsDirect.rps).toFixed(2)}`],
    ['<= 0.03 vCPU per 1,000 rps', perK <= 0.03, `${perK.toFixed(3)} (saturated)`],
    ['RSS <= 15 MB loaded, <= 20 MB after', r.rssLoaded <= 15 && r.rssAfter <= 20, `${r.rssLoaded.toFixed(1)} / ${r.rssAfter.toFixed(1)} MB`],
  ] as const;
  for (const [name, met, figure] of targets) console.log(`meshgate-proxy target ${name}: ${met ? 'met' : 'NOT met'} (${figure})`);
}

async function main(): Promise<void> {
  const skip = unavailableReason();
  const missing = ['wrk', 'nginx', 'haproxy'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (skip || missing.length > 0) {
    console.error(`bench:proxy skipped: ${skip ?? `missing ${missing.join(', ')} (scripts/install-system-deps.sh)`}`);
    process.exit(1);
  }
  if (!existsSync(RUST_PROXY)) {
    console.error(`bench:proxy: ${RUST_PROXY} is not built; npm ci builds it where cargo exists`);
    process.exit(1);
  }
  const t: Topology = createTopology();
  const dir = mkdtempSync(join(tmpdir(), 'mg-bench-'));
  chmodSync(dir, 0o755);
  try {
    await ensureCertificates(join(dir, 'google'), ['www.google.com']);
    startIn(t.servers.httpbin.ns, ['nginx', '-c', upstreamNginx(join(dir, 'up-http'))]);
    startIn(t.servers.google.ns, ['nginx', '-c', upstreamNginx(join(dir, 'up-tls'), { cert: join(dir, 'google', TLS_FILES.cert), key: join(dir, 'google', TLS_FILES.key) })]);
    await ready(t.pod, 'http://httpbin.org/');
    await ready(t.pod, 'https://www.google.com/', ['-k']);

    const upstream = `${t.servers.httpbin.ipv4}:80`;
    const results: Record<string, { tput: Wrk; one: Wrk }> = {};
    const measure = (name: string, uid: number, url: string): void => {
      results[name] = { tput: wrk(t.pod, uid, url, CONNECTIONS, SECONDS), one: wrk(t.pod, uid, url, 1, Math.max(3, SECONDS - 2)) };
    };
    if (!ONLY_MESHGATE) measure('direct', PROXY_UID, 'http://httpbin.org/');
    if (!ONLY_MESHGATE) {
      const nginx = startIn(t.pod, ['nginx', '-c', proxyNginx(join(dir, 'nginx'), 18080, upstream)]);
      await ready(t.pod, 'http://127.0.0.1:18080/');
      measure('nginx', APP_UID, 'http://127.0.0.1:18080/');
      await stop(nginx);
      const haproxy = startIn(t.pod, ['haproxy', '-db', '-f', proxyHaproxy(join(dir, 'haproxy'), 18081, upstream)]);
      await ready(t.pod, 'http://127.0.0.1:18081/');
      measure('haproxy', APP_UID, 'http://127.0.0.1:18081/');
      await stop(haproxy);
    }
    const tlsDirect = ONLY_MESHGATE ? { rps: NaN, p50us: NaN, p99us: NaN } : wrk(t.pod, PROXY_UID, 'https://www.google.com/', CONNECTIONS, SECONDS);

    // The sidecar: the injector's init arguments, then meshgate-proxy as UID 1337 with its access log to a file, on
    // the snapshot `meshgate compile` makes of the config directory (what `meshgate proxy --config-dir` hands it).
    const init = inNamespace(t.pod, [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'init', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
    if (init.status !== 0) throw new Error(init.stderr);
    const config = join(dir, 'config');
    meshgateConfig(config, 'test/netns/fixtures/egress', 100);
    const snapshotFile = join(dir, 'snapshot.json');
    const compiled = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'compile', '--config-dir', config], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (compiled.status !== 0) throw new Error(`meshgate compile: ${compiled.stderr}`);
    writeFileSync(snapshotFile, compiled.stdout, { mode: 0o644 });
    // One worker thread (the issue's comparison), then the default thread count for throughput alone.
    const rust = await sidecar(t, dir, 'meshgate-proxy', [RUST_PROXY, '--snapshot', snapshotFile, '--workers', '1']);
    results['mg-proxy'] = { tput: rust.tput, one: rust.one };
    const rustDefault = (await sidecar(t, dir, 'meshgate-proxy-default', [RUST_PROXY, '--snapshot', snapshotFile], true)).tput;

    const row = (name: string): string => {
      const r = results[name];
      if (!r) return '';
      return `${name.padEnd(9)} ${r.tput.rps.toFixed(0).padStart(8)} rps  x${(r.tput.rps / (results.nginx?.tput.rps ?? NaN)).toFixed(2)} nginx  ` +
        `x${(r.tput.rps / (results.direct?.tput.rps ?? NaN)).toFixed(2)} direct   1-conn p50 ${r.one.p50us.toFixed(0)} us  p99 ${r.one.p99us.toFixed(0)} us  ` +
        `added p50 ${(r.one.p50us - (results.direct?.one.p50us ?? 0)).toFixed(0)} us`;
    };
    console.log(`bench:proxy, ${SECONDS} s per run, wrk -t1 -c${CONNECTIONS} (throughput) and -c1 (latency), HTTP/1.1 keep-alive, netns`);
    for (const name of ['direct', 'nginx', 'haproxy', 'mg-proxy']) console.log(row(name));
    reportRust(rust, rustDefault, results, tlsDirect);
  } finally {
    await stopAll();
    destroyTopology(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
