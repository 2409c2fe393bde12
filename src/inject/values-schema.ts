import { checkCidrList } from '../ranges/cidr.ts';
import { isRecord } from '../k8s/types.ts';
import { checkPortList } from './ports.ts';
import { checkProxyConfig } from './proxy-config.ts';
import { CONTROL_ADDRESS_PATTERN } from '../control/sidecar-wiring.ts';

/**
 * Every injector value meshgate implements, with the check it must pass. Values are checked once, when they are
 * loaded (file at start, ConfigMap on each change): a bad value never reaches a pod, and an unknown key (an Istio
 * value meshgate does not implement, or a typo) is refused with its path instead of being ignored.
 */
type LeafCheck = (value: unknown) => { value: unknown; warnings?: string[] } | { error: string };
type Node = { leaf: LeafCheck } | { children: Record<string, Node> };

export interface ValuesProblem {
  path: string;
  message: string;
}

const ok = (value: unknown) => ({ value });
const fail = (error: string) => ({ error });
const typeOf = (value: unknown): string => (Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value);

const str: LeafCheck = (v) => (typeof v === 'string' ? ok(v) : fail(`expected string, got ${typeOf(v)}`));
/** YAML turns `1.2` or a single port into a number; Istio's values take those as strings. */
const strOrNumber: LeafCheck = (v) => (typeof v === 'number' ? ok(String(v)) : str(v));
const bool: LeafCheck = (v) => (typeof v === 'boolean' ? ok(v) : fail(`expected true or false, got ${JSON.stringify(v)}`));
const image: LeafCheck = (v) => (typeof v === 'string' && /^[^\s]{1,512}$/.test(v) ? ok(v) : fail(`expected an image name without spaces, got ${JSON.stringify(v)}`));
const oneOf = (...allowed: string[]): LeafCheck => (v) =>
  typeof v === 'string' && allowed.includes(v) ? ok(v) : fail(`must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
const int = (min: number, max: number): LeafCheck => (v) => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return Number.isInteger(n) && (n as number) >= min && (n as number) <= max ? ok(n) : fail(`must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
};
const cidrList = (allowWildcard: boolean, allowAuto: boolean): LeafCheck => (v) => {
  const text = strOrNumber(v);
  if ('error' in text) return text;
  if (allowAuto && text.value === 'auto') return text;
  const check = checkCidrList(text.value as string, allowWildcard);
  // Host bits (`10.0.0.1/24`) are valid, as in Istio, and kept as written; the loader reports the network they match.
  if (check.ok) return { value: text.value, warnings: check.warnings };
  return fail(check.bad === '*' ? '"*" is not allowed in an exclude list' : `invalid CIDR ${JSON.stringify(check.bad)} (expected ${allowAuto ? 'auto, ' : ''}${allowWildcard ? '*, ' : ''}"" or comma-separated CIDRs such as 10.96.0.0/12)`);
};
const portList = (allowWildcard: boolean): LeafCheck => (v) => {
  const text = strOrNumber(v);
  if ('error' in text) return text;
  const check = checkPortList(text.value as string, allowWildcard);
  return check.ok ? text : fail(`invalid port ${JSON.stringify(check.bad)} (expected ${allowWildcard ? '*, ' : ''}"" or comma-separated ports 1-65535)`);
};
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+|E[+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;
const resources: LeafCheck = (v) => {
  if (!isRecord(v)) return fail(`expected {requests, limits}, got ${typeOf(v)}`);
  for (const [kind, map] of Object.entries(v)) {
    if (kind !== 'requests' && kind !== 'limits') return fail(`unknown key ${JSON.stringify(kind)} (expected requests, limits)`);
    if (map === null) continue;
    if (!isRecord(map)) return fail(`${kind}: expected a map of quantities`);
    for (const [name, quantity] of Object.entries(map)) {
      if (!QUANTITY.test(String(quantity))) return fail(`${kind}.${name}: invalid quantity ${JSON.stringify(quantity)}`);
    }
  }
  return ok(v);
};
const selectors: LeafCheck = (v) => (Array.isArray(v) && v.every(isRecord) ? ok(v) : fail('expected a list of label selectors'));
const stringMap: LeafCheck = (v) => (isRecord(v) && Object.values(v).every((x) => typeof x === 'string') ? ok(v) : fail('expected a map of strings'));
const pullSecrets: LeafCheck = (v) => {
  if (!Array.isArray(v)) return fail(`expected a list of Secret names, got ${typeOf(v)}`);
  const names = v.map((item: unknown) => (isRecord(item) ? item['name'] : item));
  return names.every((n) => typeof n === 'string' && /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(n))
    ? ok(names) : fail('expected a list of Secret names (DNS subdomains)');
};
const lifecycle: LeafCheck = (v) => {
  if (!isRecord(v)) return fail(`expected a container lifecycle mapping, got ${typeOf(v)}`);
  const bad = Object.keys(v).find((k) => !['postStart', 'preStop', 'stopSignal'].includes(k));
  return bad === undefined ? ok(v) : fail(`unknown lifecycle key ${JSON.stringify(bad)} (expected postStart, preStop, stopSignal)`);
};
const controlAddress: LeafCheck = (v) => (typeof v === 'string' && CONTROL_ADDRESS_PATTERN.test(v)
  ? ok(v) : fail(`expected an https://HOST[:PORT] address of meshgate control, got ${JSON.stringify(v)?.slice(0, 200)}`));
const proxyConfig: LeafCheck = (v) => {
  const { errors } = checkProxyConfig(v ?? {}, '');
  return errors.length === 0 ? ok(v ?? {}) : fail(errors.map((e) => `${e.field.slice(1)}: ${e.message}`).join('; '));
};

export const VALUES_SCHEMA: { children: Record<string, Node> } = {
  children: {
    global: {
      children: {
        hub: { leaf: str },
        tag: { leaf: strOrNumber },
        imagePullPolicy: { leaf: oneOf('Always', 'IfNotPresent', 'Never') },
        imagePullSecrets: { leaf: pullSecrets },
        nativeSidecars: { leaf: bool },
        meshgate: { children: { controlAddress: { leaf: controlAddress }, controlCaBundle: { leaf: str } } },
        proxy: {
          children: {
            image: { leaf: image },
            includeIPRanges: { leaf: cidrList(true, true) },
            excludeIPRanges: { leaf: cidrList(false, false) },
            includeInboundPorts: { leaf: portList(true) },
            excludeInboundPorts: { leaf: portList(false) },
            includeOutboundPorts: { leaf: portList(false) },
            excludeOutboundPorts: { leaf: portList(false) },
            statusPort: { leaf: int(0, 65535) },
            autoInject: { leaf: oneOf('enabled', 'disabled') },
            readinessInitialDelaySeconds: { leaf: int(0, 3600) },
            readinessPeriodSeconds: { leaf: int(1, 3600) },
            readinessFailureThreshold: { leaf: int(1, 1000) },
            startupProbe: { children: { enabled: { leaf: bool }, failureThreshold: { leaf: int(1, 10000) } } },
            holdApplicationUntilProxyStarts: { leaf: bool },
            lifecycle: { leaf: lifecycle },
            privileged: { leaf: bool },
            resources: { leaf: resources },
          },
        },
        proxy_init: { children: { image: { leaf: (v) => (v === '' ? ok(v) : image(v)) }, resources: { leaf: resources } } },
      },
    },
    sidecarInjectorWebhook: {
      children: {
        neverInjectSelector: { leaf: selectors },
        alwaysInjectSelector: { leaf: selectors },
        injectedAnnotations: { leaf: stringMap },
        enableNamespacesByDefault: { leaf: bool },
        rewriteAppHTTPProbe: { leaf: bool },
      },
    },
    meshConfig: { children: { defaultConfig: { leaf: proxyConfig }, enablePrometheusMerge: { leaf: bool } } },
  },
};

/** Levenshtein distance, bounded by the short key names it compares. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function unknownKeyHint(key: string, known: string[]): string {
  const scored = known.map((k) => ({ k, d: distance(key, k) })).filter(({ k, d }) => d <= Math.max(2, Math.floor(k.length / 4)));
  const best = Math.min(...scored.map(({ d }) => d));
  const close = scored.filter(({ d }) => d === best).map(({ k }) => k);
  if (close.length > 0) return `not a value meshgate implements; did you mean ${close.join(' or ')}?`;
  return `not a value meshgate implements (known here: ${known.join(', ')}); remove it, see README "Injection surface"`;
}

/**
 * Checks `values` against the schema, returning the normalised values (numbers turned into strings where Istio
 * takes strings), every problem and every warning (valid, but worth saying) with its key path. Null entries count as
 * absent, as Helm treats them.
 */
export function checkValuesTree(values: unknown): { values: unknown; problems: ValuesProblem[]; warnings: ValuesProblem[] } {
  const problems: ValuesProblem[] = [];
  const warnings: ValuesProblem[] = [];
  const walk = (node: Node, value: unknown, path: string): unknown => {
    if ('leaf' in node) {
      const result = node.leaf(value);
      if ('error' in result) {
        problems.push({ path, message: result.error });
        return value;
      }
      for (const message of result.warnings ?? []) warnings.push({ path, message });
      return result.value;
    }
    if (!isRecord(value)) {
      problems.push({ path: path || '(top level)', message: `expected a mapping, got ${typeOf(value)}` });
      return value;
    }
    const out: Record<string, unknown> = {};
    const known = Object.keys(node.children);
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      const childNode = node.children[key];
      if (childNode === undefined) {
        problems.push({ path: childPath, message: unknownKeyHint(key, known) });
        continue;
      }
      out[key] = walk(childNode, child, childPath);
    }
    return out;
  };
  const normalised = walk(VALUES_SCHEMA, values, '');
  return { values: normalised, problems, warnings };
}
