import { parseCidr } from './cidr.ts';
import type { FoundRange, RangeKind } from './report.ts';

/** The few cluster reads discovery needs; the real one is cluster-api.ts, unit tests use a fake. */
export interface RangesApi {
  /** ServiceCIDR objects (networking.k8s.io/v1); throws (status 404) on clusters before 1.33. */
  listServiceCidrs(): Promise<Array<{ name: string; cidrs: string[] }>>;
  /** kube-system pods matching a label selector, with every container's command and args joined. */
  listPodArgs(namespace: string, labelSelector: string): Promise<Array<{ name: string; args: string[] }>>;
  /** Creates a Service with this clusterIP in dry-run; the API server's error message, or undefined when accepted. */
  dryRunServiceError(clusterIP: string, family: 4 | 6): Promise<string | undefined>;
  listNodePodCidrs(): Promise<Array<{ name: string; podCIDRs: string[] }>>;
  /** The ConfigMap's data, or undefined when it does not exist. */
  readConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** An API failure with the HTTP status when there was one (403 forbidden, 404 not served). */
export class RangesApiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export interface Step {
  step: string;
  run(api: RangesApi): Promise<FoundRange[]>;
}

/** Splits `a,b` (dual-stack flags and fields) and drops what is not a CIDR: the API server's own data. */
export function cidrsIn(value: string, kind: RangeKind, from: string): FoundRange[] {
  return value.split(/[,\s]+/).filter((item) => parseCidr(item) !== undefined).map((cidr) => ({ cidr, kind, from }));
}

export function flagValue(args: string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    if (arg === flag) return args[i + 1];
  }
  return undefined;
}
