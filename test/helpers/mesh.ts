import { formatIssue } from '../../src/validate/field-errors.ts';
import { validateMeshObject } from '../../src/validate/validate.ts';

type Spec = Record<string, unknown>;

export function virtualService(spec: unknown, meta: Record<string, unknown> = {}, version = 'v1'): Record<string, unknown> {
  return { apiVersion: `networking.istio.io/${version}`, kind: 'VirtualService', metadata: { name: 'vs', namespace: 'default', ...meta }, spec };
}

export function serviceEntry(spec: unknown, meta: Record<string, unknown> = {}, version = 'v1'): Record<string, unknown> {
  return { apiVersion: `networking.istio.io/${version}`, kind: 'ServiceEntry', metadata: { name: 'se', namespace: 'default', ...meta }, spec };
}

/** The formatted errors and warnings of one object (empty lists when it is valid and clean). */
export function issuesOf(object: unknown): { errors: string[]; warnings: string[] } {
  const result = validateMeshObject(object);
  if (!result.applies) throw new Error('object is not a validated kind');
  return { errors: result.errors.map(formatIssue), warnings: result.warnings.map(formatIssue) };
}

/** A valid HTTP route to vary in tables. */
export function httpRoute(extra: Spec = {}): Spec {
  return { route: [{ destination: { host: 'reviews.default.svc.cluster.local' } }], ...extra };
}

export interface RuleCase {
  name: string;
  spec: unknown;
  valid: boolean;
  /** A pattern the error text (or, for valid cases, the warning text) must match. */
  expect?: RegExp;
  warns?: boolean;
}
