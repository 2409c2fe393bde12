import { isIP } from 'node:net';
import { parseCidr } from '../ranges/cidr.ts';

// Addresses as the snapshot writes them (canonical CIDRs, host bits cleared) and the decision tests them. Integers,
// not node:net's BlockList, because the decision must be a pure function of the document that the Rust side can
// reproduce exactly.

interface IpValue {
  family: 4 | 6;
  value: bigint;
}

function parseIpv4(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseIpv6(text: string): bigint {
  let head = text;
  let tail4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head, undefined];
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const zeros = right === undefined ? [] : new Array<string>(8 - leftGroups.length - rightGroups.length).fill('0');
  const groups = [...leftGroups, ...zeros, ...rightGroups];
  let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tail4 !== undefined) value = (value & ~0xffffffffn) | tail4;
  return value;
}

/** An IP literal (IPv6 without brackets or zone) as an integer, or undefined when it is not one. */
export function parseIp(text: string): IpValue | undefined {
  const family = isIP(text);
  if (family === 4) return { family: 4, value: parseIpv4(text) };
  if (family === 6 && !text.includes('%')) return { family: 6, value: parseIpv6(text) };
  return undefined;
}

function formatIp(ip: IpValue): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((ip.value >> shift) & 0xffffn).toString(16));
  // WHATWG URL serialises IPv6 in RFC 5952 form (longest zero run compressed): one canonical spelling.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function mask(family: 4 | 6, prefix: number): bigint {
  const bits = family === 4 ? 32n : 128n;
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** `10.0.0.5/24` → `10.0.0.0/24`; a bare IP becomes /32 or /128; undefined when it is neither. */
export function canonicalCidr(text: string): string | undefined {
  const ip = parseIp(text);
  const cidr = ip ? parseCidr(`${text}/${ip.family === 4 ? 32 : 128}`) : parseCidr(text);
  if (!cidr) return undefined;
  const address = parseIp(cidr.address);
  if (!address) return undefined;
  return `${formatIp({ family: address.family, value: address.value & mask(address.family, cidr.prefix) })}/${cidr.prefix}`;
}

/** Whether `ip` (an IP literal) is inside the canonical `cidr`; false across families or for non-IPs. */
export function cidrContains(cidr: string, ip: string): boolean {
  const slash = cidr.indexOf('/');
  const network = parseIp(cidr.slice(0, slash));
  const address = parseIp(ip);
  if (!network || !address || network.family !== address.family) return false;
  const m = mask(network.family, Number(cidr.slice(slash + 1)));
  return (address.value & m) === network.value;
}

export function cidrPrefix(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}
