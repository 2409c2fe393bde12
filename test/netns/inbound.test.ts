// Inbound passthrough as Istio's sidecar does it: with `meshgate init -b '*'` (real iptables in a pod namespace),
// a connection from outside the pod to the app's port is redirected to meshgate-proxy's :15006, which joins it to
// the original destination from 127.0.0.6 (Istio's inbound passthrough source, which the rules let through), so the
// app sees 127.0.0.6 as the peer. Where the source cannot be bound (IPv6 has no ::6 on lo), the proxy connects
// from the default source and says so in its log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { curl, inNamespace, startNode, waitFor, type Running } from './harness/processes.ts';
import { meshConfigDir, PROXY_UID, sidecarReady, startSidecarProxy } from './harness/sidecar.ts';
import { createTopology, destroyTopology, unavailableReason, type Topology } from './harness/topology.ts';

const skip = unavailableReason();
const APP_PORT = 8080;
const MESHGATE = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
/** The injector's init arguments (src/inject/containers.ts initArgs): all inbound ports captured. */
const INIT = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];

describe('inbound passthrough through meshgate init + meshgate proxy', { skip }, () => {
  let topology: Topology;
  let app: Running | undefined;
  let proxy: Running | undefined;
  let configDir: string;

  before(async () => {
    topology = createTopology();
    configDir = meshConfigDir();
    app = await startNode(topology.pod, undefined, ['test/netns/harness/peer-echo.ts', String(APP_PORT)], /^ready$/);
    const init = inNamespace(topology.pod, [...MESHGATE, 'init', ...INIT]);
    assert.equal(init.status, 0, init.stderr);
    proxy = await startSidecarProxy(topology.pod, configDir);
    assert.ok(await sidecarReady(topology.pod), `proxy not ready: ${proxy.stderr.join('').slice(-2000)}`);
  });
  after(async () => {
    await proxy?.stop();
    await app?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
    if (topology) destroyTopology(topology);
  });

  test('the rules redirect inbound TCP to :15006 and let the proxy\'s own connections through', () => {
    const rules = inNamespace(topology.pod, ['iptables-save', '-t', 'nat']).stdout;
    assert.match(rules, /^-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006$/m);
    assert.match(rules, /^-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN$/m);
  });

  test('a connection from outside the pod reaches the app, which sees 127.0.0.6 as the peer', () => {
    const result = curl(topology.router, 0, `http://${topology.podIPv4}:${APP_PORT}/`, [], 5);
    assert.equal(result.status, 200, result.error);
    assert.equal(result.body.trim(), '127.0.0.6', 'the app sees the inbound passthrough source, not the client');
  });

  test('several connections in a row all arrive from 127.0.0.6', () => {
    for (let i = 0; i < 3; i++) {
      const result = curl(topology.router, 0, `http://${topology.podIPv4}:${APP_PORT}/n${i}`, [], 5);
      assert.equal(result.body.trim(), '127.0.0.6', `request ${i}: ${result.error}`);
    }
  });

  test('over IPv6, where ::6 cannot be bound, the app is still reached through the proxy and the fallback is logged once', async () => {
    for (let i = 0; i < 2; i++) {
      const result = curl(topology.router, 0, `http://[${topology.podIPv6}]:${APP_PORT}/`, [], 5);
      assert.equal(result.status, 200, result.error);
      // Through the proxy the peer is the pod's own address; the router's (fd00:250::1) would mean no redirect.
      assert.equal(result.body.trim(), topology.podIPv6);
    }
    const fallbacks = (): string[] => (proxy?.stderr.join('') ?? '').split('\n').filter((line) => line.includes('cannot bind ::6 as the source'));
    // The proxy's stderr arrives through `meshgate proxy`'s pipe: allow it a moment.
    await waitFor(() => fallbacks().length > 0, 2_000);
    assert.equal(fallbacks().length, 1, proxy?.stderr.join('').slice(-2000));
  });
});
