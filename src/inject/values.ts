import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { isRecord, type LabelSelector, type StringMap } from '../k8s/types.ts';
import { DEFAULT_VALUES } from './default-values.ts';
import { checkValuesTree } from './values-schema.ts';

/** The injector values meshgate implements, with Istio's names (the checks are in values-schema.ts). */
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
      readinessInitialDelaySeconds: number;
      readinessPeriodSeconds: number;
      readinessFailureThreshold: number;
      startupProbe: { enabled: boolean; failureThreshold: number };
      holdApplicationUntilProxyStarts: boolean;
      lifecycle: Record<string, unknown>;
      privileged: boolean;
      resources: Resources;
    };
    proxy_init: { image: string; resources: Resources };
    nativeSidecars: boolean;
    imagePullPolicy: string;
    imagePullSecrets: string[];
    /** meshgate's own values (Istio keeps a product's extras under its own key): where the sidecar fetches its snapshot. */
    meshgate: { controlAddress: string; controlCaBundle: string };
  };
  sidecarInjectorWebhook: {
    neverInjectSelector: LabelSelector[];
    alwaysInjectSelector: LabelSelector[];
    injectedAnnotations: StringMap;
    enableNamespacesByDefault: boolean;
    rewriteAppHTTPProbe: boolean;
  };
  meshConfig: {
    /** A ProxyConfig, checked at load (proxy-config.ts). */
    defaultConfig: Record<string, unknown>;
    enablePrometheusMerge: boolean;
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

/** Where a valid value worth a word (a CIDR with host bits) is reported at load; one line, naming the key. */
export type ValuesWarning = (message: string) => void;

/** The default: one stderr line, for the webhook's log and for kube-inject's user alike. */
export const warnOnStderr: ValuesWarning = (message) => {
  process.stderr.write(`warning: injector values: ${message}\n`);
};

/** Checks every value at load, so a bad or unknown key fails there with its path, never on the first pod. */
function checkValues(values: Record<string, unknown>, origin: string, warn: ValuesWarning): InjectorValues {
  const { values: normalised, problems, warnings } = checkValuesTree(values);
  if (problems.length > 0) throw new ValuesError(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  for (const w of warnings) warn(`${origin}: ${w.path}: ${w.message}`);
  return normalised as InjectorValues;
}

let cachedDefaults: InjectorValues | undefined;

export function defaultValues(): InjectorValues {
  cachedDefaults ??= checkValues(structuredClone(DEFAULT_VALUES) as unknown as Record<string, unknown>, 'defaults', warnOnStderr);
  return structuredClone(cachedDefaults);
}

/**
 * Accepts the values themselves or an istio-sidecar-injector ConfigMap (its `data.values`, JSON or YAML, and the
 * `policy`/selectors of `data.config`), and merges them over the embedded defaults.
 */
export function valuesFromDocument(document: unknown, origin: string, warn: ValuesWarning = warnOnStderr): InjectorValues {
  let overrides: unknown = document ?? {};
  if (isRecord(overrides) && overrides['kind'] === 'ConfigMap') overrides = valuesFromConfigMap(overrides, origin);
  if (!isRecord(overrides)) throw new ValuesError(`${origin}: expected a mapping of injector values`);
  try {
    return checkValues(deepMerge(defaultValues(), overrides) as Record<string, unknown>, origin, warn);
  } catch (error) {
    if (error instanceof ValuesError) throw new ValuesError(`${origin}: ${error.message}`);
    throw error;
  }
}

/** Keys of Istio's `config` that map onto meshgate's values (besides `policy`). */
const CONFIG_KEYS = new Set(['neverInjectSelector', 'alwaysInjectSelector', 'injectedAnnotations']);

function valuesFromConfigMap(configMap: Record<string, unknown>, origin: string): Record<string, unknown> {
  const data = isRecord(configMap['data']) ? configMap['data'] : {};
  const values = typeof data['values'] === 'string' ? parseYamlOrThrow(data['values'], `${origin} data.values`) : {};
  const config = typeof data['config'] === 'string' ? parseYamlOrThrow(data['config'], `${origin} data.config`) : {};
  if (!isRecord(values) || !isRecord(config)) throw new ValuesError(`${origin}: data.values and data.config must be mappings`);
  // Istio keeps the policy and selectors in `config`; they map onto the value names meshgate reads.
  const fromConfig: Record<string, unknown> = {};
  if (config['policy'] !== undefined) fromConfig['global'] = { proxy: { autoInject: config['policy'] } };
  const selectors: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'policy') continue;
    if (!CONFIG_KEYS.has(key)) {
      throw new ValuesError(`${origin}: data.config.${key}: not read by meshgate (it builds the sidecar itself; Istio's injection templates do not apply); remove it`);
    }
    if (value !== null && value !== undefined) selectors[key] = value;
  }
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

export function loadValuesFile(path: string, warn: ValuesWarning = warnOnStderr): InjectorValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValuesError(`${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return valuesFromDocument(parseYamlOrThrow(text, path), path, warn);
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
