import { cidrsIn, flagValue, type Step } from './ranges-api.ts';
import type { FoundRange } from './report.ts';

// Probe addresses from the documentation ranges (RFC 5737, RFC 3849): never a real cluster's service range, and if
// one is, the second probe of the family is outside it.
const probes: Record<4 | 6, string[]> = { 4: ['192.0.2.1', '198.51.100.1'], 6: ['2001:db8::1', '2001:db8:ffff::1'] };

/** The service range steps, in order of reliability; the first that finds anything wins. */
export const serviceSteps: Step[] = [
  { step: 'ServiceCIDR', async run(api) {
    const objects = await api.listServiceCidrs();
    return objects.flatMap((o) => o.cidrs.flatMap((c) => cidrsIn(c, 'service', `ServiceCIDR/${o.name}`)));
  } },
  { step: 'kube-apiserver-flag', async run(api) {
    const pods = await api.listPodArgs('kube-system', 'component=kube-apiserver');
    return pods.flatMap((p) => cidrsIn(flagValue(p.args, '--service-cluster-ip-range') ?? '', 'service',
      `pod kube-system/${p.name} --service-cluster-ip-range`));
  } },
  { step: 'dry-run-service', async run(api) {
    const out: FoundRange[] = [];
    for (const family of [4, 6] as const) {
      for (const ip of probes[family]) {
        const message = await api.dryRunServiceError(ip, family);
        if (message === undefined) continue; // the probe is inside the range: try the other one
        // "... is not in the valid range. The range of valid IPs is 10.0.0.0/24" (IPv6 unconfigured: no range named)
        const match = /range of valid IPs is (\S+)/.exec(message);
        if (match) out.push(...cidrsIn(match[1]!.replace(/[.,;]$/, ''), 'service', `dry-run Service ${ip}: "${match[0]}"`));
        break;
      }
    }
    return out;
  } },
];
