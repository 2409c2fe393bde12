import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileDirectory } from '../../src/snapshot/from-directory.ts';

// `meshgate proxy --dataplane rust`: compile the config directory to a snapshot file, run meshgate-proxy on it,
// rewrite the file (atomically) on every change, pass SIGTERM on.

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
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"
`;

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startProxy(configDir: string, binary: string, extra: string[]): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', '--dataplane', 'rust', '--config-dir', configDir, ...extra], {
    env: { ...process.env, MESHGATE_PROXY_BIN: binary, MESHGATE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => { text += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { text += b.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => text, exited };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the snapshot is compiled, handed to the data plane, rewritten on change, and SIGTERM is passed on', async () => {
  const config = join(dir, 'config');
  const file = join(dir, 'snapshot.json');
  mkdirSync(config);
  writeFileSync(join(config, 'mesh.yaml'), serviceEntry('one.example'));
  const first = compileDirectory(config, undefined).snapshot.version;
  const proxy = startProxy(config, STAND_IN, ['--snapshot-file', file, '--port', '15101', '--inbound-port', '0', '--bind', '127.0.0.1']);
  try {
    await waitFor('the first snapshot', () => proxy.output().includes(`version ${first}`));
    assert.match(proxy.output(), new RegExp(`args \\["--snapshot","${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}","--port","15101","--inbound-port","0",.*"--bind","127.0.0.1"\\]`));
    writeFileSync(join(config, 'mesh.yaml'), serviceEntry('two.example'));
    const second = compileDirectory(config, undefined).snapshot.version;
    assert.notEqual(second, first);
    await waitFor('the changed snapshot', () => proxy.output().includes(`version ${second}`));
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')).clusters), ['outbound|80||two.example']);
    assert.doesNotMatch(proxy.output(), /unreadable/, 'the data plane saw a half-written snapshot');
    proxy.child.kill('SIGTERM');
    assert.equal(await proxy.exited, 0);
    assert.match(proxy.output(), /term\n/);
  } finally {
    proxy.child.kill('SIGKILL');
  }
});

test('a missing data-plane binary is a clear error and exit 1', async () => {
  const config = join(dir, 'empty');
  mkdirSync(config);
  const proxy = startProxy(config, join(dir, 'no-such-binary'), []);
  assert.equal(await proxy.exited, 1);
  assert.match(proxy.output(), /cannot start meshgate-proxy: build it with `cargo build --release`/);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const realBinary = process.env['MESHGATE_PROXY_BIN'] ?? resolve('dataplane/target/release/meshgate-proxy');
test('with the real meshgate-proxy: ready, and /explain answers from the compiled snapshot', { skip: existsSync(realBinary) ? false : `meshgate-proxy is not built (${realBinary}); cargo build --release in dataplane/ builds it` }, async () => {
  const config = join(dir, 'real');
  mkdirSync(config);
  writeFileSync(join(config, 'mesh.yaml'), serviceEntry('one.example'));
  const [port, admin, status, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const proxy = startProxy(config, realBinary, ['--port', String(port), '--inbound-port', '0', '--admin-port', String(admin), '--status-port', String(status), '--metrics-port', String(metrics), '--bind', '127.0.0.1']);
  try {
    let ready = false;
    const deadline = Date.now() + 15_000;
    while (!ready && Date.now() < deadline) {
      ready = await fetch(`http://127.0.0.1:${status}/healthz/ready`).then((r) => r.status === 200, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ready, proxy.output());
    const answer = await (await fetch(`http://127.0.0.1:${admin}/explain?host=one.example&port=80`)).text();
    assert.match(answer, /outbound\|80\|\|one\.example/);
  } finally {
    proxy.child.kill('SIGTERM');
    await Promise.race([proxy.exited, new Promise((r) => setTimeout(r, 10_000))]);
    proxy.child.kill('SIGKILL');
  }
});
