import { podSourceSteps } from './pod-sources.ts';
import { RangesApiError, type RangesApi, type Step } from './ranges-api.ts';
import { buildReport, type FoundRange, type RangesReport } from './report.ts';
import { serviceSteps } from './service-sources.ts';

export interface Attempt {
  step: string;
  outcome: 'found' | 'empty' | 'error';
  detail: string;
}

export type DiscoveryResult =
  | { ok: true; report: RangesReport; attempts: Attempt[] }
  | { ok: false; reason: string; failureKind: FailureKind; attempts: Attempt[] };

/** Metric label values: small and fixed, the full reason goes to the log and the annotation. */
export type FailureKind = 'forbidden' | 'api_error' | 'no_ranges' | 'timeout';

function describeError(error: unknown): { text: string; kind: FailureKind } {
  if (error instanceof RangesApiError) {
    const kind: FailureKind = error.status === 403 || error.status === 401 ? 'forbidden' : 'api_error';
    return { text: `${error.status ? `HTTP ${error.status}: ` : ''}${error.message}`, kind };
  }
  return { text: (error as Error)?.message ?? String(error), kind: 'api_error' };
}

async function runSteps(api: RangesApi, steps: Step[], attempts: Attempt[], firstOnly: boolean): Promise<{ found: FoundRange[]; used: string[]; errors: FailureKind[] }> {
  const found: FoundRange[] = [];
  const used: string[] = [];
  const errors: FailureKind[] = [];
  for (const step of steps) {
    try {
      const ranges = await step.run(api);
      attempts.push({ step: step.step, outcome: ranges.length > 0 ? 'found' : 'empty', detail: ranges.map((r) => r.cidr).join(',') });
      if (ranges.length === 0) continue;
      found.push(...ranges);
      used.push(step.step);
      if (firstOnly) break;
    } catch (error) {
      const described = describeError(error);
      attempts.push({ step: step.step, outcome: 'error', detail: described.text });
      errors.push(described.kind);
    }
  }
  return { found, used, errors };
}

/**
 * Asks the cluster for its internal ranges. Service ranges are required (the first source that answers wins);
 * pod ranges are the union of the nodes' podCIDRs (what is allocated now) and the first cluster-wide setting found
 * (what new nodes will get), and are optional: a cluster whose pods use the node network (EKS VPC CNI) has none.
 */
export async function discoverRanges(api: RangesApi): Promise<DiscoveryResult> {
  const attempts: Attempt[] = [];
  const services = await runSteps(api, serviceSteps, attempts, true);
  if (services.found.length === 0) {
    const reason = attempts.map((a) => `${a.step}: ${a.outcome === 'error' ? a.detail : 'nothing found'}`).join('; ');
    const failureKind: FailureKind = services.errors.includes('forbidden') ? 'forbidden' : services.errors.length > 0 ? 'api_error' : 'no_ranges';
    return { ok: false, reason: `no service range found (${reason})`, failureKind, attempts };
  }
  const [nodeStep, ...clusterWide] = podSourceSteps;
  const nodes = await runSteps(api, [nodeStep!], attempts, true);
  const pods = await runSteps(api, clusterWide, attempts, true);
  const used = [...services.used, ...nodes.used, ...pods.used];
  const notes = nodes.used.length + pods.used.length === 0
    ? ['no pod range found: traffic to pod IPs is not captured (only Service IPs are)'] : [];
  return { ok: true, report: buildReport([...services.found, ...nodes.found, ...pods.found], `discovery:${used.join('+')}`, notes), attempts };
}
