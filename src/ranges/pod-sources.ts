import { parse } from 'yaml';
import { cidrsIn, flagValue, type Step } from './ranges-api.ts';
import type { FoundRange } from './report.ts';

function configMapStep(step: string, namespace: string, name: string, extract: (data: Record<string, string>) => string[]): Step {
  return {
    step,
    async run(api) {
      const data = await api.readConfigMap(namespace, name);
      if (!data) return [];
      return extract(data).flatMap((value) => cidrsIn(value, 'pod', `ConfigMap ${namespace}/${name}`));
    },
  };
}

/** A YAML or JSON document inside a ConfigMap key; unreadable text yields nothing rather than an error. */
function docIn(data: Record<string, string>, key: string): Record<string, unknown> {
  try {
    const value = parse(data[key] ?? '') as unknown;
    return typeof value === 'object' && value !== null ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

const str = (value: unknown): string[] => (typeof value === 'string' ? [value] : []);

/**
 * Pod range sources. The first is the nodes' allocations; the rest are cluster-wide settings, in order of
 * reliability: the controller manager's flag allocates node ranges, kube-proxy and kubeadm copy it, CNIs own theirs.
 * (Calico's IPPools are CRDs, not read here.)
 */
export const podSourceSteps: Step[] = [
  { step: 'nodes.podCIDRs', async run(api) {
    const nodes = await api.listNodePodCidrs();
    return nodes.flatMap((n): FoundRange[] => n.podCIDRs.map((cidr) => ({ cidr, kind: 'pod', from: `node/${n.name} spec.podCIDRs` })));
  } },
  { step: 'kube-controller-manager-flag', async run(api) {
    const pods = await api.listPodArgs('kube-system', 'component=kube-controller-manager');
    return pods.flatMap((p) => cidrsIn(flagValue(p.args, '--cluster-cidr') ?? '', 'pod', `pod kube-system/${p.name} --cluster-cidr`));
  } },
  configMapStep('kube-proxy-config', 'kube-system', 'kube-proxy', (d) => str(docIn(d, 'config.conf')['clusterCIDR'])),
  configMapStep('kubeadm-config', 'kube-system', 'kubeadm-config',
    (d) => str((docIn(d, 'ClusterConfiguration')['networking'] as Record<string, unknown> | undefined)?.['podSubnet'])),
  configMapStep('flannel-config', 'kube-flannel', 'kube-flannel-cfg',
    (d) => [...str(docIn(d, 'net-conf.json')['Network']), ...str(docIn(d, 'net-conf.json')['IPv6Network'])]),
  configMapStep('cilium-config', 'kube-system', 'cilium-config',
    (d) => [...str(d['cluster-pool-ipv4-cidr']), ...str(d['cluster-pool-ipv6-cidr'])]),
];
