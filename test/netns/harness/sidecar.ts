// The sidecar as the netns suites run it: `meshgate proxy --config-dir DIR` as the proxy user (UID 1337, which the
// injected iptables rules let through) in the pod's namespace, and a config directory that user can read.
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curl, startNode, waitFor, type Running } from './processes.ts';

export const PROXY_UID = 1337;

/** A fresh config directory readable by the proxy user, holding the seed's mesh ConfigMap in ALLOW_ANY. */
export function meshConfigDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mg-config-'));
  chmodSync(dir, 0o755);
  copyFileSync('test/netns/fixtures/egress/mesh-allow-any.yaml', join(dir, 'mesh.yaml'));
  chmodSync(join(dir, 'mesh.yaml'), 0o644);
  return dir;
}

/** Starts the sidecar proxy on `configDir` in namespace `pod`; readiness is the caller's (see `sidecarReady`). */
export function startSidecarProxy(pod: string, configDir: string): Promise<Running> {
  return startNode(pod, PROXY_UID, ['src/cli/main.ts', 'proxy', '--config-dir', configDir], undefined);
}

/** Whether :15021/healthz/ready answered 200 within 20 s. */
export function sidecarReady(pod: string): Promise<boolean> {
  return waitFor(() => curl(pod, 0, 'http://127.0.0.1:15021/healthz/ready', [], 2).status === 200, 20_000);
}
