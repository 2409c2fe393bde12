import { isDeepStrictEqual } from 'node:util';

/** RFC 6902 operations, built explicitly: never by diffing two documents. */
export type PatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` becomes `~0` and `/` becomes `~1` (annotation keys carry slashes). */
export function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Sets keys of a string map at `path`: one `add` of the whole map when it is absent (a member cannot be added to a
 * missing map), otherwise one `add` per key whose value differs.
 */
export function setMapEntries(path: string, existing: Record<string, string> | undefined, entries: Record<string, string>): PatchOp[] {
  if (existing === undefined) return Object.keys(entries).length > 0 ? [{ op: 'add', path, value: { ...entries } }] : [];
  const ops: PatchOp[] = [];
  for (const [key, value] of Object.entries(entries)) {
    if (existing[key] !== value) ops.push({ op: 'add', path: `${path}/${escapePointer(key)}`, value });
  }
  return ops;
}

/**
 * Rewrites a named list (containers, volumes) so that `ours` sit where the layout wants them: `before` at the
 * start, `after` at the end, with every stale copy of ours removed. No ops when the list is already right, so
 * injecting an injected pod again is an empty patch.
 */
export function placeNamedItems<T extends { name: string }>(
  path: string,
  existing: T[] | undefined,
  isOurs: (item: T) => boolean,
  before: T[],
  after: T[],
): PatchOp[] {
  const current = existing ?? [];
  const kept = current.filter((item) => !isOurs(item));
  const desired = [...before, ...kept, ...after];
  if (existing === undefined) return desired.length > 0 ? [{ op: 'add', path, value: desired }] : [];
  if (isDeepStrictEqual(current, desired)) return [];
  const ops: PatchOp[] = [];
  // Remove from the highest index down so earlier indexes stay valid.
  for (let index = current.length - 1; index >= 0; index -= 1) {
    if (isOurs(current[index] as T)) ops.push({ op: 'remove', path: `${path}/${index}` });
  }
  before.forEach((item, index) => ops.push({ op: 'add', path: `${path}/${index}`, value: item }));
  for (const item of after) ops.push({ op: 'add', path: `${path}/-`, value: item });
  return ops;
}
