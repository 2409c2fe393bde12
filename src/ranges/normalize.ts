import { parseCidr, type Cidr } from './cidr.ts';
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

export interface MergedRanges {
  /** The ranges to capture: each input as written unless it was merged, in the order the inputs came. */
  include: string[];
  /** One line per input that was folded into a larger or merged block, for the user to see. */
  merged: string[];
}

/**
 * Overlapping and adjacent ranges merged, as a user expects from the values Istio's docs show: GKE's
 * `servicesIpv4Cidr: 10.7.240.0/20` lies inside `clusterIpv4Cidr: 10.4.0.0/14`, and the two become `10.4.0.0/14`.
 * Unlike normalizeCidrs, what needs no merging stays as written (`10.0.0.1/24` stays, iptables masks it) and in
 * the order given, so a single platform value comes out exactly as the docs write it. Texts that are not CIDRs are
 * dropped: callers validate first.
 */
export function mergeAsWritten(texts: readonly string[]): MergedRanges {
  const inputs = texts.flatMap((text) => {
    const cidr = parseCidr(text);
    return cidr ? [{ text, cidr }] : [];
  });
  const blocks = normalizeCidrs(inputs.map((i) => i.cidr)).map((cidr) => ({ cidr, range: cidrToRange(cidr), emitted: false }));
  const include: string[] = [];
  const merged: string[] = [];
  for (const { text, cidr } of inputs) {
    const range = cidrToRange(cidr);
    // Blocks are aligned and so are the inputs: every input lies inside exactly one block.
    const block = blocks.find((b) => b.cidr.family === cidr.family && b.range.start <= range.start && range.end <= b.range.end)!;
    const same = block.range.start === range.start && block.range.end === range.end;
    if (!same) merged.push(`${text} merged into ${formatCidr(block.cidr)}`);
    if (block.emitted) continue;
    block.emitted = true;
    include.push(same ? text : formatCidr(block.cidr));
  }
  return { include, merged };
}
