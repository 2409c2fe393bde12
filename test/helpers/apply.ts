import jsonpatch from 'jsonpatch';
import { injectPod, type InjectContext } from '../../src/inject/inject.ts';
import { defaultValues } from '../../src/inject/values.ts';
import type { Container, PodLike } from '../../src/k8s/types.ts';

/** Injects and applies the patch with the jsonpatch package (the oracle), as the API server would. */
export function injectAndApply(pod: PodLike, ctx: Partial<InjectContext> = {}): { pod: PodLike; patch: unknown[] } {
  const outcome = injectPod(pod, { values: defaultValues(), namespace: 'default', ...ctx });
  if (outcome.kind !== 'inject') throw new Error(`expected injection, got ${JSON.stringify(outcome)}`);
  return { pod: jsonpatch.apply_patch(pod, outcome.patch), patch: outcome.patch };
}

export function names(containers: Container[] | undefined): string[] {
  return (containers ?? []).map((c) => c.name);
}

export function argAfter(container: Container | undefined, flag: string): string | undefined {
  const args = container?.args ?? [];
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}
