import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, Agent } from 'node:http';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { fileFeed } from '../../src/mesh/file-source.ts';
import { meshConfigMap, proxyRequest, serviceEntry, startHarness, startUpstream, waitFor, type Harness } from './proxy-harness.ts';

let h: Harness;
let up: Awaited<ReturnType<typeof startUpstream>>;
let dir: string;
const problems: string[] = [];

const write = (name: string, docs: unknown[]): void => {
  const path = join(dir, name);
  writeFileSync(`${path}.tmp`, docs.map((d) => stringify(d)).join('---\n'));
  renameSync(`${path}.tmp`, path);
};

before(async () => {
  up = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'meshgate-proxy-config-'));
  write('mesh.yaml', [meshConfigMap('REGISTRY_ONLY')]);
  const logger = pino({ level: 'warn' }, { write: (line: string) => { problems.push(line); } });
  h = await startHarness([], { logger, feed: (store, report) => fileFeed(dir, store, (m) => { problems.push(m); report(m); }, 200) });
  h.target = { address: '127.0.0.1', port: up.port, family: 4 };
});
after(async () => {
  await h.close();
  up.server.close();
  rmSync(dir, { recursive: true, force: true });
});

const entry = () => serviceEntry('httpbin-ext', { hosts: ['httpbin.test'], ports: [{ number: up.port, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' });

async function statusWithin(expected: number, ms: number): Promise<number> {
  const t0 = Date.now();
  let status = 0;
  while (Date.now() - t0 < ms) {
    status = (await proxyRequest(h.proxy.port, {})).status;
    if (status === expected) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`status ${status}, expected ${expected} within ${ms} ms`);
}

test('the config dir is read at start and readiness follows it', async () => {
  assert.equal(h.proxy.ready(), true);
  assert.equal((await proxyRequest(h.proxy.port, {})).status, 502);
});

test('adding a ServiceEntry file applies to new requests within 2 s; deleting it blocks again', async () => {
  write('httpbin.yaml', [entry()]);
  await statusWithin(200, 2000);
  rmSync(join(dir, 'httpbin.yaml'));
  await statusWithin(502, 2000);
});

test('editing the mesh config in place switches the mode within 2 s, without dropping an open connection', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const viaKeepAlive = (): Promise<number> => new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: h.proxy.port, path: '/headers', headers: { host: 'anything.example' }, agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject).end();
  });
  assert.equal(await viaKeepAlive(), 502);
  write('mesh.yaml', [meshConfigMap('ALLOW_ANY')]);
  await statusWithin(200, 2000);
  assert.equal(await viaKeepAlive(), 200, 'the same keep-alive connection sees the new policy');
  agent.destroy();
  write('mesh.yaml', [meshConfigMap('REGISTRY_ONLY')]);
  await statusWithin(502, 2000);
});

test('an invalid object is reported and skipped; the last good version of it stays in force', async () => {
  write('httpbin.yaml', [entry()]);
  await statusWithin(200, 2000);
  const broken = entry();
  (broken['spec'] as Record<string, unknown>)['hosts'] = ['*partial.test'];
  write('httpbin.yaml', [broken]);
  await waitFor(() => problems.some((p) => p.includes('partial wildcard') && p.includes('keeping the last good version')), 2000);
  assert.equal((await proxyRequest(h.proxy.port, {})).status, 200);
  writeFileSync(join(dir, 'httpbin.yaml'), 'spec: [unclosed');
  await waitFor(() => problems.some((p) => p.includes('httpbin.yaml')), 2000);
  assert.equal((await proxyRequest(h.proxy.port, {})).status, 200, 'a file that does not parse keeps what it held');
  rmSync(join(dir, 'httpbin.yaml'));
});
