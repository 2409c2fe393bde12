import { isIPv4 } from 'node:net';
import type { Cidr } from './cidr.ts';

/** A CIDR as an inclusive interval of addresses, for exact set arithmetic (bigint: IPv6 needs 128 bits). */
export interface AddressRange {
  family: 4 | 6;
  start: bigint;
  end: bigint;
}

const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/** The address as an integer; the caller has validated it (parseCidr). */
export function addressToBigInt(address: string): bigint {
  if (isIPv4(address)) return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  let text = address;
  // An IPv4 tail (::ffff:1.2.3.4) becomes two hex groups so one loop handles every form.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = addressToBigInt(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest run of two or more zero groups as ::). */
export function bigIntToAddress(value: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; i += 1) {
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function cidrToRange(cidr: Cidr): AddressRange {
  const hostBits = BigInt(bitsOf(cidr.family) - cidr.prefix);
  const start = (addressToBigInt(cidr.address) >> hostBits) << hostBits;
  return { family: cidr.family, start, end: start + (1n << hostBits) - 1n };
}

/** True when the address has bits set past the prefix (10.96.0.1/12): Go's ParseCIDR accepts it, a range file should not. */
export function hasHostBits(cidr: Cidr): boolean {
  return cidrToRange(cidr).start !== addressToBigInt(cidr.address);
}

/** The same network with host bits cleared and the address in canonical form. */
export function maskCidr(cidr: Cidr): Cidr {
  return { family: cidr.family, address: bigIntToAddress(cidrToRange(cidr).start, cidr.family), prefix: cidr.prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/** The fewest CIDRs that cover exactly [start, end]: the largest aligned block at each step. */
export function rangeToCidrs(range: AddressRange): Cidr[] {
  const bits = bitsOf(range.family);
  const out: Cidr[] = [];
  let start = range.start;
  // At most 2 * bits blocks for any interval: the loop is bounded by the address width.
  while (start <= range.end) {
    let size = bits;
    // Grow the block while it stays aligned at start and inside the interval.
    while (size > 0) {
      const next = 1n << BigInt(bits - size + 1);
      if (start % next !== 0n || start + next - 1n > range.end) break;
      size -= 1;
    }
    out.push({ family: range.family, address: bigIntToAddress(start, range.family), prefix: size });
    start += 1n << BigInt(bits - size);
  }
  return out;
}
