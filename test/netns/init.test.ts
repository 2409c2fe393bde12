// meshgate init in network namespaces: what is redirected to 15001 and what is not, proven with real connections
// through `meshgate proxy` (ALLOW_ANY, as UID 1337), whose access log names the original destination it read
// (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST) and connected to; a connection that was not redirected logs nothing.
// Root only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { curl, inNamespace, waitFor, type Running } from './harness/processes.ts';
import { meshConfigDir, PROXY_UID, sidecarReady, startSidecarProxy } from './harness/sidecar.ts';
import { startSites, type Sites } from './harness/sites.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from './harness/topology.ts';

const skip = unavailableReason();
const APP_UID = 1000;
const MESHGATE = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];

describe('meshgate init in a pod network namespace', { skip }, () => {
  let topology: Topology;
  let sites: Sites | undefined;
  let proxy: Running | undefined;
  let configDir: string | undefined;

  before(async () => {
    topology = createTopology();
    sites = await startSites(topology);
    configDir = meshConfigDir();
    proxy = await startSidecarProxy(topology.pod, configDir);
  });
  after(async () => {
    await proxy?.stop();
    await sites?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
    if (topology) destroyTopology(topology);
  });

  const init = (...args: string[]): { status: number; stdout: string; stderr: string } => inNamespace(topology.pod, [...MESHGATE, 'init', ...args]);
  const natRules = (binary = 'iptables-save'): string => inNamespace(topology.pod, [binary, '-t', 'nat']).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const httpbin = (): string => `http://${topology.servers.httpbin.ipv4}/headers`;
  /** Access log lines of connections the proxy passed to `upstream` (ip:port, IPv6 in brackets). */
  const passedTo = (upstream: string): number => (proxy?.lines ?? []).filter((l) => l.includes(`"${upstream}" PassthroughCluster `)).length;
  /** Waits (bounded) for a new access log line naming `upstream`: the access log is written a little after the response. */
  const logged = (upstream: string, before: number): Promise<boolean> => waitFor(() => passedTo(upstream) > before, 2_000);

  test('meshgate proxy is ready inside the namespace, as the proxy user', async () => {
    assert.ok(await sidecarReady(topology.pod), `proxy not ready: ${proxy?.stderr.join('').slice(-2000)}`);
  });

  test("with -i '*' the app's connection reaches 15001, and the proxy connects to the original destination", async () => {
    const applied = init('-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '', '-d', '15090,15021,15020');
    assert.equal(applied.status, 0, applied.stderr);
    const upstream = `${topology.servers.httpbin.ipv4}:80`;
    const before = passedTo(upstream);
    const result = curl(topology.pod, APP_UID, httpbin());
    assert.equal(result.status, 200, result.error);
    assert.ok(JSON.parse(result.body).headers, result.body);
    assert.ok(await logged(upstream, before), `no access log line naming ${upstream}: ${proxy?.lines.slice(-3).join('\n')}`);
  });

  test('the proxy UID is never redirected: it reaches the stand-in itself', async () => {
    const upstream = `${topology.servers.httpbin.ipv4}:80`;
    const before = passedTo(upstream);
    const result = curl(topology.pod, PROXY_UID, httpbin());
    assert.equal(result.status, 200);
    assert.ok(JSON.parse(result.body).headers, result.body);
    assert.equal(await logged(upstream, before), false, 'the proxy saw a connection of its own user');
  });

  test('running init twice gives an identical nat table, with chains of its own', () => {
    const first = natRules();
    assert.equal(init('-i', '*', '-x', '').status, 0);
    const once = natRules();
    assert.equal(init('-i', '*', '-x', '').status, 0);
    assert.equal(natRules(), once);
    assert.match(once, /^:ISTIO_OUTPUT - /m);
    assert.equal(once.match(/^-A OUTPUT /gm)?.length, 1, 'one jump from OUTPUT');
    assert.notEqual(first, '');
  });

  test('--dry-run prints the rules and changes nothing', () => {
    const beforeRules = natRules();
    const dry = init('-i', '10.0.0.0/8', '--dry-run');
    assert.equal(dry.status, 0);
    assert.match(dry.stdout, /-A ISTIO_OUTPUT -d 10\.0\.0\.0\/8 -j ISTIO_REDIRECT/);
    assert.equal(natRules(), beforeRules);
  });

  test('-x excludes a destination: the excluded site is direct, the others still redirected', async () => {
    assert.equal(init('-i', '*', '-x', `${topology.servers.httpbin.ipv4}/32`).status, 0);
    const direct = `${topology.servers.httpbin.ipv4}:80`;
    const beforeDirect = passedTo(direct);
    assert.ok(JSON.parse(curl(topology.pod, APP_UID, httpbin()).body).headers, 'httpbin reached');
    const google = `${topology.servers.google.ipv4}:443`;
    const beforeGoogle = passedTo(google);
    const tls = curl(topology.pod, APP_UID, `https://${topology.servers.google.ipv4}/`, ['-k']);
    assert.equal(tls.status, 200, tls.error);
    assert.ok(await logged(google, beforeGoogle), 'the TLS connection to the other site went through the proxy');
    assert.equal(passedTo(direct), beforeDirect, 'the excluded site was reached directly');
  });

  test('-i with a range that leaves the external range out gives direct access', () => {
    assert.equal(init('-i', '10.96.0.0/12,192.168.0.0/16', '-x', '').status, 0);
    const result = curl(topology.pod, APP_UID, httpbin());
    assert.equal(result.status, 200);
    assert.ok(JSON.parse(result.body).headers);
  });

  test("-i '' captures nothing", async () => {
    assert.equal(init('-i', '', '-x', '').status, 0);
    const upstream = `${topology.servers.httpbin.ipv4}:80`;
    const before = passedTo(upstream);
    assert.ok(JSON.parse(curl(topology.pod, APP_UID, httpbin()).body).headers);
    assert.equal(await logged(upstream, before), false, 'nothing was redirected');
  });

  test('IPv6: ip6tables redirects the app and the proxy reads IP6T_SO_ORIGINAL_DST', async (t) => {
    if (inNamespace(topology.pod, ['ip6tables-save', '-t', 'nat']).status !== 0) return t.skip('the kernel offers no ip6tables nat table');
    assert.equal(init('-i', '*', '-x', '').status, 0);
    assert.match(natRules('ip6tables-save'), /-A ISTIO_OUTPUT -j ISTIO_REDIRECT/);
    const upstream = `[${topology.servers.httpbin.ipv6}]:80`;
    const before = passedTo(upstream);
    const result = curl(topology.pod, APP_UID, `http://[${topology.servers.httpbin.ipv6}]/headers`, ['-g']);
    assert.equal(result.status, 200, result.error);
    assert.ok(await logged(upstream, before), `no access log line naming ${upstream}: ${proxy?.lines.slice(-3).join('\n')}`);
  });

  test('--cleanup --dry-run (with or without other flags) prints what it would remove and removes nothing', () => {
    // The chains a node running Istio holds: written with the system iptables, as istio-iptables would.
    assert.equal(init('-i', '*', '-x', '').status, 0);
    const before4 = natRules();
    const before6 = natRules('ip6tables-save');
    assert.match(before4, /^:ISTIO_OUTPUT /m);
    for (const args of [['--cleanup', '--dry-run'], ['--dry-run', '--cleanup', '-i', '10.0.0.0/8'], ['--cleanup', '--dry-run', '-b', '*']]) {
      const dry = init(...args);
      assert.equal(dry.status, 0, `${args.join(' ')}: ${dry.stderr}`);
      assert.match(dry.stdout, /^-X ISTIO_OUTPUT$/m, `${args.join(' ')} prints the removal`);
      assert.match(dry.stderr, /dry run: nothing changed/);
      assert.equal(natRules(), before4, `${args.join(' ')} left the IPv4 rules as they were`);
      assert.equal(natRules('ip6tables-save'), before6, `${args.join(' ')} left the IPv6 rules as they were`);
    }
  });

  test('--cleanup removes every chain and jump, for both families', () => {
    assert.equal(init('--cleanup').status, 0);
    for (const save of ['iptables-save', 'ip6tables-save']) assert.doesNotMatch(natRules(save), /ISTIO_/);
    assert.ok(JSON.parse(curl(topology.pod, APP_UID, httpbin()).body).headers, 'direct again');
  });
});
