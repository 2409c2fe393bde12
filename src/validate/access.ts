import { isRecord } from '../k8s/types.ts';

// Readers for specs that passed the schema layer: they still never trust a type, so a rule cannot throw on garbage.

export type Obj = Record<string, unknown>;

export { isRecord };

/** Present as Go's protobuf sees it: a key that is neither absent nor null. */
export function has(record: Obj, key: string): boolean {
  return record[key] !== undefined && record[key] !== null;
}

export function asObj(value: unknown): Obj {
  return isRecord(value) ? value : {};
}

export function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function asNumber(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export function asStringMap(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
