// The webhook's start-up failures end the process with one clear line (issue 9): a port in use is exit 1, no
// cluster configuration for --values-configmap is exit 2, said once, never a retry loop or a process serving nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function webhook(args: string[], env: Record<string, string>, dir: string): { status: number | null; stderr: string } {
  // 20 s is far more than a start takes; a webhook that keeps running is killed there and fails the test.
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'webhook', '--cert-dir', join(dir, 'certs'), ...args], {
    encoding: 'utf8', timeout: 20_000, env: { ...process.env, MESHGATE_LOG_LEVEL: 'silent', ...env },
  });
  return { status: result.status, stderr: result.stderr };
}

test('webhook --port on a port in use exits 1 and says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-webhook-'));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const port = (blocker.address() as AddressInfo).port;
    const result = webhook(['--host', '127.0.0.1', '--port', String(port)], {}, dir);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^meshgate webhook: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use$`, 'm'));
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('webhook --values-configmap without any kubeconfig: the message once, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-webhook-'));
  try {
    const env = { HOME: dir, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
    const result = webhook(['--port', '0', '--values-configmap', 'istio-system/istio-sidecar-injector'], env, dir);
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.match(/no kubeconfig found \(looked at \$KUBECONFIG, ~\/\.kube\/config, in-cluster\)/g)?.length, 1, result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
