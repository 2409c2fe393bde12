import { isIP } from 'node:net';
import { isObj, type Obj } from './route-fields.ts';

// Short names in a VirtualService, qualified as Istio does before it uses one: `reviews` written in namespace `shop`
// means `reviews.shop.svc.cluster.local`, whatever namespace a `reviews` service lives in (Istio's VirtualService
// reference, "Note for Kubernetes users"). Applies to spec.hosts and to every route and mirror destination host;
// SNI hosts are names on the wire and stay as written.

/** Kubernetes' default cluster domain (Istio's default domain suffix); meshgate has no setting for another yet. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** A name without a dot becomes `<name>.<namespace>.svc.<domain>`; `*`, IP literals and dotted names stay as written. */
export function qualifyHost(host: string, namespace: string, domain: string): string {
  if (host === '' || host === '*' || host.includes('.') || isIP(host) !== 0) return host;
  return `${host}.${namespace}.svc.${domain}`;
}

/**
 * A copy of the spec with its short names qualified. Only well-shaped string fields are rewritten: anything else is
 * left as it is, for the compiler to refuse with its field path.
 */
export function qualifyShortNames(spec: Obj, namespace: string, domain: string): Obj {
  const qualify = (value: unknown): unknown => (typeof value === 'string' ? qualifyHost(value, namespace, domain) : value);
  const destination = (value: unknown): unknown => (isObj(value) ? { ...value, host: qualify(value['host']) } : value);
  const eachOf = (value: unknown, map: (item: Obj) => Obj): unknown => (Array.isArray(value) ? value.map((item: unknown) => (isObj(item) ? map(item) : item)) : value);
  const routed = (route: Obj): Obj => ({ ...route, route: eachOf(route['route'], (d) => ({ ...d, destination: destination(d['destination']) })) });
  const out: Obj = { ...spec };
  if (Array.isArray(spec['hosts'])) out['hosts'] = spec['hosts'].map(qualify);
  if (spec['http'] !== undefined) {
    out['http'] = eachOf(spec['http'], (route) => {
      const copy = routed(route);
      if (route['mirror'] !== undefined) copy['mirror'] = destination(route['mirror']);
      if (route['mirrors'] !== undefined) copy['mirrors'] = eachOf(route['mirrors'], (m) => ({ ...m, destination: destination(m['destination']) }));
      return copy;
    });
  }
  for (const section of ['tls', 'tcp'] as const) if (spec[section] !== undefined) out[section] = eachOf(spec[section], routed);
  return out;
}
