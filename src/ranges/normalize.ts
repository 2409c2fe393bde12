import type { Cidr } from './cidr.ts';
import { cidrToRange, formatCidr, rangeToCidrs, type AddressRange } from './ip-math.ts';

/**
 * The smallest list of CIDRs covering exactly the union of the inputs: duplicates dropped, contained and adjacent
 * ranges merged, host bits cleared. IPv4 first, then IPv6, each in address order, so the output is stable.
 */
export function normalizeCidrs(cidrs: readonly Cidr[]): Cidr[] {
  const out: Cidr[] = [];
  for (const family of [4, 6] as const) {
    const ranges = cidrs.filter((c) => c.family === family).map(cidrToRange).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const merged: AddressRange[] = [];
    for (const range of ranges) {
      const last = merged.at(-1);
      // end + 1 >= start: overlapping or touching intervals become one.
      if (last && last.end + 1n >= range.start) {
        if (range.end > last.end) last.end = range.end;
      } else {
        merged.push({ ...range });
      }
    }
    for (const range of merged) out.push(...rangeToCidrs(range));
  }
  return out;
}

export function normalizeToStrings(cidrs: readonly Cidr[]): string[] {
  return normalizeCidrs(cidrs).map(formatCidr);
}

/** Whether two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const ra = cidrToRange(a);
  const rb = cidrToRange(b);
  return ra.start <= rb.end && rb.start <= ra.end;
}
