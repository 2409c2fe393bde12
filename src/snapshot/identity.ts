/** Namespace, name and spec of an object as it arrived (typed by the caller, but from users and the API server). */
export function identify(object: unknown): { namespace: string; name: string; spec: Record<string, unknown> | undefined } {
  const record = typeof object === 'object' && object !== null ? (object as Record<string, unknown>) : {};
  const metadata = typeof record['metadata'] === 'object' && record['metadata'] !== null ? (record['metadata'] as Record<string, unknown>) : {};
  const spec = record['spec'];
  return {
    namespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default',
    name: typeof metadata['name'] === 'string' ? metadata['name'] : '',
    spec: typeof spec === 'object' && spec !== null && !Array.isArray(spec) ? (spec as Record<string, unknown>) : undefined,
  };
}
