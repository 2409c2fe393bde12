import { hostBitsWarning, parseCidr } from './cidr.ts';
import { mergeAsWritten } from './normalize.ts';

/** What a range is for: Service ClusterIPs, pod IPs, or a platform's documented internal range. */
export type RangeKind = 'service' | 'pod' | 'platform';

/** One range and where it came from, e.g. `ServiceCIDR/kubernetes` or `describe.yaml:12 servicesIpv4Cidr`. */
export interface FoundRange {
  cidr: string;
  kind: RangeKind;
  from: string;
}

/** The computed includeIPRanges and the evidence for them. */
export interface RangesReport {
  /** Overlapping and adjacent ranges merged; the rest as written (host bits kept), in the order found. */
  include: string[];
  /** Short summary for logs and the pod annotation: `discovery:ServiceCIDR+nodes.podCIDRs`, `preset:iks`. */
  source: string;
  found: FoundRange[];
  notes: string[];
  /** Valid but worth a look: a range written with host bits (the network it matches is named). */
  warnings: string[];
}

/** The include list and the evidence; merges and host bits are explained in the notes (stderr, json). */
export function buildReport(found: FoundRange[], source: string, notes: string[] = []): RangesReport {
  const { include, merged } = mergeAsWritten(found.map((f) => f.cidr));
  const warnings = found.flatMap((f) => {
    const cidr = parseCidr(f.cidr);
    const warning = cidr && hostBitsWarning(cidr);
    return warning ? [`${warning} (${f.from})`] : [];
  });
  return { include, source, found, notes: [...notes, ...merged], warnings };
}

export type RangesFormat = 'csv' | 'helm' | 'json';

/**
 * csv for the annotation or values files; helm escapes commas, which `helm --set` would otherwise split into a
 * list (`--set global.proxy.includeIPRanges="$(meshgate ranges --format helm)"`); json carries the evidence too.
 */
export function formatReport(report: RangesReport, format: RangesFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  const csv = report.include.join(',');
  return `${format === 'helm' ? csv.replaceAll(',', '\\,') : csv}\n`;
}

/** The human explanation printed on stderr next to csv/helm output: one line per range and its origin. */
export function describeReport(report: RangesReport): string {
  const lines = [`# source: ${report.source}`];
  for (const f of report.found) lines.push(`# ${f.cidr} (${f.kind}) from ${f.from}`);
  for (const note of report.notes) lines.push(`# note: ${note}`);
  for (const warning of report.warnings) lines.push(`# warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
