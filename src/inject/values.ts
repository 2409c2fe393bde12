import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { isRecord, type LabelSelector, type StringMap } from '../k8s/types.ts';
import { DEFAULT_VALUES } from './default-values.ts';

/** The injector values meshgate understands, with Istio's names. */
export interface InjectorValues {
  global: {
    hub: string;
    tag: string;
    proxy: {
      image: string;
      includeIPRanges: string;
      excludeIPRanges: string;
      includeOutboundPorts: string;
      excludeOutboundPorts: string;
      includeInboundPorts: string;
      excludeInboundPorts: string;
      statusPort: number;
      autoInject: string;
      resources: Resources;
    };
    proxy_init: { image: string; resources: Resources };
    nativeSidecars: boolean;
    imagePullPolicy: string;
  };
  sidecarInjectorWebhook: {
    neverInjectSelector: LabelSelector[];
    alwaysInjectSelector: LabelSelector[];
    injectedAnnotations: StringMap;
  };
}

export interface Resources {
  requests?: StringMap;
  limits?: StringMap;
}

export class ValuesError extends Error {}

/** Deep merge: objects merge key by key, everything else (arrays included) replaces, as Helm merges values. */
function deepMerge(base: unknown, override: unknown): unknown {
  if (!isRecord(base) || !isRecord(override)) return override === undefined ? base : override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null || value === undefined) continue;
    merged[key] = deepMerge(base[key], value);
  }
  return merged;
}

function expectType(path: string, value: unknown, type: 'string' | 'number' | 'boolean' | 'object' | 'array'): void {
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (actual !== type) throw new ValuesError(`${path}: expected ${type}, got ${actual}`);
}

/** Checks every field the injector reads, so a typo in a values file fails at load, not on the first pod. */
function checkValues(values: Record<string, unknown>): InjectorValues {
  const v = values as unknown as InjectorValues;
  expectType('global', v.global, 'object');
  expectType('global.proxy', v.global.proxy, 'object');
  const proxy = v.global.proxy;
  // Istio's values allow numbers in string fields (YAML turns `15020` or a single port into a number).
  for (const key of ['includeIPRanges', 'excludeIPRanges', 'includeOutboundPorts', 'excludeOutboundPorts',
    'includeInboundPorts', 'excludeInboundPorts'] as const) {
    if (typeof proxy[key] === 'number') (proxy as Record<string, unknown>)[key] = String(proxy[key]);
    expectType(`global.proxy.${key}`, proxy[key], 'string');
  }
  if (typeof proxy.statusPort === 'string' && /^\d+$/.test(proxy.statusPort)) proxy.statusPort = Number(proxy.statusPort);
  expectType('global.proxy.statusPort', proxy.statusPort, 'number');
  expectType('global.proxy.image', proxy.image, 'string');
  expectType('global.proxy.autoInject', proxy.autoInject, 'string');
  expectType('global.proxy.resources', proxy.resources, 'object');
  expectType('global.hub', v.global.hub, 'string');
  if (typeof v.global.tag === 'number') v.global.tag = String(v.global.tag);
  expectType('global.tag', v.global.tag, 'string');
  expectType('global.nativeSidecars', v.global.nativeSidecars, 'boolean');
  const webhook = v.sidecarInjectorWebhook;
  expectType('sidecarInjectorWebhook', webhook, 'object');
  expectType('sidecarInjectorWebhook.neverInjectSelector', webhook.neverInjectSelector, 'array');
  expectType('sidecarInjectorWebhook.alwaysInjectSelector', webhook.alwaysInjectSelector, 'array');
  return v;
}

let cachedDefaults: InjectorValues | undefined;

export function defaultValues(): InjectorValues {
  cachedDefaults ??= checkValues(structuredClone(DEFAULT_VALUES) as unknown as Record<string, unknown>);
  return structuredClone(cachedDefaults);
}

/**
 * Accepts the values themselves or an istio-sidecar-injector ConfigMap (its `data.values`, JSON or YAML, and the
 * `policy`/selectors of `data.config`), and merges them over the embedded defaults.
 */
export function valuesFromDocument(document: unknown, origin: string): InjectorValues {
  let overrides: unknown = document ?? {};
  if (isRecord(overrides) && overrides['kind'] === 'ConfigMap') overrides = valuesFromConfigMap(overrides, origin);
  if (!isRecord(overrides)) throw new ValuesError(`${origin}: expected a mapping of injector values`);
  try {
    return checkValues(deepMerge(defaultValues(), overrides) as Record<string, unknown>);
  } catch (error) {
    if (error instanceof ValuesError) throw new ValuesError(`${origin}: ${error.message}`);
    throw error;
  }
}

function valuesFromConfigMap(configMap: Record<string, unknown>, origin: string): Record<string, unknown> {
  const data = isRecord(configMap['data']) ? configMap['data'] : {};
  const values = typeof data['values'] === 'string' ? parseYamlOrThrow(data['values'], `${origin} data.values`) : {};
  const config = typeof data['config'] === 'string' ? parseYamlOrThrow(data['config'], `${origin} data.config`) : {};
  if (!isRecord(values) || !isRecord(config)) throw new ValuesError(`${origin}: data.values and data.config must be mappings`);
  // Istio keeps the policy and selectors in `config`; they map onto the value names meshgate reads.
  const fromConfig: Record<string, unknown> = {};
  if (typeof config['policy'] === 'string') fromConfig['global'] = { proxy: { autoInject: config['policy'] } };
  const selectors: Record<string, unknown> = {};
  if (Array.isArray(config['neverInjectSelector'])) selectors['neverInjectSelector'] = config['neverInjectSelector'];
  if (Array.isArray(config['alwaysInjectSelector'])) selectors['alwaysInjectSelector'] = config['alwaysInjectSelector'];
  if (Object.keys(selectors).length > 0) fromConfig['sidecarInjectorWebhook'] = selectors;
  return deepMerge(fromConfig, values) as Record<string, unknown>;
}

function parseYamlOrThrow(text: string, origin: string): unknown {
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ValuesError(`${origin}: ${(error as Error).message}`);
  }
}

export function loadValuesFile(path: string): InjectorValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValuesError(`${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return valuesFromDocument(parseYamlOrThrow(text, path), path);
}

/** Istio's image rule: a value with "/" is a full reference, otherwise hub/image:tag. */
export function proxyImage(values: InjectorValues): string {
  const image = values.global.proxy.image;
  return image.includes('/') ? image : `${values.global.hub}/${image}:${values.global.tag}`;
}

export function initImage(values: InjectorValues): string {
  const image = values.global.proxy_init.image;
  if (image === '') return proxyImage(values);
  return image.includes('/') ? image : `${values.global.hub}/${image}:${values.global.tag}`;
}
