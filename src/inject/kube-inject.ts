import jsonpatch from 'jsonpatch';
import { isRecord, type PodLike } from '../k8s/types.ts';
import type { ClusterRanges } from './capture.ts';
import { SKIP_MESSAGES } from './decide.ts';
import { injectPod } from './inject.ts';
import type { InjectorValues } from './values.ts';

/** Where each workload kind keeps its pod template. */
export const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface KubeInjectNote {
  object: string;
  message: string;
  fatal: boolean;
}

export interface KubeInjectOptions {
  values: InjectorValues;
  cluster?: ClusterRanges | undefined;
  /** Used when an object names no namespace (kubectl's default). */
  namespace: string;
}

function describe(object: Record<string, unknown>): string {
  const meta = isRecord(object['metadata']) ? object['metadata'] : {};
  return `${String(object['kind'] ?? 'object').toLowerCase()}/${String(meta['name'] ?? meta['generateName'] ?? '?')}`;
}

/**
 * Injects one object (recursing into Lists), returning the new object. Kinds without a pod template come back
 * unchanged. Skips and denials are reported through `notes`.
 */
export function injectObject(object: unknown, options: KubeInjectOptions, notes: KubeInjectNote[]): unknown {
  if (!isRecord(object)) return object;
  const kind = object['kind'];
  if (kind === 'List' && Array.isArray(object['items'])) {
    return { ...object, items: object['items'].map((item) => injectObject(item, options, notes)) };
  }
  const meta = isRecord(object['metadata']) ? object['metadata'] : {};
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : options.namespace;
  const name = typeof meta['name'] === 'string' ? meta['name'] : undefined;
  let templatePath: string[];
  if (kind === 'Pod') templatePath = [];
  else if (typeof kind === 'string' && TEMPLATE_PATHS[kind]) templatePath = TEMPLATE_PATHS[kind];
  else return object;

  let template: unknown = object;
  for (const key of templatePath) template = isRecord(template) ? template[key] : undefined;
  if (!isRecord(template)) {
    notes.push({ object: describe(object), message: `no pod template at ${templatePath.join('.')}`, fatal: true });
    return object;
  }
  const outcome = injectPod(template as PodLike, {
    values: options.values,
    cluster: options.cluster,
    namespace,
    ...(name !== undefined && kind !== 'Pod' ? { workloadName: name } : {}),
  });
  if (outcome.kind === 'skip') {
    notes.push({ object: describe(object), message: `not injected: ${SKIP_MESSAGES[outcome.reason]}`, fatal: false });
    return object;
  }
  if (outcome.kind === 'deny') {
    for (const error of outcome.errors) {
      const prefix = templatePath.length > 0 ? `${templatePath.join('.')}.` : '';
      notes.push({ object: describe(object), message: `${prefix}${error.field}: ${error.message}`, fatal: true });
    }
    return object;
  }
  for (const warning of outcome.warnings) notes.push({ object: describe(object), message: `warning: ${warning}`, fatal: false });
  const injected = jsonpatch.apply_patch(template, outcome.patch);
  if (templatePath.length === 0) return injected;
  // Rebuild the path down to the template so the input object is never mutated.
  const rebuild = (node: Record<string, unknown>, depth: number): Record<string, unknown> => {
    const key = templatePath[depth] as string;
    const child = depth === templatePath.length - 1 ? injected : rebuild(node[key] as Record<string, unknown>, depth + 1);
    return { ...node, [key]: child };
  };
  return rebuild(object, 0);
}
