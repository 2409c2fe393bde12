import { Label } from '../istio/keys.ts';
import type { ObjectMeta } from '../k8s/types.ts';
import type { Workload } from './containers.ts';

/**
 * The workload a pod belongs to, as Istio names it: a ReplicaSet's pod belongs to its Deployment (the
 * pod-template-hash suffix removed), a Job's pod created by a CronJob to the CronJob.
 */
export function workloadName(meta: ObjectMeta): string {
  const owner = meta.ownerReferences?.find((ref) => ref.controller) ?? meta.ownerReferences?.[0];
  const hash = meta.labels?.['pod-template-hash'];
  if (owner?.name) {
    if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
    if (owner.kind === 'Job' && /-\d+$/.test(owner.name)) return owner.name.replace(/-\d+$/, '');
    return owner.name;
  }
  if (meta.name) return meta.name;
  return (meta.generateName ?? 'unknown').replace(/-$/, '');
}

export function describeWorkload(meta: ObjectMeta, name = workloadName(meta)): Workload {
  const labels = meta.labels ?? {};
  return {
    name,
    canonicalName: labels[Label.canonicalName] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? name,
    canonicalRevision: labels[Label.canonicalRevision] ?? labels['app.kubernetes.io/version'] ?? labels['version'] ?? 'latest',
  };
}
