import { isIPv4, isIPv6 } from 'node:net';
import { formatCidr, hasHostBits, maskCidr } from './ip-math.ts';

export interface Cidr {
  family: 4 | 6;
  /** The address as written, host bits kept: Istio passes CIDRs through verbatim. */
  address: string;
  prefix: number;
}

/**
 * Parses one CIDR as Go's net.ParseCIDR does (host bits allowed, no spaces, no zone, no leading zeros in IPv4),
 * returning undefined when it is not one.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (isIPv4(address)) return prefix <= 32 ? { family: 4, address, prefix } : undefined;
  if (isIPv6(address) && !address.includes('%')) return prefix <= 128 ? { family: 6, address, prefix } : undefined;
  return undefined;
}

/**
 * The warning for a CIDR written with host bits (`10.0.0.1/24`), naming the network it stands for, or undefined.
 * Such a CIDR is valid, as in Istio (Go's ParseCIDR and iptables both accept it and match the network): the seed's
 * own ICP value is one. The warning only says what will be matched.
 */
export function hostBitsWarning(cidr: Cidr): string | undefined {
  if (!hasHostBits(cidr)) return undefined;
  return `${formatCidr(cidr)} has host bits set: it is used as written and matches the network ${formatCidr(maskCidr(cidr))}`;
}

export type CidrListCheck = { ok: true; cidrs: Cidr[]; all: boolean; warnings: string[] } | { ok: false; bad: string };

/**
 * A comma-separated list as Istio's annotations carry it: "" (none), "*" (everything, when allowed) or CIDRs.
 * Items are not trimmed: Istio rejects " 10.0.0.0/8", and so does meshgate. Overlaps are fine (iptables matches
 * either); host bits are fine and come back as `warnings`, one per such CIDR, for the caller to surface.
 */
export function checkCidrList(value: string, allowWildcard: boolean): CidrListCheck {
  if (value === '') return { ok: true, cidrs: [], all: false, warnings: [] };
  if (value === '*') return allowWildcard ? { ok: true, cidrs: [], all: true, warnings: [] } : { ok: false, bad: '*' };
  const cidrs: Cidr[] = [];
  const warnings: string[] = [];
  for (const item of value.split(',')) {
    const cidr = parseCidr(item);
    if (!cidr) return { ok: false, bad: item };
    cidrs.push(cidr);
    const warning = hostBitsWarning(cidr);
    if (warning) warnings.push(warning);
  }
  return { ok: true, cidrs, all: false, warnings };
}
