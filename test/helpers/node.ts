import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startControlPlane, type ControlPlane } from './control-plane.ts';

/** Why the real-node suite cannot run here, or undefined when it can. */
export function nodeUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (containerd, runc, iptables)';
  for (const tool of ['containerd', 'ctr', 'runc', 'socat', 'nsenter', 'gcc']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} missing (scripts/install-system-deps.sh)`;
  }
  if (!existsSync('/usr/lib/cni/bridge')) return 'CNI plugins missing (containernetworking-plugins, scripts/install-system-deps.sh)';
  if (!existsSync('/sys/fs/cgroup/cpu') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) return 'no cgroup filesystem';
  return undefined;
}

/** A control plane (up.sh) plus a node (node-up.sh): containerd, kubelet and scheduler, with the suite's images imported. */
export interface NodeCluster extends ControlPlane {
  nodeName: string;
  nodeIP: string;
  /** An address on the node that pods reach through their route to the stand-in range (a stand-in external host). */
  standinIP: string;
  /** All the stand-in addresses on the node (standinIP first), one per stand-in host a test serves. */
  standinIPs: string[];
  /** The pods' DNS server (test/cluster/cluster-dns.mjs): Services by name, the dnsHosts given at start. */
  dnsIP: string;
  containerdSocket: string;
  /** Milliseconds: images built, control plane up, node Ready. */
  timings: Record<string, number>;
}

function envOf(dir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** Where the last run's node logs are kept. */
export const NODE_LOGS = join(tmpdir(), 'meshgate-node-logs');

/** dnsHosts: stand-in names the cluster DNS answers (name -> one of the stand-in addresses). */
export function startNodeCluster(serviceCidr = '10.96.0.0/16', options: { dnsHosts?: Record<string, string> } = {}): NodeCluster {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const images = mkdtempSync(join(tmpdir(), 'meshgate-images-'));
  try {
    execFileSync(process.execPath, ['test/images/build.mjs', images], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
  } catch (error) {
    rmSync(images, { recursive: true, force: true });
    throw error;
  }
  timings['images built'] = Date.now() - t;
  t = Date.now();
  const cp = startControlPlane(serviceCidr);
  timings['control plane up'] = Date.now() - t;
  const stopAll = (): void => {
    // node-down.sh restores the host; the node's logs (containerd, kubelet, scheduler, pods) outlive the run in
    // NODE_LOGS, replacing the previous run's, for a failure to be read afterwards.
    const down = spawnSync('bash', [resolve('test/cluster/node-down.sh'), cp.dir, '--keep-logs'], { encoding: 'utf8', timeout: 120_000 });
    if (down.status !== 0) process.stderr.write(`node-down.sh: ${down.stderr}\n`);
    rmSync(NODE_LOGS, { recursive: true, force: true });
    if (existsSync(join(cp.dir, 'node'))) renameSync(join(cp.dir, 'node'), NODE_LOGS);
    cp.stop();
    rmSync(images, { recursive: true, force: true });
  };
  t = Date.now();
  const dnsHosts = Object.entries(options.dnsHosts ?? {}).flatMap(([name, ip]) => ['--dns-host', `${name}=${ip}`]);
  const up = spawnSync('bash', [resolve('test/cluster/node-up.sh'), cp.dir, '--owner', String(process.pid), '--images', images, ...dnsHosts], {
    encoding: 'utf8', timeout: 240_000, env: { ...process.env, MESHGATE_NODE_JS: process.execPath },
  });
  if (up.status !== 0) {
    const logs = spawnSync('sh', ['-c', `tail -n 20 ${join(cp.dir, 'node')}/*.log 2>/dev/null`], { encoding: 'utf8' }).stdout;
    stopAll();
    throw new Error(`node-up.sh failed (${up.status ?? up.signal}): ${up.stderr}\n${logs}`);
  }
  timings['node Ready'] = Date.now() - t;
  const env = envOf(cp.dir);
  return {
    ...cp,
    nodeName: env['MESHGATE_NODE_NAME']!,
    nodeIP: env['MESHGATE_NODE_IP']!,
    standinIP: env['MESHGATE_STANDIN_IP']!,
    standinIPs: env['MESHGATE_STANDIN_IPS']!.split(','),
    dnsIP: env['MESHGATE_DNS_IP']!,
    containerdSocket: env['MESHGATE_CONTAINERD_SOCK']!,
    timings,
    stop: stopAll,
  };
}

/** The host pid of a running container of a pod, from containerd (for nsenter into the pod's namespaces). */
export function containerPid(node: NodeCluster, podUid: string, container: string): number {
  const ctr = (args: string[]): string => execFileSync('ctr', ['--address', node.containerdSocket, '-n', 'k8s.io', ...args], { encoding: 'utf8', timeout: 20_000 });
  for (const id of ctr(['containers', 'ls', '-q']).split('\n').filter(Boolean)) {
    const labels = (JSON.parse(ctr(['containers', 'info', id])) as { Labels?: Record<string, string> }).Labels ?? {};
    if (labels['io.kubernetes.pod.uid'] !== podUid || labels['io.kubernetes.container.name'] !== container) continue;
    const task = ctr(['tasks', 'ls']).split('\n').find((line) => line.startsWith(`${id} `));
    const pid = Number(task?.trim().split(/\s+/)[1]);
    if (pid > 0) return pid;
  }
  throw new Error(`no running container ${container} of pod ${podUid}`);
}
