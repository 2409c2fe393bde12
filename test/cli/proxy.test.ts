import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../helpers/ports.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileDirectory } from '../../src/snapshot/from-directory.ts';

// `meshgate proxy`: compile the config (a directory here) to a snapshot file, run meshgate-proxy on it, rewrite the
// file (atomically) on every change, pass signals on and the exit code back. The first tests use a stand-in for the
// binary (what the supervisor does); the rest run the real meshgate-proxy and watch the config take effect through
// its admin, status and metrics ports (traffic through it is the netns suite's and dataplane/tests').

const STAND_IN = resolve('test/unit/snapshot/stand-in-dataplane.mjs');
const dir = mkdtempSync(join(tmpdir(), 'meshgate-dataplane-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const serviceEntry = (host: string): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [${host}]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
`;
const meshConfig = (mode: string, namespace = 'istio-system', extra = ''): string => `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: ${namespace}}
data:
  mesh: "{outboundTrafficPolicy: {mode: ${mode}}${extra}}"
`;

/** Replaced by rename, as a mounted ConfigMap is: the proxy never reads half a file. */
function put(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startProxy(args: string[], binary: string, env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', ...args], {
    env: { ...process.env, MESHGATE_PROXY_BIN: binary, MESHGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => { text += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { text += b.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => text, exited };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the snapshot is compiled, handed to the data plane, rewritten on change, SIGTERM is passed on and the exit code passed back', async () => {
  const config = join(dir, 'config');
  const file = join(dir, 'snapshot.json');
  mkdirSync(config);
  writeFileSync(join(config, 'mesh.yaml'), serviceEntry('one.example') + '---' + meshConfig('REGISTRY_ONLY'));
  const first = compileDirectory(config, undefined).snapshot.version;
  const proxy = startProxy(['--config-dir', config, '--snapshot-file', file, '--port', '15101', '--inbound-port', '0', '--bind', '127.0.0.1'], STAND_IN, { STAND_IN_EXIT: '7' });
  try {
    await waitFor('the first snapshot', () => proxy.output().includes(`version ${first}`));
    assert.match(proxy.output(), new RegExp(`args \\["--snapshot","${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}","--port","15101","--inbound-port","0",.*"--bind","127.0.0.1"\\]`));
    put(join(config, 'mesh.yaml'), serviceEntry('two.example') + '---' + meshConfig('REGISTRY_ONLY'));
    const second = compileDirectory(config, undefined).snapshot.version;
    assert.notEqual(second, first);
    await waitFor('the changed snapshot', () => proxy.output().includes(`version ${second}`));
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')).clusters), ['outbound|80||two.example']);
    assert.doesNotMatch(proxy.output(), /unreadable/, 'the data plane saw a half-written snapshot');
    proxy.child.kill('SIGTERM');
    assert.equal(await proxy.exited, 7, "meshgate-proxy's exit code is the command's");
    assert.match(proxy.output(), /term\n/);
  } finally {
    proxy.child.kill('SIGKILL');
  }
});

test('a missing data-plane binary is a clear error and exit 1', async () => {
  const config = join(dir, 'empty');
  mkdirSync(config);
  const proxy = startProxy(['--config-dir', config], join(dir, 'no-such-binary'));
  assert.equal(await proxy.exited, 1);
  assert.match(proxy.output(), /cannot start meshgate-proxy: build it with `cargo build --release`/);
});

test('the Node data path\'s flags are gone: --dataplane and --telemetry-file are unknown options (exit 2)', () => {
  for (const flag of [['--dataplane', 'rust'], ['--telemetry-file', join(dir, 'events.json')]]) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', '--config-dir', dir, ...flag], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2, `${flag[0]}: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`unknown option '${flag[0]}'`));
  }
});

const realBinary = process.env['MESHGATE_PROXY_BIN'] ?? resolve('dataplane/target/release/meshgate-proxy');
const notBuilt = existsSync(realBinary) ? false : `meshgate-proxy is not built (${realBinary}); cargo build --release in dataplane/ builds it`;

interface Real extends Running {
  admin: (path: string) => Promise<{ status: number; body: string }>;
  ready: () => Promise<number>;
  metrics: () => Promise<string>;
  /** SIGTERM, then wait (bounded) for the exit code. */
  stop: () => Promise<number | null>;
}

async function startReal(config: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Real> {
  const [port, admin, status, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const proxy = startProxy(['--config-dir', config, '--port', String(port), '--inbound-port', '0', '--admin-port', String(admin), '--status-port', String(status), '--metrics-port', String(metrics), '--bind', '127.0.0.1', ...extra], realBinary, env);
  const get = async (p: number, path: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`http://127.0.0.1:${p}${path}`);
    return { status: r.status, body: await r.text() };
  };
  const real: Real = {
    ...proxy,
    admin: (path) => get(admin, path),
    ready: () => get(status, '/healthz/ready').then((r) => r.status, () => 0),
    metrics: async () => (await get(metrics, '/stats/prometheus')).body,
    stop: async () => {
      proxy.child.kill('SIGTERM');
      const code = await Promise.race([proxy.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
      proxy.child.kill('SIGKILL');
      return code === 'timeout' ? null : code;
    },
  };
  try {
    await waitFor('readiness', async () => (await real.ready()) === 200, 15_000);
  } catch (error) {
    proxy.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}: ${proxy.output()}`);
  }
  return real;
}

const verdict = async (proxy: Real, host: string): Promise<string> => JSON.parse((await proxy.admin(`/explain?host=${host}&port=80`)).body).http.verdict;

test('with meshgate-proxy: the config dir is read at start, a ServiceEntry file added or removed and a mesh config edit apply within 2 s', { skip: notBuilt }, async () => {
  const config = join(dir, 'real');
  mkdirSync(config);
  put(join(config, 'mesh.yaml'), meshConfig('REGISTRY_ONLY'));
  const proxy = await startReal(config);
  try {
    assert.equal(await verdict(proxy, 'one.example'), 'deny');
    const explained = JSON.parse((await proxy.admin('/explain?host=one.example&port=80')).body);
    assert.equal(explained.mode, 'REGISTRY_ONLY');
    put(join(config, 'one.yaml'), serviceEntry('one.example'));
    await waitFor('the new ServiceEntry', async () => (await verdict(proxy, 'one.example')) === 'allow', 2_000);
    assert.match((await proxy.admin('/explain?host=one.example&port=80')).body, /outbound\|80\|\|one\.example/);
    rmSync(join(config, 'one.yaml'));
    await waitFor('the removal', async () => (await verdict(proxy, 'one.example')) === 'deny', 2_000);
    put(join(config, 'mesh.yaml'), meshConfig('ALLOW_ANY'));
    await waitFor('the mode switch', async () => (await verdict(proxy, 'unknown.example')) === 'allow', 2_000);
    const metrics = await proxy.metrics();
    const applied = Number(/^meshgate_proxy_config_reloads_total\{result="applied"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert.ok(applied >= 4, `every change reached the data plane as a snapshot: ${applied} applied`);
    assert.equal(await proxy.stop(), 0);
  } finally {
    proxy.child.kill('SIGKILL');
  }
});

test('with meshgate-proxy: an invalid object is reported and skipped, its last good version stays; a file that does not parse keeps what it held', { skip: notBuilt }, async () => {
  const config = join(dir, 'invalid');
  mkdirSync(config);
  put(join(config, 'mesh.yaml'), meshConfig('REGISTRY_ONLY'));
  put(join(config, 'one.yaml'), serviceEntry('one.example'));
  const proxy = await startReal(config);
  try {
    assert.equal(await verdict(proxy, 'one.example'), 'allow');
    put(join(config, 'one.yaml'), serviceEntry('a.*.example'));
    await waitFor('the problem logged', () => /invalid config object.*keeping the last good version/.test(proxy.output()), 3_000);
    assert.equal(await verdict(proxy, 'one.example'), 'allow');
    put(join(config, 'one.yaml'), 'spec: [unclosed');
    await waitFor('the parse error logged', () => /one\.yaml.*keeping what this file held before/.test(proxy.output()), 3_000);
    assert.equal(await verdict(proxy, 'one.example'), 'allow', 'a file that does not parse keeps what it held');
  } finally {
    await proxy.stop();
  }
});

test('with meshgate-proxy: the mesh ConfigMap is read from --istio-namespace (else $ISTIO_NAMESPACE, else istio-system)', { skip: notBuilt }, async () => {
  const config = join(dir, 'istio-namespace');
  mkdirSync(config);
  put(join(config, 'mesh.yaml'), meshConfig('REGISTRY_ONLY', 'mesh-system'));
  const mode = async (extra: string[], env: Record<string, string> = {}): Promise<string> => {
    const proxy = await startReal(config, extra, env);
    try {
      return JSON.parse((await proxy.admin('/explain?host=x.example&port=80')).body).mode;
    } finally {
      await proxy.stop();
    }
  };
  assert.equal(await mode([], { ISTIO_NAMESPACE: '' }), 'ALLOW_ANY', 'a ConfigMap outside istio-system is not the mesh config by default');
  assert.equal(await mode(['--istio-namespace', 'mesh-system']), 'REGISTRY_ONLY');
  assert.equal(await mode([], { ISTIO_NAMESPACE: 'mesh-system' }), 'REGISTRY_ONLY');
});

test('with meshgate-proxy: SIGTERM drains for --drain-seconds (readiness 503 meanwhile), over the mesh default, then exits 0', { skip: notBuilt }, async () => {
  const config = join(dir, 'drain');
  mkdirSync(config);
  put(join(config, 'mesh.yaml'), meshConfig('ALLOW_ANY', 'istio-system', ', defaultConfig: {terminationDrainDuration: 30s}'));
  const proxy = await startReal(config, ['--drain-seconds', '2']);
  try {
    assert.equal(JSON.parse((await proxy.admin('/config')).body).terminationDrainDurationMs, 2000, 'the pod\'s drain beats the mesh\'s 30 s');
    const started = Date.now();
    proxy.child.kill('SIGTERM');
    await waitFor('readiness to fail while draining', async () => (await proxy.ready()) === 503, 1_500);
    assert.equal(JSON.parse((await proxy.admin('/explain?host=x.example&port=80')).body).http.verdict, 'allow', 'outbound config still in force while draining');
    assert.equal(await Promise.race([proxy.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]), 0);
    const took = Date.now() - started;
    assert.ok(took >= 1_900 && took < 8_000, `drained for ${took} ms`);
  } finally {
    proxy.child.kill('SIGKILL');
  }
});
