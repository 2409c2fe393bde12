import { parseDurationMs } from '../mesh/duration.ts';
import { normalizeName, isValidHostPattern } from './registry.ts';
import { regexProblem } from './regex.ts';
import type { L4Destination } from './types.ts';

// Typed readers for the fields of a VirtualService, shared by its HTTP, TLS and TCP routes. Each one refuses a value
// of the wrong shape with its field path (Refused), which leaves the VirtualService out as a `problem`.

export const MESH_GATEWAY = 'mesh';

export class Refused extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Refused(path, 'must be a list');
  return value;
}

export function text(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new Refused(path, 'must be a string');
  return value;
}

export function optionalText(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : text(value, path);
}

export function port(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) throw new Refused(path, 'must be a port number (1-65535)');
  return value;
}

export function stringMap(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObj(value)) throw new Refused(path, 'must be a map of strings');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, text(v, `${path}.${k}`)]));
}

/** Milliseconds; a non-zero duration below 1 ms rounds up so it never reads as "none". */
export function durationMs(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new Refused(path, `${JSON.stringify(value)} is not a duration (e.g. 1.5s, 250ms)`);
  return Math.ceil(ms);
}

export function percentOf(value: unknown, path: string, fallback = 100): number {
  const v = isObj(value) ? value['value'] : value;
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) throw new Refused(path, 'must be a percentage between 0 and 100');
  return v;
}

export function regex(pattern: string, path: string): string {
  const problem = regexProblem(pattern);
  if (problem) throw new Refused(path, problem);
  return pattern;
}

/** Match-level `gateways`: a match that names gateways but not `mesh` does not apply to sidecars. */
export function appliesToMesh(gateways: unknown, path: string): boolean {
  const names = list(gateways, path).map((g, i) => text(g, `${path}[${i}]`));
  return names.length === 0 || names.includes(MESH_GATEWAY);
}

export function sourceFields(m: Obj, path: string): { sourceLabels: Record<string, string>; sourceNamespace?: string } {
  const sourceNamespace = optionalText(m['sourceNamespace'], `${path}.sourceNamespace`);
  return { sourceLabels: stringMap(m['sourceLabels'], `${path}.sourceLabels`), ...(sourceNamespace === undefined ? {} : { sourceNamespace }) };
}

export function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function destinationRef(value: unknown, path: string): { host: string; port?: number; subset?: string } {
  if (!isObj(value)) throw new Refused(path, 'is required');
  const host = normalizeName(text(value['host'], `${path}.host`));
  if (!isValidHostPattern(host)) throw new Refused(`${path}.host`, `${JSON.stringify(value['host'])} is not a host name`);
  const portNumber = isObj(value['port']) ? port(value['port']['number'], `${path}.port.number`) : undefined;
  return omitUndefined({ host, port: portNumber, subset: optionalText(value['subset'], `${path}.subset`) });
}

/** Weighted destinations; integers; several without weights share equally, one alone gets 100. */
export function weighted<T extends L4Destination>(value: unknown, path: string, build: (d: Obj, at: string, base: L4Destination) => T): T[] {
  const items = list(value, path);
  const out = items.map((item, i) => {
    const at = `${path}[${i}]`;
    if (!isObj(item)) throw new Refused(at, 'must be a mapping');
    const w = item['weight'];
    if (w !== undefined && w !== null && (typeof w !== 'number' || !Number.isInteger(w) || w < 0)) throw new Refused(`${at}.weight`, 'must be a non-negative integer');
    const weight = typeof w === 'number' ? w : items.length === 1 ? 100 : 0;
    return build(item, at, { ...destinationRef(item['destination'], `${at}.destination`), weight });
  });
  if (out.length > 1 && out.every((d) => d.weight === 0)) for (const d of out) d.weight = 1;
  return out;
}

