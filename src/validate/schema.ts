import { at, type Collector } from './field-errors.ts';

/**
 * The path as a stack of keys under a root, turned into text only when something is reported: most fields are fine,
 * and building a path string (or a node) for every field was most of the cost on a 1,000-route object.
 */
interface Path { root: string; keys: Array<string | number> }

function render(path: Path, last?: string | number): string {
  let text = path.root;
  for (const key of path.keys) text = at(text, key);
  return last === undefined ? text : at(text, last);
}

// The structural layer: what the CRDs' OpenAPI schemas enforce before any webhook runs (types, enums, integer
// ranges, one-of groups). A null field counts as absent, as the API server drops nulls from non-nullable fields.

export type Schema =
  | { type: 'string' }
  | { type: 'boolean' }
  | { type: 'number' }
  | { type: 'integer'; min: number; max: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'array'; items: Schema }
  | { type: 'map'; values: Schema }
  | { type: 'object'; fields: Record<string, Schema>; oneOf?: readonly (readonly string[])[] }
  | { type: 'any' };

export const str: Schema = { type: 'string' };
export const bool: Schema = { type: 'boolean' };
export const num: Schema = { type: 'number' };
export const uint32: Schema = { type: 'integer', min: 0, max: 4_294_967_295 };
export const int32: Schema = { type: 'integer', min: -2_147_483_648, max: 2_147_483_647 };
export const strings: Schema = { type: 'array', items: str };
export const stringMap: Schema = { type: 'map', values: str };
export const any: Schema = { type: 'any' };
export const enumOf = (...values: string[]): Schema => ({ type: 'enum', values });
export const arrayOf = (items: Schema): Schema => ({ type: 'array', items });
export const mapOf = (values: Schema): Schema => ({ type: 'map', values });
export const obj = (fields: Record<string, Schema>, oneOf?: string[][]): Schema => (oneOf ? { type: 'object', fields, oneOf } : { type: 'object', fields });

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Checks `value` against `schema`, reporting type errors at their paths. Unknown fields are warnings: the API
 * server prunes them, so they never reach the cluster, but a typo there is usually a mistake worth seeing.
 */
export function checkSchema(value: unknown, schema: Schema, root: string, out: Collector): void {
  walk(value, schema, { root, keys: [] }, out);
}

function walk(value: unknown, schema: Schema, path: Path, out: Collector): void {
  switch (schema.type) {
    case 'any':
      return;
    case 'string':
      if (typeof value !== 'string') out.error(render(path), `must be a string, got ${typeName(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.error(render(path), `must be a boolean, got ${typeName(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) out.error(render(path), `must be a number, got ${typeName(value)}`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) out.error(render(path), `must be an integer, got ${typeName(value)}`, value);
      else if (value < schema.min || value > schema.max) out.error(render(path), `must be an integer in ${schema.min}..${schema.max}`, value);
      return;
    case 'enum':
      if (typeof value !== 'string' || !schema.values.includes(value)) out.error(render(path), `must be one of ${schema.values.join(', ')}`, value);
      return;
    case 'array':
      if (!Array.isArray(value)) {
        out.error(render(path), `must be a list, got ${typeName(value)}`);
        return;
      }
      for (let i = 0; i < value.length; i += 1) {
        // A null element is left to the semantic layer, which names it the way Istio does ("may not be null").
        if (value[i] !== null) descend(value[i], schema.items, path, i, out);
      }
      return;
    case 'map':
      if (typeName(value) !== 'object') {
        out.error(render(path), `must be a map, got ${typeName(value)}`);
        return;
      }
      for (const key in value as Record<string, unknown>) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== null) descend(item, schema.values, path, key, out);
      }
      return;
    case 'object': {
      if (typeName(value) !== 'object') {
        out.error(render(path), `must be an object, got ${typeName(value)}`);
        return;
      }
      const record = value as Record<string, unknown>;
      for (const key in record) {
        const item = record[key];
        const field = schema.fields[key];
        if (!field) out.warn(render(path, key), 'unknown field (the API server drops it)');
        else if (item !== null) descend(item, field, path, key, out);
      }
      for (const group of schema.oneOf ?? []) {
        const set = group.filter((key) => record[key] !== undefined && record[key] !== null);
        if (set.length > 1) out.error(render(path), `only one of ${group.join(', ')} may be set, got ${set.join(' and ')}`);
      }
      return;
    }
  }
}

function descend(value: unknown, schema: Schema, path: Path, key: string | number, out: Collector): void {
  path.keys.push(key);
  walk(value, schema, path, out);
  path.keys.pop();
}
