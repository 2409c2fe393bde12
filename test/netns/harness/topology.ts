// Network namespaces for the netns suite: a "pod", a "router" and one namespace per external stand-in, joined by
// veths created directly inside the namespaces (never in the host's), with private test addresses that exist only
// there. Names are unique per run (mg-<random>-…), and every namespace and /etc/netns dir is removed afterwards;
// namespaces left by a crashed run (its owner pid gone) are removed at the next start.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OWNERS = '/run/meshgate-netns';

export interface Server {
  name: string;
  ns: string;
  ipv4: string;
  ipv6: string;
}

export interface Topology {
  pod: string;
  router: string;
  podIPv4: string;
  podIPv6: string;
  servers: Record<'httpbin' | 'google' | 'cnn', Server>;
  /** The range every stand-in lives in: `-i` ranges that leave it out give direct access. */
  externalRange: string;
  namespaces: string[];
}

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function inNs(ns: string, ...args: string[]): void {
  sh('ip', ['netns', 'exec', ns, ...args]);
}

/** Why the suite cannot run here, or undefined when it can. */
export function unavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the netns suite needs root (network namespaces, iptables)';
  for (const tool of ['ip', 'iptables', 'iptables-save', 'curl', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (scripts/install-system-deps.sh)`;
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeNamespace(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  rmSync(join(OWNERS, ns), { force: true });
}

/** Removes mg-* namespaces whose creating process is gone (a crashed or killed run); live runs are left alone. */
export function removeStale(): void {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const names = new Set(listed.split('\n').map((line) => line.split(' ')[0] ?? '').filter((n) => n.startsWith('mg-')));
  if (existsSync('/etc/netns')) for (const dir of readdirSync('/etc/netns')) if (dir.startsWith('mg-')) names.add(dir);
  for (const ns of names) {
    const ownerFile = join(OWNERS, ns);
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
    if (!(owner > 0 && alive(owner))) removeNamespace(ns);
  }
}

function addNamespace(ns: string, files: Record<string, string>): void {
  // The owner file first: a concurrent run's stale sweep must see this namespace as alive from its first moment.
  mkdirSync(OWNERS, { recursive: true });
  writeFileSync(join(OWNERS, ns), String(process.pid));
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(`/etc/netns/${ns}/${name}`, text, { mode: 0o644 });
  sh('ip', ['netns', 'add', ns]);
  inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
}

/** A veth pair with one end in each namespace, addressed (nodad: usable at once, no 2 s duplicate detection). */
function link(a: string, aName: string, aAddrs: string[], b: string, bName: string, bAddrs: string[]): void {
  sh('ip', ['link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
  for (const [ns, dev, addrs] of [[a, aName, aAddrs], [b, bName, bAddrs]] as const) {
    for (const addr of addrs) inNs(ns, 'ip', 'addr', 'add', addr, 'dev', dev, ...(addr.includes(':') ? ['nodad'] : []));
    inNs(ns, 'ip', 'link', 'set', dev, 'up');
  }
}

// A resolver that sends no lookup off the machine: nothing listens on 127.0.0.1:53 in these namespaces.
const RESOLV = 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n';

function server(prefix: string, name: string, short: string, last: number): Server {
  return { name, ns: `${prefix}-${short}`, ipv4: `10.251.0.${last}`, ipv6: `fd00:251::${last}` };
}

export function createTopology(): Topology {
  removeStale();
  const prefix = `mg-${randomBytes(3).toString('hex')}`;
  const pod = `${prefix}-pod`;
  const router = `${prefix}-rt`;
  const servers = {
    httpbin: server(prefix, 'httpbin.org', 'httpbin', 10),
    google: server(prefix, 'www.google.com', 'google', 20),
    cnn: server(prefix, 'edition.cnn.com', 'cnn', 30),
  };
  const topology: Topology = {
    pod, router, podIPv4: '10.250.0.2', podIPv6: 'fd00:250::2', servers, externalRange: '10.251.0.0/16',
    namespaces: [pod, router, ...Object.values(servers).map((s) => s.ns)],
  };
  try {
    const hosts = ['127.0.0.1 localhost', '::1 localhost', ...Object.values(servers).map((s) => `${s.ipv4} ${s.name}`), ''].join('\n');
    addNamespace(pod, { hosts, 'resolv.conf': RESOLV });
    addNamespace(router, { 'resolv.conf': RESOLV });
    inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    inNs(router, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    link(pod, 'eth0', ['10.250.0.2/24', 'fd00:250::2/64'], router, 'pod0', ['10.250.0.1/24', 'fd00:250::1/64']);
    inNs(pod, 'ip', 'route', 'add', 'default', 'via', '10.250.0.1');
    inNs(pod, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:250::1');
    // The stand-ins share one bridge in the router, as hosts on one external subnet do.
    inNs(router, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    inNs(router, 'ip', 'addr', 'add', '10.251.0.1/24', 'dev', 'br0');
    inNs(router, 'ip', 'addr', 'add', 'fd00:251::1/64', 'dev', 'br0', 'nodad');
    inNs(router, 'ip', 'link', 'set', 'br0', 'up');
    Object.values(servers).forEach((s, i) => {
      addNamespace(s.ns, { 'resolv.conf': RESOLV });
      link(s.ns, 'eth0', [`${s.ipv4}/24`, `${s.ipv6}/64`], router, `ext${i}`, []);
      inNs(router, 'ip', 'link', 'set', `ext${i}`, 'master', 'br0');
      inNs(s.ns, 'ip', 'route', 'add', 'default', 'via', '10.251.0.1');
      inNs(s.ns, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:251::1');
    });
  } catch (error) {
    destroyTopology(topology);
    throw error;
  }
  return topology;
}

export function destroyTopology(topology: Topology): void {
  for (const ns of topology.namespaces) removeNamespace(ns);
}

/**
 * One more namespace joined to the pod by its own veth (`podIf` in the pod, eth0 in the peer), e.g. a VM's virtual
 * interface or a second pod network. Listed in `topology.namespaces`, so destroyTopology removes it.
 */
export function addPeerNamespace(topology: Topology, short: string, podIf: string, podAddr: string, peerAddr: string): string {
  const ns = `${topology.pod.slice(0, -'-pod'.length)}-${short}`;
  topology.namespaces.push(ns);
  addNamespace(ns, { 'resolv.conf': RESOLV });
  link(topology.pod, podIf, [podAddr], ns, 'eth0', [peerAddr]);
  inNs(ns, 'ip', 'route', 'add', 'default', 'via', podAddr.split('/')[0] as string);
  return ns;
}
