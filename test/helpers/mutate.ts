/** Replaces the node reached by walking `steps` (each picks a child by index) with `value`, or deletes it; on a copy. */
export function mutate(root: unknown, steps: number[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(root);
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  let node: unknown = copy;
  for (const step of steps) {
    if (Array.isArray(node) && node.length > 0) { parent = node; key = step % node.length; node = node[key]; }
    else if (node && typeof node === 'object' && Object.keys(node).length > 0) {
      const keys = Object.keys(node);
      parent = node as Record<string, unknown>; key = keys[step % keys.length]!; node = parent[key];
    } else break;
  }
  if (parent === undefined || key === undefined) return value;
  if (remove && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else (parent as Record<string, unknown>)[key as string] = value;
  return copy;
}
