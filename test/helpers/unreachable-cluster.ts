import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A kubeconfig naming a loopback port that was free a moment ago: every API call is refused at once, so tests of
 * discovery failures never wait on a network timeout.
 */
export async function unreachableKubeconfig(): Promise<{ path: string; cleanup(): void }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
