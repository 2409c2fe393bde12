// The nat-table rules of `meshgate init`, as iptables-restore lines. Pure: settings in, text out.
// Order follows istio-iptables (see docs/ARCHITECTURE.md): the proxy's own traffic returns first so it never loops
// back into itself, then loopback, then excludes, then includes, so an exclude always wins over an include.
import type { Cidr } from '../ranges/cidr.ts';
import type { InitSettings } from './settings.ts';

/** Istio's chain names, so Istio's troubleshooting guides (`iptables -t nat -L ISTIO_OUTPUT`) read the same. */
export const Chain = {
  inbound: 'ISTIO_INBOUND',
  inRedirect: 'ISTIO_IN_REDIRECT',
  output: 'ISTIO_OUTPUT',
  redirect: 'ISTIO_REDIRECT',
} as const;

/** Every chain meshgate owns: created on apply, flushed and deleted on cleanup. */
export const OWN_CHAINS: readonly string[] = [Chain.inbound, Chain.inRedirect, Chain.output, Chain.redirect];

/** Istio's HBONE port: never captured inbound, as in Istio. */
const HBONE_PORT = 15008;

export type Family = 4 | 6;

function ofFamily(cidrs: Cidr[], family: Family): string[] {
  return cidrs.filter((cidr) => cidr.family === family).map((cidr) => `${cidr.address}/${cidr.prefix}`);
}

/**
 * istio-iptables -k: what arrives on a VM's virtual interface is the VM's outbound traffic, so it takes the outbound
 * redirect for the included destinations. Istio inserts these at the head of PREROUTING; here they come before the
 * inbound jump, which is the same order for every packet.
 */
function kubevirtRules(s: InitSettings, family: Family): string[] {
  const rules: string[] = [];
  for (const name of s.kubevirtInterfaces) {
    if (s.includeAll) rules.push(`-A PREROUTING -i ${name} -j ${Chain.redirect}`);
    else for (const cidr of ofFamily(s.includeCidrs, family)) rules.push(`-A PREROUTING -i ${name} -d ${cidr} -j ${Chain.redirect}`);
  }
  return rules;
}

/**
 * Istio writes the interface RETURNs into PREROUTING and OUTPUT themselves; here they open meshgate's own chains
 * instead. Same effect (nothing else precedes the jumps), and a rerun or --cleanup removes exactly what it added:
 * iptables-restore cannot tell a RETURN of ours in a built-in chain from one the node's admin wrote.
 */
function inboundRules(s: InitSettings): string[] {
  if (!s.inboundAll && s.inboundPorts.length === 0) return [];
  const rules = [`-A PREROUTING -p tcp -j ${Chain.inbound}`];
  // -c: never captured; -k: the VM's traffic is outbound, never the pod's inbound.
  for (const name of [...s.excludeInterfaces, ...s.kubevirtInterfaces]) rules.push(`-A ${Chain.inbound} -i ${name} -j RETURN`);
  if (s.inboundAll) {
    for (const port of [HBONE_PORT, ...s.inboundExcludePorts]) rules.push(`-A ${Chain.inbound} -p tcp --dport ${port} -j RETURN`);
    rules.push(`-A ${Chain.inbound} -p tcp -j ${Chain.inRedirect}`);
  } else {
    for (const port of s.inboundPorts) rules.push(`-A ${Chain.inbound} -p tcp --dport ${port} -j ${Chain.inRedirect}`);
  }
  return rules;
}

function outboundRules(s: InitSettings, family: Family): string[] {
  const out = Chain.output;
  const rules = [`-A OUTPUT -p tcp -j ${out}`];
  for (const name of s.excludeInterfaces) rules.push(`-A ${out} -o ${name} -j RETURN`);
  for (const port of s.outboundExcludePorts) rules.push(`-A ${out} -p tcp --dport ${port} -j RETURN`);
  for (const uid of s.proxyUids) rules.push(`-A ${out} -m owner --uid-owner ${uid} -j RETURN`);
  for (const gid of s.proxyGids) rules.push(`-A ${out} -m owner --gid-owner ${gid} -j RETURN`);
  rules.push(`-A ${out} -o lo -j RETURN`);
  rules.push(`-A ${out} -d ${family === 4 ? '127.0.0.1/32' : '::1/128'} -j RETURN`);
  for (const cidr of ofFamily(s.excludeCidrs, family)) rules.push(`-A ${out} -d ${cidr} -j RETURN`);
  for (const port of s.outboundIncludePorts) rules.push(`-A ${out} -p tcp --dport ${port} -j ${Chain.redirect}`);
  if (s.includeAll) rules.push(`-A ${out} -j ${Chain.redirect}`);
  else for (const cidr of ofFamily(s.includeCidrs, family)) rules.push(`-A ${out} -d ${cidr} -j ${Chain.redirect}`);
  return rules;
}

/** The rules (without chain declarations) for one address family. */
export function natRules(s: InitSettings, family: Family): string[] {
  return [
    `-A ${Chain.redirect} -p tcp -j REDIRECT --to-ports ${s.outboundPort}`,
    `-A ${Chain.inRedirect} -p tcp -j REDIRECT --to-ports ${s.inboundPort}`,
    ...kubevirtRules(s, family),
    ...inboundRules(s),
    ...outboundRules(s, family),
  ];
}

/** Whether the settings name any IPv6 destination: then ip6tables is needed even if the pod has no IPv6 yet. */
export function mentionsIPv6(s: InitSettings): boolean {
  return [...s.includeCidrs, ...s.excludeCidrs].some((cidr) => cidr.family === 6);
}

function declarations(): string[] {
  return OWN_CHAINS.map((chain) => `:${chain} - [0:0]`);
}

/** The jumps into meshgate's chains that an earlier run left in the built-in chains, as `-D` commands. */
export function staleJumps(currentSave: string): string[] {
  const jumps: string[] = [];
  let inNat = false;
  for (const line of currentSave.split('\n')) {
    if (line.startsWith('*')) inNat = line.trim() === '*nat';
    if (!inNat || !/^-A (PREROUTING|OUTPUT) /.test(line)) continue;
    const target = / -j (\S+)/.exec(line)?.[1];
    if (target && OWN_CHAINS.includes(target)) jumps.push(`-D${line.trimEnd().slice(2)}`);
  }
  return jumps;
}

/** The rule set alone, for `--dry-run` and the tests: what a clean pod ends up with. */
export function renderRules(s: InitSettings, family: Family): string {
  return ['*nat', ...declarations(), ...natRules(s, family), 'COMMIT', ''].join('\n');
}

/**
 * One iptables-restore --noflush input that replaces whatever an earlier run installed: declaring a chain flushes
 * it, stale jumps are deleted by their exact saved text, then the rules are added. One transaction, so a pod never
 * sees half a rule set, and running twice gives the same result.
 */
export function applyScript(s: InitSettings, family: Family, currentSave: string): string {
  return ['*nat', ...declarations(), ...staleJumps(currentSave), ...natRules(s, family), 'COMMIT', ''].join('\n');
}

/** The iptables-restore --noflush input that removes every meshgate jump and chain, and nothing else. */
export function cleanupScript(currentSave: string): string {
  const present = OWN_CHAINS.filter((chain) => currentSave.includes(`:${chain} `));
  if (present.length === 0 && staleJumps(currentSave).length === 0) return '';
  return [
    '*nat',
    ...present.map((chain) => `:${chain} - [0:0]`),
    ...staleJumps(currentSave),
    ...present.map((chain) => `-X ${chain}`),
    'COMMIT',
    '',
  ].join('\n');
}
