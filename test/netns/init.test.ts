// meshgate init alone, in network namespaces: what is redirected to 15001 and what is not, proven with real
// connections and the addon's reading of the original destination. Root only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curl, inNamespace, startNode, type Running } from './harness/processes.ts';
import { startSites, type Sites } from './harness/sites.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from './harness/topology.ts';

const skip = unavailableReason();
const APP_UID = 1000;
const PROXY_UID = 1337;
const MESHGATE = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];

describe('meshgate init in a pod network namespace', { skip }, () => {
  let topology: Topology;
  let sites: Sites | undefined;
  let listener: Running | undefined;

  before(async () => {
    topology = createTopology();
    sites = await startSites(topology);
    listener = await startNode(topology.pod, PROXY_UID, ['test/netns/harness/od-listener.ts', '15001'], /^ready/);
  });
  after(async () => {
    await listener?.stop();
    await sites?.stop();
    if (topology) destroyTopology(topology);
  });

  const init = (...args: string[]): { status: number; stdout: string; stderr: string } => inNamespace(topology.pod, [...MESHGATE, 'init', ...args]);
  const natRules = (binary = 'iptables-save'): string => inNamespace(topology.pod, [binary, '-t', 'nat']).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const httpbin = (): string => `http://${topology.servers.httpbin.ipv4}/headers`;

  test('the addon loaded inside the namespace, as the proxy user', () => {
    assert.match(listener?.lines[0] ?? '', /addon=true/);
  });

  test("with -i '*' the app's connection reaches 15001, and originalDestination names the real destination", () => {
    const applied = init('-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '', '-d', '15090,15021,15020');
    assert.equal(applied.status, 0, applied.stderr);
    const result = curl(topology.pod, APP_UID, httpbin());
    assert.equal(result.status, 200, result.error);
    assert.deepEqual(JSON.parse(result.body), { redirected: true, original: { family: 4, address: topology.servers.httpbin.ipv4, port: 80 } });
  });

  test('the proxy UID is never redirected: it reaches the stand-in itself', () => {
    const result = curl(topology.pod, PROXY_UID, httpbin());
    assert.equal(result.status, 200);
    assert.ok(JSON.parse(result.body).headers, result.body);
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

  test('-x excludes a destination: the excluded site is direct, the others still redirected', () => {
    assert.equal(init('-i', '*', '-x', `${topology.servers.httpbin.ipv4}/32`).status, 0);
    assert.ok(JSON.parse(curl(topology.pod, APP_UID, httpbin()).body).headers, 'httpbin reached directly');
    const google = curl(topology.pod, APP_UID, `http://${topology.servers.google.ipv4}:443/`);
    assert.deepEqual(JSON.parse(google.body).original, { family: 4, address: topology.servers.google.ipv4, port: 443 });
  });

  test('-i with a range that leaves the external range out gives direct access', () => {
    assert.equal(init('-i', '10.96.0.0/12,192.168.0.0/16', '-x', '').status, 0);
    const result = curl(topology.pod, APP_UID, httpbin());
    assert.equal(result.status, 200);
    assert.ok(JSON.parse(result.body).headers);
  });

  test("-i '' captures nothing", () => {
    assert.equal(init('-i', '', '-x', '').status, 0);
    assert.ok(JSON.parse(curl(topology.pod, APP_UID, httpbin()).body).headers);
  });

  test('IPv6: ip6tables redirects the app and the addon reads IP6T_SO_ORIGINAL_DST', (t) => {
    if (inNamespace(topology.pod, ['ip6tables-save', '-t', 'nat']).status !== 0) return t.skip('the kernel offers no ip6tables nat table');
    assert.equal(init('-i', '*', '-x', '').status, 0);
    assert.match(natRules('ip6tables-save'), /-A ISTIO_OUTPUT -j ISTIO_REDIRECT/);
    const result = curl(topology.pod, APP_UID, `http://[${topology.servers.httpbin.ipv6}]/headers`, ['-g']);
    assert.deepEqual(JSON.parse(result.body).original, { family: 6, address: topology.servers.httpbin.ipv6, port: 80 });
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
