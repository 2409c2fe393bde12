import { parse as parseYaml } from 'yaml';
import { isRecord, type StringMap } from '../k8s/types.ts';

/**
 * The part of Istio's ProxyConfig (mesh `defaultConfig`, pod annotation `proxy.istio.io/config`) meshgate acts on.
 * Every other ProxyConfig field is refused by name: an Istio setting that would silently do nothing is worse than a
 * clear "not implemented".
 */
export interface ProxyConfig {
  holdApplicationUntilProxyStarts?: boolean;
  /** Seconds, from a protobuf Duration ("5s", "0.5s"). */
  terminationDrainSeconds?: number;
  proxyMetadata?: StringMap;
  concurrency?: number;
  interceptionMode?: InterceptionMode;
}

export type InterceptionMode = 'REDIRECT' | 'NONE';

export interface ProxyConfigError {
  field: string;
  message: string;
}

/** The most worker threads meshgate-proxy runs (`--workers`). */
export const MAX_WORKERS = 64;
const NOT_IMPLEMENTED_HINT = 'meshgate implements holdApplicationUntilProxyStarts, terminationDrainDuration, proxyMetadata, concurrency and interceptionMode (README "Injection surface")';

/** protobuf's Duration in JSON/YAML: seconds with up to 9 decimals and an `s`. */
const DURATION = /^(\d{1,10})(\.\d{1,9})?s$/;
/** What Kubernetes accepts as an environment variable name (C identifier rules plus `.` and `-`). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function checkInterceptionMode(value: unknown): { mode?: InterceptionMode; error?: string } {
  if (value === 'REDIRECT' || value === 'NONE') return { mode: value };
  if (value === 'TPROXY') {
    return { error: 'TPROXY is not implemented: meshgate init writes nat-table REDIRECT rules only (no mangle table, no IP_TRANSPARENT listener in the proxy); use REDIRECT, or NONE for no capture' };
  }
  return { error: `must be REDIRECT or NONE (TPROXY is not implemented), got ${JSON.stringify(value)}` };
}

/** Checks a ProxyConfig given as an object; `base` names where it came from in error fields. */
export function checkProxyConfig(value: unknown, base: string): { config: ProxyConfig; errors: ProxyConfigError[] } {
  const config: ProxyConfig = {};
  const errors: ProxyConfigError[] = [];
  if (value === null || value === undefined) return { config, errors };
  if (!isRecord(value)) return { config, errors: [{ field: base, message: 'must be a ProxyConfig mapping' }] };
  for (const [key, field] of Object.entries(value)) {
    const path = `${base}.${key}`;
    switch (key) {
      case 'holdApplicationUntilProxyStarts':
        if (typeof field === 'boolean') config.holdApplicationUntilProxyStarts = field;
        else errors.push({ field: path, message: 'must be true or false' });
        break;
      case 'terminationDrainDuration': {
        const match = typeof field === 'string' ? DURATION.exec(field) : null;
        if (match) config.terminationDrainSeconds = Number(`${match[1]}${match[2] ?? ''}`);
        else errors.push({ field: path, message: `must be a duration in seconds such as "5s", got ${JSON.stringify(field)}` });
        break;
      }
      case 'proxyMetadata':
        if (isRecord(field) && Object.entries(field).every(([k, v]) => ENV_NAME.test(k) && typeof v === 'string')) {
          config.proxyMetadata = { ...(field as StringMap) };
        } else {
          errors.push({ field: path, message: 'must map environment variable names to strings' });
        }
        break;
      case 'concurrency':
        // meshgate-proxy's `--workers` takes 0 (a worker per core, as Istio's 0) to 64.
        if (Number.isInteger(field) && (field as number) >= 0 && (field as number) <= MAX_WORKERS) config.concurrency = field as number;
        else errors.push({ field: path, message: `must be an integer from 0 (all cores) to ${MAX_WORKERS} worker threads, got ${JSON.stringify(field)}` });
        break;
      case 'interceptionMode': {
        const { mode, error } = checkInterceptionMode(field);
        if (mode) config.interceptionMode = mode;
        else errors.push({ field: path, message: error as string });
        break;
      }
      default:
        errors.push({ field: path, message: `ProxyConfig field not implemented by meshgate; ${NOT_IMPLEMENTED_HINT}` });
    }
  }
  return { config, errors };
}

/** The annotation carries YAML or JSON (JSON is YAML); a parse error names the annotation. */
export function parseProxyConfigAnnotation(text: string, field: string): { config: ProxyConfig; errors: ProxyConfigError[] } {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    return { config: {}, errors: [{ field, message: `not YAML or JSON: ${(error as Error).message.split('\n', 1)[0]}` }] };
  }
  return checkProxyConfig(document ?? {}, field);
}

/** The pod's ProxyConfig over the mesh default, field by field; proxyMetadata merges key by key, as Istio merges. */
export function mergeProxyConfig(base: ProxyConfig, override: ProxyConfig): ProxyConfig {
  const merged: ProxyConfig = { ...base, ...override };
  if (base.proxyMetadata || override.proxyMetadata) merged.proxyMetadata = { ...base.proxyMetadata, ...override.proxyMetadata };
  return merged;
}
