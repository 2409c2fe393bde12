// meshgate init -c (excludeInterfaces) and -k (kubevirtInterfaces) with real iptables: a second veth in the pod
// namespace leads to a "vm" namespace. Each case first shows the capture without the flag, so the flag's effect is
// what changes the answer. Root only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curl, inNamespace, startNode, type Running } from './harness/processes.ts';
import { startSites, type Sites } from './harness/sites.ts';
import { addPeerNamespace, createTopology, destroyTopology, unavailableReason, type Topology } from './harness/topology.ts';

const skip = unavailableReason();
const APP_UID = 1000;
const PROXY_UID = 1337;
const MESHGATE = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
const VM_ADDRESS = '10.252.0.2';

describe('meshgate init -c / -k with a second interface', { skip }, () => {
  let topology: Topology;
  let sites: Sites | undefined;
  let vm = '';
  const running: Running[] = [];

  before(async () => {
    topology = createTopology();
    sites = await startSites(topology);
    vm = addPeerNamespace(topology, 'vm', 'vm0', '10.252.0.1/24', `${VM_ADDRESS}/24`);
    // The pod forwards the vm's traffic, and the router knows the way back: without -k the vm reaches httpbin.
    assert.equal(inNamespace(topology.pod, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']).status, 0);
    assert.equal(inNamespace(topology.router, ['ip', 'route', 'add', '10.252.0.0/24', 'via', topology.podIPv4]).status, 0);
    running.push(await startNode(topology.pod, PROXY_UID, ['test/netns/harness/marker-listener.ts', '15001', 'redirected'], /^ready/));
    running.push(await startNode(vm, undefined, ['test/netns/harness/marker-listener.ts', '8080', 'vm-server'], /^ready/));
  });
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await sites?.stop();
    if (topology) destroyTopology(topology);
  });

  const init = (...args: string[]): void => {
    const result = inNamespace(topology.pod, [...MESHGATE, 'init', '-u', String(PROXY_UID), ...args]);
    assert.equal(result.status, 0, result.stderr);
  };
  const fromApp = (url: string): string => curl(topology.pod, APP_UID, url).body.trim();
  const fromVm = (url: string): string => curl(vm, 0, url).body.trim();
  const httpbin = (): string => `http://${topology.servers.httpbin.ipv4}/headers`;

  test('-c: the app\'s traffic out of the excluded interface bypasses the redirect; out of eth0 it is still captured', () => {
    init('-i', '*');
    assert.equal(fromApp(`http://${VM_ADDRESS}:8080/`), 'redirected', 'without -c the vm server is captured');
    init('-i', '*', '-c', 'vm0');
    assert.equal(fromApp(`http://${VM_ADDRESS}:8080/`), 'vm-server');
    assert.equal(fromApp(httpbin()), 'redirected');
    assert.match(inNamespace(topology.pod, ['iptables-save', '-t', 'nat']).stdout, /^-A ISTIO_OUTPUT -o vm0 -j RETURN$/m);
  });

  test('-c on inbound: a connection arriving on the excluded interface is not taken by the inbound capture', () => {
    init('-i', '', '-b', '*');
    // Inbound capture sends the vm's connection to 15006, where nothing listens: refused.
    assert.notEqual(curl(vm, 0, `http://10.252.0.1:15001/`, [], 5).body.trim(), 'redirected', 'captured inbound without -c');
    init('-i', '', '-b', '*', '-c', 'vm0');
    assert.equal(fromVm('http://10.252.0.1:15001/'), 'redirected', 'reaches the listener on its own port');
  });

  test('-k: what the vm sends through the pod is captured as outbound; without -k it is forwarded to httpbin', () => {
    init('-i', '*');
    const direct = fromVm(httpbin());
    assert.ok(JSON.parse(direct).headers, `forwarded to httpbin: ${direct}`);
    init('-i', '*', '-k', 'vm0');
    assert.equal(fromVm(httpbin()), 'redirected');
    init('-i', `${topology.servers.google.ipv4}/32`, '-k', 'vm0');
    assert.ok(JSON.parse(fromVm(httpbin())).headers, 'only the included destinations are rerouted');
  });

  test('running again and --cleanup leave no interface rule behind', () => {
    init('-i', '*', '-b', '*', '-c', 'vm0', '-k', 'eth9');
    init('-i', '*', '-b', '*', '-c', 'vm0', '-k', 'eth9');
    const rules = inNamespace(topology.pod, ['iptables-save', '-t', 'nat']).stdout;
    assert.equal(rules.match(/-i eth9 -j ISTIO_REDIRECT/g)?.length, 1);
    assert.equal(inNamespace(topology.pod, [...MESHGATE, 'init', '--cleanup']).status, 0);
    assert.doesNotMatch(inNamespace(topology.pod, ['iptables-save', '-t', 'nat']).stdout, /vm0|eth9|ISTIO_/);
  });
});
