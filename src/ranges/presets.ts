import type { FoundRange, RangeKind } from './report.ts';

/** How a `--from` file is read: YAML/JSON keys anywhere in the document, or command-line flags in any text. */
export type InputSpec =
  | { kind: 'keys'; keys: Partial<Record<RangeKind, string[]>>; produce: string }
  | { kind: 'flags'; flags: Partial<Record<RangeKind, string[]>>; produce: string };

export interface Platform {
  name: string;
  title: string;
  /** Ranges that are the same on every cluster of the platform (no input needed or read). */
  fixed?: Array<Omit<FoundRange, 'from'>>;
  /** The platform's documented defaults, used without --from and reported as defaults, never as facts. */
  defaults?: Array<Omit<FoundRange, 'from'>>;
  input?: InputSpec;
  /** Where the values come from, for the README table and `--help`. */
  origin: string;
}

const apiserverFlags: InputSpec = {
  kind: 'flags',
  flags: { service: ['--service-cluster-ip-range'], pod: ['--cluster-cidr'] },
  produce: 'kubectl -n kube-system get pod -l component=kube-apiserver -o yaml (or the static pod manifest /etc/kubernetes/manifests/kube-apiserver.yaml)',
};

// Values from the platforms' documentation (and the seed's for IBM and ACS). Adding a platform adds a row.
export const platforms: readonly Platform[] = [
  { name: 'gke', title: 'Google Kubernetes Engine',
    input: { kind: 'keys', produce: 'gcloud container clusters describe NAME --format yaml',
      keys: { service: ['servicesIpv4Cidr', 'servicesIpv4CidrBlock', 'servicesIpv6CidrBlock'],
        pod: ['clusterIpv4Cidr', 'clusterIpv4CidrBlock'] } },
    // Dual-stack pods take IPv6 addresses from the subnet (subnetIpv6CidrBlock), which also holds the service block
    // and the nodes: not a pod range, so not read.
    origin: '`clusterIpv4Cidr`, `servicesIpv4Cidr` (and `servicesIpv6CidrBlock`) of `gcloud container clusters describe`' },
  { name: 'iks', title: 'IBM Cloud Kubernetes Service',
    fixed: [{ cidr: '172.30.0.0/16', kind: 'pod' }, { cidr: '172.21.0.0/16', kind: 'service' }, { cidr: '10.10.10.0/24', kind: 'platform' }],
    origin: 'fixed: `172.30.0.0/16,172.21.0.0/16,10.10.10.0/24`' },
  { name: 'icp', title: 'IBM Cloud Private',
    input: { kind: 'keys', produce: 'cluster/config.yaml of the installation',
      keys: { service: ['service_cluster_ip_range'], pod: ['network_cidr'] } },
    origin: '`service_cluster_ip_range` (and `network_cidr`) of `cluster/config.yaml`' },
  { name: 'aks', title: 'Azure Kubernetes Service',
    defaults: [{ cidr: '10.0.0.0/16', kind: 'service' }, { cidr: '10.244.0.0/16', kind: 'pod' }],
    input: { kind: 'keys', produce: 'az aks show -g GROUP -n NAME -o yaml',
      keys: { service: ['serviceCidr', 'serviceCidrs'], pod: ['podCidr', 'podCidrs'] } },
    origin: '`networkProfile.serviceCidr(s)`, `podCidr(s)` of `az aks show`; defaults 10.0.0.0/16, 10.244.0.0/16 (kubenet, CNI Overlay)' },
  { name: 'acs', title: 'Azure Container Service',
    fixed: [{ cidr: '10.244.0.0/16', kind: 'pod' }, { cidr: '10.240.0.0/16', kind: 'platform' }],
    origin: 'fixed: `10.244.0.0/16,10.240.0.0/16`' },
  { name: 'eks', title: 'Amazon Elastic Kubernetes Service',
    input: { kind: 'keys', produce: 'aws eks describe-cluster --name NAME --output yaml',
      keys: { service: ['serviceIpv4Cidr', 'serviceIpv6Cidr'] } },
    origin: '`kubernetesNetworkConfig.serviceIpv4Cidr` / `serviceIpv6Cidr` of `aws eks describe-cluster` (pods use VPC addresses: add the VPC CIDR yourself)' },
  { name: 'minikube', title: 'minikube',
    defaults: [{ cidr: '10.96.0.0/12', kind: 'service' }, { cidr: '10.244.0.0/16', kind: 'pod' }],
    input: apiserverFlags,
    origin: "kube-apiserver's `--service-cluster-ip-range` (default 10.96.0.0/12), pods 10.244.0.0/16" },
  { name: 'docker-desktop', title: 'Docker Desktop',
    defaults: [{ cidr: '10.96.0.0/12', kind: 'service' }, { cidr: '10.1.0.0/16', kind: 'pod' }],
    input: apiserverFlags,
    origin: "kube-apiserver's `--service-cluster-ip-range` (default 10.96.0.0/12), pods 10.1.0.0/16" },
  { name: 'kind', title: 'kind',
    defaults: [{ cidr: '10.96.0.0/16', kind: 'service' }, { cidr: '10.244.0.0/16', kind: 'pod' }],
    input: apiserverFlags,
    origin: "kube-apiserver's `--service-cluster-ip-range`; kind's defaults serviceSubnet 10.96.0.0/16, podSubnet 10.244.0.0/16" },
  { name: 'bare-metal', title: 'bare metal (kubeadm)',
    defaults: [{ cidr: '10.96.0.0/12', kind: 'service' }],
    input: apiserverFlags,
    origin: "kube-apiserver's `--service-cluster-ip-range` (kubeadm's default 10.96.0.0/12), kube-controller-manager's `--cluster-cidr`" },
];

export const platformNames: readonly string[] = ['auto', ...platforms.map((p) => p.name)];

export function findPlatform(name: string): Platform | undefined {
  return platforms.find((p) => p.name === name);
}

/** For `--platform auto --from FILE`: every key any platform reads, so one file of any kind is understood. */
export function anyKeysInput(): InputSpec {
  const keys: Partial<Record<RangeKind, string[]>> = {};
  for (const p of platforms) {
    if (p.input?.kind !== 'keys') continue;
    for (const [kind, names] of Object.entries(p.input.keys) as Array<[RangeKind, string[]]>) {
      keys[kind] = [...(keys[kind] ?? []), ...names];
    }
  }
  return { kind: 'keys', keys, produce: 'a gcloud/az/aws describe output or an ICP cluster/config.yaml' };
}

export { apiserverFlags };
