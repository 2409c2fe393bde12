// bench:proxy:h2c: HTTP/2 with prior knowledge (h2c, how gRPC clients talk in clear) through meshgate-proxy, side
// by side in one run with the upstream directly and with nginx's grpc_pass (one worker), in the netns harness.
// The upstream is nginx speaking h2c on httpbin.org:8080; h2load is the client (-c32 -m10, one thread). meshgate-proxy
// runs as the sidecar (UID 1337 behind the pod's iptables REDIRECT, REGISTRY_ONLY, a GRPC ServiceEntry for the port,
// 100 ServiceEntries + 100 VirtualServices of ballast), one worker thread, then the default thread count.
// Root only; run it under `flock /tmp/meshgate-suite.lock`. Nothing leaves the machine.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace } from '../test/netns/harness/processes.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from '../test/netns/harness/topology.ts';
import { ready, startIn, stop, stopAll } from './netns-processes.ts';
import { meshgateConfig } from './proxy-configs.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const APP_UID = 1000;
const PROXY_UID = 1337;
const PORT = 8080;
const RUST_PROXY = 'dataplane/target/release/meshgate-proxy';

interface H2Load { rps: number; succeeded: number; failed: number; text: string }

function h2load(ns: string, uid: number, url: string): H2Load {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups',
    'h2load', '-t1', '-c32', '-m10', '-D', String(SECONDS), url], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(text)?.[1] ?? NaN);
  const req = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(text);
  return { rps, succeeded: Number(req?.[1] ?? 0), failed: Number(req?.[2] ?? 0) + Number(req?.[3] ?? 0), text };
}

function nginxConf(dir: string, server: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; http2_max_concurrent_streams 128; keepalive_requests 10000000; ${server} }
`);
  return join(dir, 'nginx.conf');
}


async function main(): Promise<void> {
  const skip = unavailableReason();
  const missing = ['h2load', 'nginx'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (!existsSync(RUST_PROXY)) missing.push(`${RUST_PROXY} (cargo build --release in dataplane/)`);
  if (skip || missing.length > 0) {
    console.error(`bench:proxy:h2c skipped: ${skip ?? `missing ${missing.join(', ')} (scripts/install-system-deps.sh)`}`);
    process.exit(1);
  }
  const t: Topology = createTopology();
  const dir = mkdtempSync(join(tmpdir(), 'mg-bench-h2c-'));
  chmodSync(dir, 0o755);
  const url = `http://httpbin.org:${PORT}/`;
  const h2 = ['--http2-prior-knowledge'];
  try {
    startIn(t.servers.httpbin.ns, ['nginx', '-c', nginxConf(join(dir, 'up'), `server { listen ${PORT} http2; listen [::]:${PORT} http2; location / { return 200 "hello from upstream\\n"; } }`)]);
    await ready(t.pod, url, h2);
    const results: Record<string, H2Load> = {};
    results.direct = h2load(t.pod, PROXY_UID, url);
    // nginx's grpc_pass before the pod's iptables exist (its workers are not UID 1337 and would be redirected).
    const nginx = startIn(t.pod, ['nginx', '-c', nginxConf(join(dir, 'nginx'), `upstream up { server ${t.servers.httpbin.ipv4}:${PORT}; keepalive 64; }
server { listen 127.0.0.1:18082 http2; location / { grpc_pass grpc://up; } }`)]);
    await ready(t.pod, 'http://127.0.0.1:18082/', h2);
    results['nginx grpc_pass'] = h2load(t.pod, APP_UID, 'http://127.0.0.1:18082/');
    await stop(nginx);

    const init = inNamespace(t.pod, [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'init', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
    if (init.status !== 0) throw new Error(init.stderr);
    const config = join(dir, 'config');
    meshgateConfig(config, 'test/netns/fixtures/egress', 100);
    writeFileSync(join(config, 'httpbin-grpc-serviceentry.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin-grpc, namespace: default}
spec:
  hosts: [httpbin.org]
  ports: [{number: ${PORT}, name: grpc, protocol: GRPC}]
  resolution: DNS
  location: MESH_EXTERNAL
`, { mode: 0o644 });
    const compiled = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'compile', '--config-dir', config], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (compiled.status !== 0) throw new Error(`meshgate compile: ${compiled.stderr}`);
    const snapshotFile = join(dir, 'snapshot.json');
    writeFileSync(snapshotFile, compiled.stdout, { mode: 0o644 });
    for (const [name, workers] of [['mg-proxy, 1 thread', ['--workers', '1']], ['mg-proxy, default', []]] as const) {
      const proxy = startIn(t.pod, [RUST_PROXY, '--snapshot', snapshotFile, '--port', '15001', ...workers], PROXY_UID);
      await ready(t.pod, 'http://127.0.0.1:15021/healthz/ready');
      await ready(t.pod, url, h2);
      results[name] = h2load(t.pod, APP_UID, url);
      await stop(proxy);
    }

    console.log(`bench:proxy:h2c, ${SECONDS} s per run, h2load -t1 -c32 -m10, h2c prior knowledge, netns`);
    const nginxRps = results['nginx grpc_pass']?.rps ?? NaN;
    const directRps = results.direct?.rps ?? NaN;
    for (const [name, r] of Object.entries(results)) {
      console.log(`${name.padEnd(18)} ${r.rps.toFixed(0).padStart(8)} req/s  x${(r.rps / nginxRps).toFixed(2)} nginx grpc_pass  x${(r.rps / directRps).toFixed(2)} direct  succeeded ${r.succeeded}, failed ${r.failed}`);
    }
    for (const [name, r] of Object.entries(results)) if (!(r.rps > 0) || r.failed > 0) console.log(`${name}: ${r.text}`);
  } finally {
    await stopAll();
    destroyTopology(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
